/* 64-bit entry state: GDT, page tables and registers (see longmode.h). */
#include "longmode.h"

#include <errno.h>
#include <string.h>

#include "../lib/memory.h"
#include "../lib/layout.h"

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define PTE_PRESENT 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

static const uint16_t gdt_flags[] = {
	0,      /* null */
	0xa09b, /* code: present, DPL 0, exec/read, accessed; L=1, G=1 */
	0xc093, /* data: present, DPL 0, read/write, accessed; D/B=1, G=1 */
	0x808b, /* TSS: present, 64-bit busy TSS; G=1 */
};

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << (56 - 24)) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << (48 - 16)) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

int longmode_write_tables(const struct guest_mem *m)
{
	uint64_t *gdt = guest_mem_ptr(m, BOOT_GDT_ADDR, sizeof(gdt_flags) / sizeof(gdt_flags[0]) * 8);
	uint64_t *idt = guest_mem_ptr(m, BOOT_IDT_ADDR, 8);
	uint64_t *pml4 = guest_mem_ptr(m, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(m, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(m, BOOT_PD_ADDR, 4 * 4096);

	if (!gdt || !idt || !pml4 || !pdpt || !pd)
		return -EFAULT;
	for (unsigned int i = 0; i < sizeof(gdt_flags) / sizeof(gdt_flags[0]); i++)
		gdt[i] = gdt_entry(gdt_flags[i], 0, i ? 0xfffff : 0);
	*idt = 0;

	/* PML4[0] -> PDPT; PDPT[0..3] -> four PDs of 512 2 MiB pages: 0..4 GiB identity. */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	return 0;
}

static void segment_from_gdt(struct kvm_segment *s, uint16_t flags, uint16_t selector)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff; /* limit 0xfffff with 4 KiB granularity */
	s->selector = selector;
	s->type = flags & 0xf;
	s->present = (flags >> 7) & 1;
	s->dpl = (flags >> 5) & 3;
	s->db = (flags >> 14) & 1;
	s->s = (flags >> 4) & 1;
	s->l = (flags >> 13) & 1;
	s->g = (flags >> 15) & 1;
	s->avl = (flags >> 12) & 1;
	s->unusable = !s->present;
}

void longmode_sregs(struct kvm_sregs *sregs)
{
	struct kvm_segment code, data, tss;

	segment_from_gdt(&code, gdt_flags[1], BOOT_CS);
	segment_from_gdt(&data, gdt_flags[2], BOOT_DS);
	segment_from_gdt(&tss, gdt_flags[3], BOOT_TSS);

	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt_flags) / sizeof(gdt_flags[0]) * 8 - 1;
	sregs->idt.base = BOOT_IDT_ADDR;
	sregs->idt.limit = 7;

	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = tss;

	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	sregs->cr3 = BOOT_PML4_ADDR;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

void longmode_regs(struct kvm_regs *regs, uint64_t entry, uint64_t zero_page)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* reserved bit 1 */
	regs->rip = entry;
	regs->rsp = BOOT_STACK_ADDR;
	regs->rbp = BOOT_STACK_ADDR;
	regs->rsi = zero_page;
}
