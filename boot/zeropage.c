/* Builds the zero page and its satellites (see zeropage.h). */
#include "zeropage.h"

#include <errno.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/memory.h"
#include "../lib/util.h"
#include "kernel.h"
#include "../lib/layout.h"

#define E820_RAM 1
#define E820_RESERVED 2

static unsigned int e820_add(struct boot_e820_entry *t, unsigned int n, unsigned int max,
			     uint64_t addr, uint64_t size, uint32_t type)
{
	if (n < max && size) {
		t[n].addr = addr;
		t[n].size = size;
		t[n].type = type;
		n++;
	}
	return n;
}

unsigned int e820_build(const struct guest_mem *m, struct boot_e820_entry *t, unsigned int max)
{
	unsigned int n = 0;

	n = e820_add(t, n, max, 0, BOOT_MPTABLE_ADDR, E820_RAM);
	/* The MP table lives in the last KiB of base memory, where Linux scans for it. */
	n = e820_add(t, n, max, BOOT_MPTABLE_ADDR, BOOT_EBDA_END - BOOT_MPTABLE_ADDR, E820_RESERVED);
	n = e820_add(t, n, max, BOOT_HIMEM_START, m->low_size - BOOT_HIMEM_START, E820_RAM);
	if (m->size > m->low_size)
		n = e820_add(t, n, max, MMIO_GAP_END, m->size - m->low_size, E820_RAM);
	return n;
}

int initrd_place(const struct guest_mem *m, const struct kernel_image *k, uint64_t size, uint64_t *gpa)
{
	uint64_t top = m->low_size;
	uint64_t addr;

	if (k->initrd_addr_max < UINT64_MAX && k->initrd_addr_max + 1 < top)
		top = k->initrd_addr_max + 1;
	if (size == 0 || size > top) {
		pr_err("initrd of %llu bytes does not fit below 0x%llx: raise --mem-mib",
		       (unsigned long long)size, (unsigned long long)top);
		return -E2BIG;
	}
	addr = ALIGN_DOWN(top - size, 4096ULL);
	if (addr < ALIGN_UP(k->load_end, 4096ULL)) {
		pr_err("initrd of %llu bytes does not fit between the kernel's end (0x%llx) and 0x%llx: raise --mem-mib",
		       (unsigned long long)size, (unsigned long long)k->load_end, (unsigned long long)top);
		return -E2BIG;
	}
	*gpa = addr;
	return 0;
}

static int write_rng_seed(const struct guest_mem *m, const uint8_t *seed)
{
	struct setup_data *sd = guest_mem_ptr(m, BOOT_SETUP_DATA_ADDR, sizeof(*sd) + BOOT_RNG_SEED_LEN);

	if (!sd)
		return -EFAULT;
	sd->next = 0;
	sd->type = SETUP_RNG_SEED;
	sd->len = BOOT_RNG_SEED_LEN;
	memcpy(sd->data, seed, BOOT_RNG_SEED_LEN);
	return 0;
}

int zeropage_write(const struct guest_mem *m, const struct kernel_image *k, const struct boot_setup *b)
{
	struct boot_params *bp = guest_mem_ptr(m, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	size_t len = strlen(b->cmdline);
	char *cmdline = guest_mem_ptr(m, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX);
	uint32_t cmdline_max = KERNEL_CMDLINE_MAX;
	int ret;

	if (!bp || !cmdline)
		return -EFAULT;
	if (k->bzimage && k->hdr.version >= 0x0206 && k->hdr.cmdline_size)
		cmdline_max = MIN(k->hdr.cmdline_size + 1, (uint32_t)BOOT_CMDLINE_MAX);
	if (len + 1 > cmdline_max) {
		pr_err("kernel command line is %zu bytes; the kernel takes at most %u: shorten --cmdline",
		       len, cmdline_max - 1);
		return -E2BIG;
	}
	memset(bp, 0, sizeof(*bp));
	if (k->bzimage)
		bp->hdr = k->hdr;
	bp->hdr.boot_flag = 0xaa55;
	bp->hdr.header = 0x53726448;
	if (!k->bzimage) {
		/* What a vmlinux needs from a protocol-2.10+ loader. */
		bp->hdr.version = 0x020a;
		bp->hdr.kernel_alignment = 0x1000000;
	}
	bp->hdr.type_of_loader = 0xff; /* undefined loader */
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->hdr.cmdline_size = (uint32_t)len;
	memcpy(cmdline, b->cmdline, len + 1);

	if (b->initrd_size) {
		if (!guest_mem_ptr(m, b->initrd_gpa, b->initrd_size))
			return -EFAULT;
		bp->hdr.ramdisk_image = (uint32_t)b->initrd_gpa;
		bp->ext_ramdisk_image = (uint32_t)(b->initrd_gpa >> 32);
		bp->hdr.ramdisk_size = (uint32_t)b->initrd_size;
		bp->ext_ramdisk_size = (uint32_t)(b->initrd_size >> 32);
	}
	if (b->rng_seed) {
		ret = write_rng_seed(m, b->rng_seed);
		if (ret)
			return ret;
		bp->hdr.setup_data = BOOT_SETUP_DATA_ADDR;
	}
	bp->e820_entries = (uint8_t)e820_build(m, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	return 0;
}
