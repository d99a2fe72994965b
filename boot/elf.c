/* ELF vmlinux loader: copies each PT_LOAD segment to its physical address and
 * returns the ELF entry, which for x86-64 vmlinux is phys_startup_64 (entered
 * in 64-bit mode with identity-mapped page tables). Rejects anything that is
 * not a little-endian x86-64 ET_EXEC with sane, non-overlapping segments that
 * fit in guest RAM above 1 MiB. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "../lib/log.h"
#include "../lib/memory.h"
#include "../lib/util.h"
#include "kernel.h"
#include "../lib/layout.h"

bool is_elf(const uint8_t *file, size_t size)
{
	return size >= SELFMAG && memcmp(file, ELFMAG, SELFMAG) == 0;
}

static int check_header(const Elf64_Ehdr *eh, size_t size)
{
	if (size < sizeof(*eh)) {
		pr_err("kernel: ELF file truncated (%zu bytes, header needs %zu)", size, sizeof(*eh));
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		pr_err("kernel: ELF is not little-endian x86-64 (class %u, data %u, machine %u): "
		       "pass an x86-64 vmlinux", eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA], eh->e_machine);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC) {
		pr_err("kernel: ELF type %u is not ET_EXEC: pass a vmlinux, not a module or object", eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum > KERNEL_MAX_SEGMENTS) {
		pr_err("kernel: ELF program headers malformed (entsize %u, count %u)", eh->e_phentsize, eh->e_phnum);
		return -ENOEXEC;
	}
	if (!range_within(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size)) {
		pr_err("kernel: ELF program headers lie outside the file (offset %llu, file %zu bytes): truncated?",
		       (unsigned long long)eh->e_phoff, size);
		return -ENOEXEC;
	}
	return 0;
}

static int check_segment(const struct guest_mem *m, const Elf64_Phdr *ph, size_t size, unsigned int i)
{
	if (ph->p_filesz > ph->p_memsz) {
		pr_err("kernel: segment %u has filesz %llu > memsz %llu", i,
		       (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
		return -ENOEXEC;
	}
	if (!range_within(ph->p_offset, ph->p_filesz, size)) {
		pr_err("kernel: segment %u (offset %llu, %llu bytes) runs past the end of the file (%zu bytes): truncated?",
		       i, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz, size);
		return -ENOEXEC;
	}
	if (ph->p_paddr < BOOT_HIMEM_START || !guest_mem_ptr(m, ph->p_paddr, ph->p_memsz)) {
		pr_err("kernel: segment %u [0x%llx, +0x%llx) is not inside guest RAM above 1 MiB "
		       "(RAM ends at 0x%llx): raise --mem-mib or check the kernel", i,
		       (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
		       (unsigned long long)guest_mem_end(m));
		return -ENOEXEC;
	}
	return 0;
}

int elf_kernel_load(const struct guest_mem *m, const uint8_t *file, size_t size, struct kernel_image *out)
{
	const Elf64_Ehdr *eh = (const void *)file;
	Elf64_Phdr ph[KERNEL_MAX_SEGMENTS];
	unsigned int nload = 0;
	bool entry_ok = false;
	int ret;

	if (!is_elf(file, size)) {
		pr_err("kernel: not an ELF file");
		return -ENOEXEC;
	}
	ret = check_header(eh, size);
	if (ret)
		return ret;

	memset(out, 0, sizeof(*out));
	out->load_start = UINT64_MAX;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr p;

		memcpy(&p, file + eh->e_phoff + i * sizeof(p), sizeof(p));
		if (p.p_type != PT_LOAD || p.p_memsz == 0)
			continue;
		ret = check_segment(m, &p, size, i);
		if (ret)
			return ret;
		for (unsigned int j = 0; j < nload; j++) {
			if (p.p_paddr < ph[j].p_paddr + ph[j].p_memsz && ph[j].p_paddr < p.p_paddr + p.p_memsz) {
				pr_err("kernel: segment %u [0x%llx, +0x%llx) overlaps an earlier one [0x%llx, +0x%llx)",
				       i, (unsigned long long)p.p_paddr, (unsigned long long)p.p_memsz,
				       (unsigned long long)ph[j].p_paddr, (unsigned long long)ph[j].p_memsz);
				return -ENOEXEC;
			}
		}
		if (eh->e_entry >= p.p_paddr && eh->e_entry - p.p_paddr < p.p_memsz)
			entry_ok = true;
		out->load_start = MIN(out->load_start, p.p_paddr);
		out->load_end = MAX(out->load_end, p.p_paddr + p.p_memsz);
		ph[nload++] = p;
	}
	if (nload == 0) {
		pr_err("kernel: ELF has no loadable segment");
		return -ENOEXEC;
	}
	if (!entry_ok) {
		pr_err("kernel: ELF entry 0x%llx is outside every loaded segment: not a vmlinux with a physical entry?",
		       (unsigned long long)eh->e_entry);
		return -ENOEXEC;
	}

	/* Everything checked: now write guest memory. */
	for (unsigned int j = 0; j < nload; j++) {
		uint8_t *dst = guest_mem_ptr(m, ph[j].p_paddr, ph[j].p_memsz);

		memcpy(dst, file + ph[j].p_offset, ph[j].p_filesz);
		memset(dst + ph[j].p_filesz, 0, ph[j].p_memsz - ph[j].p_filesz);
	}
	out->entry = eh->e_entry;
	out->initrd_addr_max = 0x7fffffff;
	return 0;
}

int kernel_load(const struct guest_mem *m, const uint8_t *file, size_t size, struct kernel_image *out)
{
	if (is_elf(file, size))
		return elf_kernel_load(m, file, size, out);
	if (is_bzimage(file, size))
		return bzimage_load(m, file, size, out);
	pr_err("kernel: neither an ELF vmlinux nor a bzImage (%zu bytes, no ELF or HdrS magic)", size);
	return -ENOEXEC;
}
