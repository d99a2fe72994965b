/* The cpu scenario of the test guest: ring-0 instructions that software-KVM
 * hosts complete in hopx-vmm's fix-ups (vmm/x86_xsave.c, x86_emu.c), given
 * good and hostile operands. Each must do what the SDM says, or raise the
 * architectural fault (#GP, #PF with CR2, #UD), which we catch and check;
 * the VMM must neither die nor let the instruction through. On hardware KVM
 * the same instructions run natively and the same checks hold. */
#include "guest.h"
#include "lib.h"

#define NO_FAULT 0xffULL
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXSAVE (1ULL << 18)

/* Set by the fault stubs in start.S. */
volatile uint64_t fault_recover, fault_vector, fault_error, fault_cr2;

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* Each probe arms fault_recover at its label 1 and runs one instruction;
 * it returns the vector it faulted with, or NO_FAULT. */
#define PROBE(insn, ...)                                                                                  \
	({                                                                                                \
		fault_vector = NO_FAULT;                                                                  \
		__asm__ volatile("leaq 1f(%%rip), %%r11\n\tmovq %%r11, fault_recover(%%rip)\n\t" insn      \
				 "\n1:\n\tmovq $0, fault_recover(%%rip)" __VA_ARGS__);                     \
		fault_vector;                                                                             \
	})

static uint64_t xsetbv(uint64_t v)
{
	return PROBE("xsetbv", : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "r11", "memory");
}

static uint64_t xgetbv(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t xsave(void *area, uint64_t rfbm)
{
	return PROBE("xsave (%0)", : : "r"(area), "a"((uint32_t)rfbm), "d"((uint32_t)(rfbm >> 32)) : "r11", "memory");
}

static uint64_t xrstor(void *area, uint64_t rfbm)
{
	return PROBE("xrstor (%0)", : : "r"(area), "a"((uint32_t)rfbm), "d"((uint32_t)(rfbm >> 32)) : "r11", "memory");
}

/* VERW SEL: ZF says whether the segment is writable from here. */
static int verw(uint16_t sel)
{
	uint8_t zf = 0xee;

	__asm__ volatile("verw %1\n\tsetz %0" : "=q"(zf) : "r"(sel) : "cc");
	return zf;
}

/* Make the 4 KiB page at PAGE (in an identity-mapped 2 MiB page, as the
 * VMM's and our own page tables have it) not present, by splitting its
 * 2 MiB mapping into 4 KiB ones; returns the PD entry to put back. */
static uint64_t *pd_entry(uint64_t addr)
{
	uint64_t cr3, *pml4, *pdpt, *pd;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(cr3 & ~0xfffULL);
	pdpt = (uint64_t *)(pml4[(addr >> 39) & 511] & 0xffffffffff000ULL);
	pd = (uint64_t *)(pdpt[(addr >> 30) & 511] & 0xffffffffff000ULL);
	return &pd[(addr >> 21) & 511];
}

static void flush_tlb(void)
{
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) : : "memory");
}

static uint64_t unmap_page(uint64_t page)
{
	uint64_t *pde = pd_entry(page), old = *pde, base = old & ~0x1fffffULL & 0xffffffffff000ULL;
	uint64_t *pt = page_alloc(4096);

	for (unsigned int i = 0; i < 512; i++)
		pt[i] = (base + i * 4096ULL) | 3; /* present, writable */
	pt[(page >> 12) & 511] = 0;
	*pde = (uint64_t)pt | 3;
	flush_tlb();
	return old;
}

static void remap_page(uint64_t page, uint64_t old)
{
	*pd_entry(page) = old;
	flush_tlb();
}

static bool on_pvm_host(void)
{
	char v[8];

	return cmdline_get("hopx.pvm", v, sizeof(v)) && v[0] == '1';
}

