/* The guest kernel command line that hopx-vmm adds its own arguments to
 * (virtio_mmio.device=, hopx.genid=, software-KVM workarounds). Everything
 * after a " -- " is for the guest's init, not the kernel, so additions go
 * before it. */
#ifndef HOPX_BOOT_CMDLINE_H
#define HOPX_BOOT_CMDLINE_H

#include <stddef.h>

/* Add ARG to CMDLINE (SIZE bytes with its NUL): before " -- " if there is
 * one, else at the end. 0, or -E2BIG (CMDLINE unchanged). */
int cmdline_add(char *cmdline, size_t size, const char *arg);

#endif
