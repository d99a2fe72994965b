/* Intel MultiProcessor Specification 1.4 table, so a guest without ACPI finds
 * every vCPU, the IOAPIC and the ISA interrupt routing. */
#ifndef HOPX_BOOT_MPTABLE_H
#define HOPX_BOOT_MPTABLE_H

#include <stdint.h>

struct guest_mem;

#define MPTABLE_IRQS 24 /* every IOAPIC pin: virtio devices use 5..23 */

/* Write the floating pointer and configuration table at BOOT_MPTABLE_ADDR. 0 or -errno. */
int mptable_write(const struct guest_mem *m, unsigned int ncpus);

/* Byte sum used by every MP structure's checksum (the total must be 0 mod 256). */
uint8_t mptable_sum(const void *p, uint64_t len);

#endif
