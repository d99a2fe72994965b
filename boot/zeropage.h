/* The zero page (struct boot_params) and what it points to: the e820 map, the
 * command line, the initrd and a setup_data chain carrying the host's RNG seed
 * (SETUP_RNG_SEED), so the guest's getrandom() works from its first
 * instruction. */
#ifndef HOPX_BOOT_ZEROPAGE_H
#define HOPX_BOOT_ZEROPAGE_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

struct guest_mem;
struct kernel_image;

#define BOOT_RNG_SEED_LEN 32
/* x86 COMMAND_LINE_SIZE: the kernel truncates anything longer. */
#define KERNEL_CMDLINE_MAX 2048

/* Fill TABLE with the guest's memory map; returns the number of entries. */
unsigned int e820_build(const struct guest_mem *m, struct boot_e820_entry *table, unsigned int max);

/* Choose where an initrd of SIZE bytes goes: page aligned, as high as RAM and
 * the kernel's initrd_addr_max allow, above the kernel. 0 or -errno. */
int initrd_place(const struct guest_mem *m, const struct kernel_image *k, uint64_t size, uint64_t *gpa);

struct boot_setup {
	const char *cmdline;
	uint64_t initrd_gpa, initrd_size; /* size 0: no initrd */
	const uint8_t *rng_seed;          /* BOOT_RNG_SEED_LEN bytes, or NULL */
};

/* Write the zero page, command line and setup_data into guest memory. 0 or -errno. */
int zeropage_write(const struct guest_mem *m, const struct kernel_image *k, const struct boot_setup *b);

#endif
