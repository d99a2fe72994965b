/* Kernel image loaders: ELF vmlinux (PT_LOAD segments, 64-bit entry) and
 * bzImage (protected-mode payload, 64-bit entry at load address + 0x200).
 * Both take the whole file as a buffer and treat it as hostile input: every
 * offset and size is checked before use, and nothing is written to guest
 * memory until the whole image has been validated. */
#ifndef HOPX_BOOT_KERNEL_H
#define HOPX_BOOT_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

struct guest_mem;

#define KERNEL_MAX_SEGMENTS 64

struct kernel_image {
	uint64_t entry;      /* guest-physical 64-bit entry point */
	uint64_t load_start; /* lowest guest-physical byte the kernel occupies */
	uint64_t load_end;   /* one past the highest */
	bool bzimage;
	/* bzImage whose compressed vmlinux was unpacked on the host and loaded as ELF. */
	bool host_decompressed;
	/* bzImage only: its setup header, to be copied into the zero page. */
	struct setup_header hdr;
	/* Highest address an initrd may end at (from the header; 2 GiB-1 default). */
	uint64_t initrd_addr_max;
};

/* Detects the format from its magic and loads it. 0 or -errno (-ENOEXEC for bad input).
 * A bzImage whose payload is gzip, xz or zstd is decompressed on the host and
 * its vmlinux loaded as ELF (entered in the kernel proper); otherwise its
 * protected-mode payload is loaded and the guest decompresses itself. */
int kernel_load(const struct guest_mem *m, const uint8_t *file, size_t size, struct kernel_image *out);
int elf_kernel_load(const struct guest_mem *m, const uint8_t *file, size_t size, struct kernel_image *out);
int bzimage_load(const struct guest_mem *m, const uint8_t *file, size_t size, struct kernel_image *out);

bool is_elf(const uint8_t *file, size_t size);
bool is_bzimage(const uint8_t *file, size_t size);

#endif