static void cpu_xsave_tests(void)
{
	uint32_t r[4];
	uint64_t cr4, xcr0, want, v, ctx_size;
	uint8_t *area = page_alloc(3 * 4096), *hdr;
	uint64_t *bv;

	cpuid(1, 0, r);
	if (!check((r[2] >> 26) & 1, "cpu-xsave-offered", "CPUID.1:ECX %x has no XSAVE", r[2]))
		return;
	want = 3 | (((r[2] >> 28) & 1) ? 4 : 0); /* x87, SSE, and AVX where there is AVX */
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	/* Without CR4.OSXSAVE, XSETBV is #UD. */
	cr4 &= ~CR4_OSXSAVE;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	v = xsetbv(want);
	check(v == 6, "cpu-xsetbv-without-osxsave-ud", "vector %lx", v);
	cr4 |= CR4_OSFXSR | CR4_OSXSAVE;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));

	/* XCR0 the CPU would refuse: #GP(0), XCR0 unchanged. */
	xcr0 = xgetbv();
	v = xsetbv(0);
	check(v == 13 && fault_error == 0 && xgetbv() == xcr0, "cpu-xsetbv-no-x87-gp", "vector %lx", v);
	v = xsetbv(1 | 4);
	check(v == 13 && xgetbv() == xcr0, "cpu-xsetbv-avx-without-sse-gp", "vector %lx", v);
	v = xsetbv(want);
	check(v == NO_FAULT && xgetbv() == want, "cpu-xsetbv-xgetbv", "vector %lx, xcr0 %lx", v, xgetbv());

	cpuid(0xd, 0, r);
	ctx_size = r[1]; /* for the features now in XCR0 */
	check(ctx_size >= 576 && ctx_size <= 4096, "cpu-xsave-size", "%lu", ctx_size);
	hdr = area + 512;
	bv = (uint64_t *)hdr;

	/* A good area: saved, header in standard form, restored. */
	memset(area, 0, 4096);
	v = xsave(area, ~0ULL);
	check(v == NO_FAULT && bv[1] == 0 && (bv[0] & ~want) == 0, "cpu-xsave-good", "vector %lx, xstate_bv %lx, xcomp_bv %lx",
	      v, bv[0], bv[1]);
	v = xrstor(area, ~0ULL);
	check(v == NO_FAULT, "cpu-xrstor-good", "vector %lx", v);

	/* Hostile operands. */
	v = xsave(area + 8, ~0ULL);
	check(v == 13, "cpu-xsave-misaligned-gp", "vector %lx", v);
	v = xrstor(area + 8, ~0ULL);
	check(v == 13, "cpu-xrstor-misaligned-gp", "vector %lx", v);
	v = xsave((void *)0x0000800000000000ULL, ~0ULL);
	check(v == 13, "cpu-xsave-noncanonical-gp", "vector %lx", v);
	/* hopx-vmm's page tables map 0..4 GiB: 4 GiB is not present. */
	v = xsave((void *)0x100000000ULL, ~0ULL);
	check(v == 14 && fault_cr2 == 0x100000000ULL && (fault_error & 3) == 2, "cpu-xsave-unmapped-pf",
	      "vector %lx, cr2 %lx, error %lx", v, fault_cr2, fault_error);
	v = xrstor((void *)0x100000000ULL, ~0ULL);
	check(v == 14 && fault_cr2 == 0x100000000ULL && (fault_error & 3) == 0, "cpu-xrstor-unmapped-pf",
	      "vector %lx, cr2 %lx, error %lx", v, fault_cr2, fault_error);
	/* An area whose second page is not present: #PF in that page, for
	 * XSAVE (a write) and XRSTOR (a read). */
	{
		uint64_t hole = (uint64_t)area + 8192, old = unmap_page(hole);

		v = xsave((void *)(hole - 512), ~0ULL);
		check(v == 14 && fault_cr2 >> 12 == hole >> 12 && (fault_error & 3) == 2,
		      "cpu-xsave-crosses-into-unmapped-pf", "vector %lx, cr2 %lx, error %lx", v, fault_cr2, fault_error);
		v = xrstor((void *)(hole - 512), ~0ULL);
		check(v == 14 && fault_cr2 >> 12 == hole >> 12 && (fault_error & 3) == 0,
		      "cpu-xrstor-crosses-into-unmapped-pf", "vector %lx, cr2 %lx, error %lx", v, fault_cr2, fault_error);
		remap_page(hole, old);
	}
	/* Mapped, but not RAM (the MMIO hole below 4 GiB): on software-KVM
	 * hosts the fix-up cannot reach it and injects #GP(0) (hardware KVM
	 * would fail the emulation and stop the VM instead). */
	if (on_pvm_host()) {
		v = xsave((void *)(0x100000000ULL - 512), ~0ULL);
		check(v == 13 && fault_error == 0, "cpu-xsave-not-ram-gp", "vector %lx", v);
		v = xrstor((void *)0xfec00000ULL, ~0ULL);
		check(v == 13, "cpu-xrstor-not-ram-gp", "vector %lx", v);
	}

	/* Malformed headers: #GP, and nothing restored. */
	memset(area, 0, 4096);
	xsave(area, ~0ULL);
	bv[0] = want;
	bv[1] = 1ULL << 63; /* the compacted form, claiming none of the components XSTATE_BV has */
	v = xrstor(area, ~0ULL);
	check(v == 13, "cpu-xrstor-compacted-header-gp", "vector %lx", v);
	bv[1] = 0;
	bv[2] = 1; /* header bytes 16..23: the standard form wants them zero */
	v = xrstor(area, ~0ULL);
	check(v == 13, "cpu-xrstor-reserved-header-gp", "vector %lx", v);
	bv[2] = 0;
	bv[3] = bv[7] = ~0ULL; /* bytes 24..63: the standard form does not look at them */
	v = xrstor(area, ~0ULL);
	check(v == NO_FAULT, "cpu-xrstor-ignores-header-tail", "vector %lx", v);
	bv[3] = bv[7] = 0;
	bv[0] = want | (1ULL << 9); /* a component outside XCR0 */
	v = xrstor(area, ~0ULL);
	check(v == 13, "cpu-xrstor-xstate-bv-outside-xcr0-gp", "vector %lx", v);
	bv[0] = want;
	*(uint32_t *)(area + 24) = 0xffffffffu; /* MXCSR reserved bits */
	v = xrstor(area, 2);
	check(v == 13, "cpu-xrstor-bad-mxcsr-gp", "vector %lx", v);
	*(uint32_t *)(area + 24) = 0x1f80;
	v = xrstor(area, ~0ULL);
	check(v == NO_FAULT, "cpu-xrstor-after-hostile", "vector %lx", v);
}

static void cpu_verw_tests(void)
{
	/* Our GDT (start.S): 0x08 code (not writable), 0x10 data (writable). */
	int data = verw(0x10), code = verw(0x08), null = verw(0);

	check(data == 1 && code == 0 && null == 0, "cpu-verw", "ZF: data %d, code %d, null %d", data, code, null);
}

void cpu_tests(void)
{
	cpu_verw_tests();
	cpu_xsave_tests();
}
