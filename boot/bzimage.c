/* bzImage loader (Linux x86 boot protocol >= 2.12 with XLF_KERNEL_64): copies
 * the protected-mode payload to the kernel's preferred address and returns its
 * 64-bit entry (load address + 0x200). The real-mode setup code is not run;
 * its header is kept so the zero page can carry it, as the protocol asks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/memory.h"
#include "../lib/util.h"
#include "decompress.h"
#include "kernel.h"
#include "../lib/layout.h"

#define SETUP_HEADER_OFFSET 0x1f1
#define BOOT_FLAG_MAGIC 0xaa55
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define MIN_PROTOCOL 0x020c   /* 2.12: xloadflags, 64-bit entry */
#define ENTRY_64_OFFSET 0x200

/* The payload (protocol 2.08+) is the compressed vmlinux ELF, possibly
 * followed by its relocations. Unpack it on the host and load the ELF at its
 * link address, where no relocation is needed: 1 if done, 0 if the format is
 * not one we unpack (the caller falls back to the in-guest decompressor), or
 * -ENOEXEC. */
static int load_unpacked(const struct guest_mem *m, const struct setup_header *h, const uint8_t *pm,
			 uint64_t pm_size, struct kernel_image *out)
{
	const uint8_t *p = pm + h->payload_offset;
	enum payload_format format;
	uint8_t *elf = NULL;
	size_t elf_len = 0;
	int ret;

	if (h->version < 0x0208 || !h->payload_length || !range_within(h->payload_offset, h->payload_length, pm_size))
		return 0;
	format = payload_detect(p, h->payload_length);
	if (format == PAYLOAD_UNKNOWN)
		return 0;
	ret = payload_decompress(p, h->payload_length, MIN((size_t)m->size, (size_t)1 << 30), &elf, &elf_len);
	if (ret)
		return -ENOEXEC;
	ret = elf_kernel_load(m, elf, elf_len, out);
	free(elf);
	if (ret) {
		pr_err("kernel: the bzImage's unpacked payload is not a loadable vmlinux (see above)");
		return -ENOEXEC;
	}
	pr_info("kernel: bzImage payload (%s, %u bytes) unpacked on the host: entering vmlinux at 0x%llx",
		payload_format_name(format), h->payload_length,
		(unsigned long long)out->entry);
	return 1;
}

bool is_bzimage(const uint8_t *file, size_t size)
{
	uint32_t magic;

	if (size < SETUP_HEADER_OFFSET + sizeof(struct setup_header))
		return false;
	memcpy(&magic, file + SETUP_HEADER_OFFSET + offsetof(struct setup_header, header), sizeof(magic));
	return magic == HDRS_MAGIC;
}

int bzimage_load(const struct guest_mem *m, const uint8_t *file, size_t size, struct kernel_image *out)
{
	struct setup_header h;
	uint64_t setup_size, payload, load, need;
	size_t hdr_len;
	uint8_t *dst;
	int ret;

	if (!is_bzimage(file, size)) {
		pr_err("kernel: not a bzImage (no HdrS magic, or shorter than its setup header)");
		return -ENOEXEC;
	}
	/* The header's own length: it ends where the 2-byte jump at 0x200 lands. */
	hdr_len = MIN((size_t)(0x202 + file[0x201] - SETUP_HEADER_OFFSET), sizeof(h));
	memset(&h, 0, sizeof(h));
	memcpy(&h, file + SETUP_HEADER_OFFSET, hdr_len);

	if (h.boot_flag != BOOT_FLAG_MAGIC) {
		pr_err("kernel: bzImage boot flag 0x%04x is not 0xaa55", h.boot_flag);
		return -ENOEXEC;
	}
	if (h.version < MIN_PROTOCOL || !(h.xloadflags & XLF_KERNEL_64)) {
		pr_err("kernel: bzImage protocol %u.%02u without a 64-bit entry: need >= 2.12 with XLF_KERNEL_64",
		       h.version >> 8, h.version & 0xff);
		return -ENOEXEC;
	}
	setup_size = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
	if (setup_size >= size) {
		pr_err("kernel: bzImage setup (%llu bytes) leaves no payload in a %zu-byte file: truncated?",
		       (unsigned long long)setup_size, size);
		return -ENOEXEC;
	}
	payload = size - setup_size;
	if ((uint64_t)h.syssize * 16 > payload) {
		pr_err("kernel: bzImage payload is %llu bytes but its header says %llu: truncated?",
		       (unsigned long long)payload, (unsigned long long)h.syssize * 16);
		return -ENOEXEC;
	}
	ret = load_unpacked(m, &h, file + setup_size, payload, out);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		out->bzimage = true;
		out->host_decompressed = true;
		out->hdr = h;
		goto initrd_limit;
	}

	load = h.pref_address >= BOOT_HIMEM_START ? h.pref_address : BOOT_HIMEM_START;
	if (h.relocatable_kernel && h.kernel_alignment && (h.kernel_alignment & (h.kernel_alignment - 1)) == 0) {
		uint64_t aligned = ALIGN_UP(load, (uint64_t)h.kernel_alignment);

		if (aligned < load) {
			pr_err("kernel: bzImage preferred address 0x%llx is absurd", (unsigned long long)load);
			return -ENOEXEC;
		}
		load = aligned;
	}
	/* The kernel decompresses itself in place: it needs init_size bytes from load on. */
	need = MAX(payload, (uint64_t)h.init_size);
	dst = guest_mem_ptr(m, load, need);
	if (!dst) {
		pr_err("kernel: bzImage needs [0x%llx, +0x%llx) of RAM (init_size), which guest RAM "
		       "(ending 0x%llx) does not hold: raise --mem-mib",
		       (unsigned long long)load, (unsigned long long)need, (unsigned long long)guest_mem_end(m));
		return -ENOEXEC;
	}

	memset(out, 0, sizeof(*out));
	memcpy(dst, file + setup_size, payload);
	out->bzimage = true;
	out->hdr = h;
	out->entry = load + ENTRY_64_OFFSET;
	out->load_start = load;
	out->load_end = load + need;
initrd_limit:
	out->initrd_addr_max = h.version >= 0x0203 && h.initrd_addr_max ? h.initrd_addr_max : 0x37ffffff;
	if (h.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)
		out->initrd_addr_max = UINT64_MAX;
	return 0;
}
