/* The PVM fix-up emulator: every instruction in its table and every operand
 * form (register, [reg], [reg+disp8], [base+index*scale+disp32], RIP-relative,
 * REX-extended registers, 16/32/64-bit sizes, FS/GS and address-size
 * prefixes), the exceptions it raises, and what it refuses; the XSAVE family
 * against a synthetic extended state (layout as this file's CPUID would
 * report it) and VERW against a synthetic GDT. */
#include <errno.h>
#include <string.h>

#include "../../vmm/x86_emu.h"
#include "../../lib/util.h"
#include "test_helpers.h"

#define MEM_BASE 0x10000ULL
#define MEM_SIZE 0x10000ULL
#define RO_START (MEM_BASE + 0x8000) /* upper half is read-only */

static uint8_t mem[MEM_SIZE] __attribute__((aligned(16)));

/* Guest memory as the page walk would give it: [MEM_BASE, MEM_BASE+MEM_SIZE)
 * mapped, its upper half read-only; a fault is reported at the first byte
 * of the range the guest may not access. */
static void *fake_map(void *ctx, uint64_t gva, uint32_t len, bool write, struct emu_fault *f)
{
	(void)ctx;
	if (gva < MEM_BASE || gva >= MEM_BASE + MEM_SIZE) {
		*f = (struct emu_fault){ X86_VEC_PF, write ? X86_PF_WRITE : 0, gva };
		return NULL;
	}
	if (gva - MEM_BASE + len > MEM_SIZE) {
		*f = (struct emu_fault){ X86_VEC_PF, write ? X86_PF_WRITE : 0, MEM_BASE + MEM_SIZE };
		return NULL;
	}
	if (write && gva + len > RO_START) {
		*f = (struct emu_fault){ X86_VEC_PF, X86_PF_WRITE | X86_PF_PRESENT, gva > RO_START ? gva : RO_START };
		return NULL;
	}
	return mem + (gva - MEM_BASE);
}

/* The vCPU's extended state: x87, SSE, AVX (576, 256 bytes) and AVX-512
 * (1088/64, 1152/512, 1664/1024), as the standard layout has them. */
#define AREA_SIZE 4096
static uint8_t area[AREA_SIZE];
static struct emu_xstate xs;
static int xstate_loads;
static const struct emu_xlayout xlayout = {
	.xcr0_supported = 0xe7,
	.offset = { [2] = 576, [5] = 1088, [6] = 1152, [7] = 1664 },
	.size = { [2] = 256, [5] = 64, [6] = 512, [7] = 1024 },
};

static struct emu_xstate *fake_xstate(void *ctx)
{
	(void)ctx;
	xstate_loads++;
	return &xs;
}

static const struct emu_mem fmem = { .ctx = NULL, .map = fake_map, .xstate = fake_xstate };

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

static struct emu_state st;

static int setup(void **state)
{
	(void)state;
	memset(&st, 0, sizeof(st));
	memset(mem, 0, sizeof(mem));
	st.rip = 0x400000;
	st.rflags = 0x2;
	st.mxcsr = 0x1f80;
	st.cr4 = X86_CR4_OSXSAVE;
	st.xlayout = &xlayout;
	for (size_t i = 0; i < AREA_SIZE; i++)
		area[i] = (uint8_t)(i * 7 + 1);
	memset(area + 512, 0, 64);            /* header */
	area[512] = 0xe7;                      /* XSTATE_BV: everything in use */
	memcpy(area + 24, &(uint32_t){ 0x1f80 }, 4);
	memcpy(area + 28, &(uint32_t){ 0xffff }, 4);
	memset(&xs, 0, sizeof(xs));
	xs.area = area;
	xs.area_size = AREA_SIZE;
	xs.xcr0 = 0xe7;
	xstate_loads = 0;
	return 0;
}

static int emu(const uint8_t *code, size_t n, enum emu_insn *which)
{
	enum emu_insn w = EMU_NR_INSNS;
	int ret = x86_emulate(&st, code, n, &fmem, &w);

	if (which)
		*which = w;
	return ret;
}

#define EMU(which, ...)                                                    \
	({                                                                 \
		const uint8_t c_[] = { __VA_ARGS__ };                      \
		emu(c_, sizeof(c_), which);                                \
	})

static void put64(uint64_t gva, uint64_t v)
{
	memcpy(mem + (gva - MEM_BASE), &v, 8);
}

static uint64_t get64(uint64_t gva)
{
	uint64_t v;

	memcpy(&v, mem + (gva - MEM_BASE), 8);
	return v;
}

static void test_int3(void **state)
{
	enum emu_insn w;

	(void)state;
	assert_int_equal(EMU(&w, 0xcc), 0);
	assert_int_equal(w, EMU_INT3);
	assert_int_equal(st.rip, 0x400001); /* a trap: delivered after the instruction */
	assert_int_equal(st.inject_vector, X86_VEC_BP);
	assert_false(st.inject_has_error_code);
}

static void test_fwait(void **state)
{
	enum emu_insn w;

	(void)state;
	assert_int_equal(EMU(&w, 0x9b), 0);
	assert_int_equal(w, EMU_FWAIT);
	assert_int_equal(st.rip, 0x400001);
	assert_int_equal(st.inject_vector, -1);
}

static void test_clac_stac(void **state)
{
	enum emu_insn w;

	(void)state;
	assert_int_equal(EMU(&w, 0x0f, 0x01, 0xcb), 0);
	assert_int_equal(w, EMU_STAC);
	assert_true(st.rflags & EFLAGS_AC);
	assert_int_equal(st.rip, 0x400003);
	assert_int_equal(EMU(&w, 0x0f, 0x01, 0xca), 0);
	assert_int_equal(w, EMU_CLAC);
	assert_false(st.rflags & EFLAGS_AC);
	assert_int_equal(st.rip, 0x400006);
	assert_int_equal(st.rflags, 0x2); /* nothing else touched */
}

static void test_popcnt_registers(void **state)
{
	enum emu_insn w;

	(void)state;
	st.gpr[RCX] = 0xffffffff000000f0ULL;
	st.gpr[RAX] = 0xdeadbeefdeadbeefULL;
	st.rflags |= EFLAGS_CF | EFLAGS_OF | EFLAGS_SF;
	/* popcnt eax, ecx: 32-bit source, result zero-extended */
	assert_int_equal(EMU(&w, 0xf3, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(w, EMU_POPCNT);
	assert_int_equal(st.gpr[RAX], 4);
	assert_int_equal(st.rflags & (EFLAGS_CF | EFLAGS_OF | EFLAGS_SF | EFLAGS_ZF), 0);
	assert_int_equal(st.rip, 0x400004);
	/* popcnt rax, rcx (REX.W) */
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(st.gpr[RAX], 36);
	/* popcnt r9, r14 (REX.W R B) */
	st.gpr[R14] = 0x8000000000000001ULL;
	assert_int_equal(EMU(NULL, 0xf3, 0x4d, 0x0f, 0xb8, 0xce), 0);
	assert_int_equal(st.gpr[R9], 2);
	/* popcnt ax, cx (16-bit: upper bits of RAX kept) */
	st.gpr[RAX] = 0x1111222233334444ULL;
	st.gpr[RCX] = 0xffff00ffULL;
	assert_int_equal(EMU(NULL, 0x66, 0xf3, 0x0f, 0xb8, 0xc1), 0);
	assert_int_equal(st.gpr[RAX], 0x1111222233330008ULL);
	/* zero source sets ZF */
	st.gpr[RDX] = 0;
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0xc2), 0);
	assert_int_equal(st.gpr[RAX], 0);
	assert_true(st.rflags & EFLAGS_ZF);
}

static void test_popcnt_memory_forms(void **state)
{
	(void)state;
	put64(MEM_BASE + 0x100, 0x0f0f);
	/* popcnt rax, [rbx] */
	st.gpr[RBX] = MEM_BASE + 0x100;
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	assert_int_equal(st.gpr[RAX], 8);
	/* popcnt eax, [rbx+0x10] (disp8) */
	put64(MEM_BASE + 0x110, 0x7);
	assert_int_equal(EMU(NULL, 0xf3, 0x0f, 0xb8, 0x43, 0x10), 0);
	assert_int_equal(st.gpr[RAX], 3);
	/* popcnt eax, [rbx-0x10] (negative disp8) */
	put64(MEM_BASE + 0xf0, 0x3);
	assert_int_equal(EMU(NULL, 0xf3, 0x0f, 0xb8, 0x43, 0xf0), 0);
	assert_int_equal(st.gpr[RAX], 2);
	/* popcnt rax, [rbx+rcx*8+0x1000] (SIB, disp32) */
	st.gpr[RCX] = 2;
	put64(MEM_BASE + 0x100 + 16 + 0x1000, 0xffff);
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x84, 0xcb, 0x00, 0x10, 0x00, 0x00), 0);
	assert_int_equal(st.gpr[RAX], 16);
	assert_int_equal(st.rip, 0x400000 + 5 + 5 + 5 + 10);
	/* popcnt rax, [r12+r13*2] (REX.X and REX.B in the SIB) */
	st.gpr[R12] = MEM_BASE + 0x200;
	st.gpr[R13] = 0x10;
	put64(MEM_BASE + 0x220, 0x1);
	assert_int_equal(EMU(NULL, 0xf3, 0x4b, 0x0f, 0xb8, 0x04, 0x6c), 0);
	assert_int_equal(st.gpr[RAX], 1);
	/* popcnt rax, [disp32] (SIB with no base, no index) */
	put64(MEM_BASE + 0x300, 0xff);
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x04, 0x25, 0x00, 0x03, 0x01, 0x00), 0);
	assert_int_equal(st.gpr[RAX], 8);
	/* popcnt rax, [rsp] (base RSP needs a SIB) */
	st.gpr[RSP] = MEM_BASE + 0x400;
	put64(MEM_BASE + 0x400, 0x3);
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x04, 0x24), 0);
	assert_int_equal(st.gpr[RAX], 2);
	/* popcnt rax, [rbp+0] (mod 1: RBP base needs a displacement) */
	st.gpr[RBP] = MEM_BASE + 0x500;
	put64(MEM_BASE + 0x500, 0x1f);
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x45, 0x00), 0);
	assert_int_equal(st.gpr[RAX], 5);
}

static void test_rip_relative(void **state)
{
	(void)state;
	/* popcnt rax, [rip+disp32]: relative to the end of this 9-byte instruction */
	st.rip = MEM_BASE + 0x1000;
	put64(MEM_BASE + 0x1000 + 9 + 0x20, 0x3f);
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x05, 0x20, 0x00, 0x00, 0x00), 0);
	assert_int_equal(st.gpr[RAX], 6);
	assert_int_equal(st.rip, MEM_BASE + 0x1000 + 9);
}

static void test_segment_and_address_size(void **state)
{
	(void)state;
	/* popcnt rax, gs:[rbx] */
	st.gs_base = MEM_BASE + 0x600;
	st.gpr[RBX] = 0x8;
	put64(MEM_BASE + 0x608, 0xf);
	assert_int_equal(EMU(NULL, 0x65, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	assert_int_equal(st.gpr[RAX], 4);
	/* popcnt rax, fs:[rbx] */
	st.fs_base = MEM_BASE + 0x700;
	put64(MEM_BASE + 0x708, 0x1);
	assert_int_equal(EMU(NULL, 0x64, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	assert_int_equal(st.gpr[RAX], 1);
	/* 0x67: the address is truncated to 32 bits */
	st.gpr[RBX] = 0xffffffff00000000ULL | (MEM_BASE + 0x800);
	put64(MEM_BASE + 0x800, 0x3);
	assert_int_equal(EMU(NULL, 0x67, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	assert_int_equal(st.gpr[RAX], 2);
}

static void test_cmpxchg16b(void **state)
{
	enum emu_insn w;
	const uint64_t a = MEM_BASE + 0x900; /* 16-byte aligned */

	(void)state;
	put64(a, 0x1111);
	put64(a + 8, 0x2222);
	st.gpr[RDI] = a;
	st.gpr[RAX] = 0x1111;
	st.gpr[RDX] = 0x2222;
	st.gpr[RBX] = 0xaaaa;
	st.gpr[RCX] = 0xbbbb;
	/* lock cmpxchg16b [rdi]: equal, so RCX:RBX is stored */
	assert_int_equal(EMU(&w, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	assert_int_equal(w, EMU_CMPXCHG16B);
	assert_true(st.rflags & EFLAGS_ZF);
	assert_int_equal(get64(a), 0xaaaa);
	assert_int_equal(get64(a + 8), 0xbbbb);
	assert_int_equal(st.rip, 0x400005);
	/* not equal now: memory loads into RDX:RAX, ZF clear */
	assert_int_equal(EMU(NULL, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	assert_false(st.rflags & EFLAGS_ZF);
	assert_int_equal(st.gpr[RAX], 0xaaaa);
	assert_int_equal(st.gpr[RDX], 0xbbbb);
	assert_int_equal(get64(a), 0xaaaa);
}

static void test_cmpxchg16b_misaligned_gp(void **state)
{
	(void)state;
	st.gpr[RDI] = MEM_BASE + 0x908;
	assert_int_equal(EMU(NULL, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	assert_true(st.inject_has_error_code);
	assert_int_equal(st.rip, 0x400000); /* a fault: RIP stays on the instruction */
}

static void test_cmpxchg8b(void **state)
{
	enum emu_insn w;
	const uint64_t a = MEM_BASE + 0xa00;

	(void)state;
	put64(a, 0x0000000200000001ULL);
	st.gpr[RSI] = a;
	st.gpr[RAX] = 0xffffffff00000001ULL; /* only EAX/EDX take part */
	st.gpr[RDX] = 0x2;
	st.gpr[RBX] = 0x3;
	st.gpr[RCX] = 0x4;
	assert_int_equal(EMU(&w, 0xf0, 0x0f, 0xc7, 0x0e), 0);
	assert_int_equal(w, EMU_CMPXCHG8B);
	assert_true(st.rflags & EFLAGS_ZF);
	assert_int_equal(get64(a), 0x0000000400000003ULL);
	assert_int_equal(EMU(NULL, 0xf0, 0x0f, 0xc7, 0x0e), 0);
	assert_false(st.rflags & EFLAGS_ZF);
	assert_int_equal(st.gpr[RAX], 3);
	assert_int_equal(st.gpr[RDX], 4);
}

static void test_ldmxcsr_stmxcsr(void **state)
{
	enum emu_insn w;
	uint32_t v = 0x1fa0, out;

	(void)state;
	memcpy(mem + 0xb00, &v, 4);
	st.gpr[RAX] = MEM_BASE + 0xb00;
	/* ldmxcsr [rax] */
	assert_int_equal(EMU(&w, 0x0f, 0xae, 0x10), 0);
	assert_int_equal(w, EMU_LDMXCSR);
	assert_int_equal(st.mxcsr, 0x1fa0);
	assert_true(st.mxcsr_changed);
	assert_int_equal(st.rip, 0x400003);
	/* stmxcsr [rsp+4] (the form the kernel uses) */
	st.gpr[RSP] = MEM_BASE + 0xc00;
	assert_int_equal(EMU(&w, 0x0f, 0xae, 0x5c, 0x24, 0x04), 0);
	assert_int_equal(w, EMU_STMXCSR);
	memcpy(&out, mem + 0xc04, 4);
	assert_int_equal(out, 0x1fa0);
	/* ldmxcsr [rsp+4] as seen in a stock kernel: 0f ae 54 24 04 */
	v = 0x1f80;
	memcpy(mem + 0xc04, &v, 4);
	assert_int_equal(EMU(&w, 0x0f, 0xae, 0x54, 0x24, 0x04), 0);
	assert_int_equal(st.mxcsr, 0x1f80);
}

static void test_ldmxcsr_reserved_bits_gp(void **state)
{
	uint32_t v = 0x10000;

	(void)state;
	memcpy(mem + 0xb00, &v, 4);
	st.gpr[RAX] = MEM_BASE + 0xb00;
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x10), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	assert_int_equal(st.mxcsr, 0x1f80);
	assert_false(st.mxcsr_changed);
	assert_int_equal(st.rip, 0x400000);
}

static void assert_pf(uint64_t cr2, uint32_t error_code)
{
	assert_int_equal(st.inject_vector, X86_VEC_PF);
	assert_true(st.inject_has_error_code);
	assert_int_equal(st.inject_error_code, error_code);
	assert_int_equal(st.cr2, cr2);
	assert_int_equal(st.rip, 0x400000); /* a fault: RIP stays at the instruction */
}

/* An operand the guest may not access gets the page fault it would on the
 * CPU, never a VMM error. */
static void test_memory_faults(void **state)
{
	(void)state;
	st.gpr[RBX] = 0x5; /* unmapped */
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x03), 0);
	assert_pf(0x5, 0);
	st.gpr[RDI] = RO_START; /* read-only: no cmpxchg, no stmxcsr */
	assert_int_equal(EMU(NULL, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), 0);
	assert_pf(RO_START, X86_PF_WRITE | X86_PF_PRESENT);
	st.gpr[RAX] = RO_START;
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x18), 0);
	assert_pf(RO_START, X86_PF_WRITE | X86_PF_PRESENT);
	/* ...but reading it is fine */
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x10), 0);
	assert_int_equal(st.inject_vector, -1);
	st.rip = 0x400000;
	/* LDMXCSR across the end of memory: the fault is at the first byte beyond. */
	st.gpr[RAX] = MEM_BASE + MEM_SIZE - 2;
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x10), 0);
	assert_pf(MEM_BASE + MEM_SIZE, 0);
	/* A LOCK prefix on anything but CMPXCHG8B/16B is #UD. */
	st.gpr[RAX] = MEM_BASE;
	assert_int_equal(EMU(NULL, 0xf0, 0x0f, 0xae, 0x10), 0);
	assert_int_equal(st.inject_vector, X86_VEC_UD);
	assert_int_equal(st.rip, 0x400000);
}

static void test_refused(void **state)
{
	(void)state;
	/* Not in the table. */
	assert_int_equal(EMU(NULL, 0x90), -ENOENT);                    /* nop */
	assert_int_equal(EMU(NULL, 0x66, 0x44, 0x0f, 0x6e, 0xf9), -ENOENT); /* movd xmm15, ecx */
	assert_int_equal(EMU(NULL, 0x0f, 0xb8, 0xc1), -ENOENT);        /* popcnt without F3 */
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0xd0), -ENOENT);        /* register form of /2 */
	assert_int_equal(EMU(NULL, 0x0f, 0xc7, 0xc8), -ENOENT);        /* cmpxchg8b needs memory */
	assert_int_equal(EMU(NULL, 0x0f, 0xc7, 0x30), -ENOENT);        /* 0f c7 /6 is not ours */
	assert_int_equal(EMU(NULL, 0xf3, 0x0f, 0xae, 0x10), -ENOENT);  /* F3 changes 0f ae's meaning */
	assert_int_equal(EMU(NULL, 0x0f, 0x01, 0xc1), -ENOENT);        /* vmcall */
	/* Truncated. */
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f), -EINVAL);
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x84, 0xcb, 0x00), -EINVAL);
	assert_int_equal(emu((const uint8_t *)"", 0, NULL), -EINVAL);
	/* More than 15 bytes of prefixes. */
	{
		uint8_t lots[20];

		memset(lots, 0x66, sizeof(lots));
		assert_int_equal(emu(lots, sizeof(lots), NULL), -EINVAL);
	}
	assert_int_equal(st.rip, 0x400000);
}


/* --- the XSAVE family ------------------------------------------------------ */

#define XA (MEM_BASE + 0x1000) /* a 64-byte aligned XSAVE area in guest memory */

static void set_rfbm(uint64_t v)
{
	st.gpr[RAX] = (uint32_t)v;
	st.gpr[RDX] = v >> 32;
}

static uint8_t *gm(uint64_t gva)
{
	return mem + (gva - MEM_BASE);
}

static void test_xsave_standard(void **state)
{
	enum emu_insn w;

	(void)state;
	memset(gm(XA), 0xee, 2688);
	put64(XA + 512, 1ULL << 40); /* a bit outside RFBM stays */
	st.gpr[RDI] = XA;
	set_rfbm(~0ULL);
	assert_int_equal(EMU(&w, 0x48, 0x0f, 0xae, 0x27), 0); /* xsave64 [rdi] */
	assert_int_equal(w, EMU_XSAVE);
	assert_int_equal(st.inject_vector, -1);
	assert_int_equal(st.rip, 0x400004);
	assert_memory_equal(gm(XA), area, 24);                /* FCW..FDP */
	assert_memory_equal(gm(XA + 24), area + 24, 8);       /* MXCSR, MXCSR_MASK */
	assert_memory_equal(gm(XA + 32), area + 32, 416 - 32); /* ST0-7, XMM0-15 */
	for (int i = 416; i < 512; i++)                        /* software's bytes: untouched */
		assert_int_equal(gm(XA)[i], 0xee);
	assert_int_equal(get64(XA + 512), (1ULL << 40) | 0xe7);
	assert_int_equal(get64(XA + 520), 0xeeeeeeeeeeeeeeeeULL); /* XCOMP_BV not written */
	assert_memory_equal(gm(XA + 576), area + 576, 256);   /* YMM_Hi128 */
	assert_memory_equal(gm(XA + 1088), area + 1088, 2688 - 1088);
	assert_false(xs.area_changed);
	assert_int_equal(xstate_loads, 1);
}

static void test_xsave_partial_rfbm_and_init_components(void **state)
{
	(void)state;
	memset(gm(XA), 0xee, 2688);
	put64(XA + 512, 0);
	area[512] = 0x03; /* AVX and AVX-512 in their initial state */
	st.gpr[RSI] = XA - 8;
	set_rfbm(0x5); /* x87 and AVX, not SSE */
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x66, 0x08), 0); /* xsave [rsi+8] */
	assert_memory_equal(gm(XA), area, 24);
	assert_memory_equal(gm(XA + 24), area + 24, 4);        /* MXCSR goes with AVX too */
	for (int i = 160; i < 416; i++)                          /* XMM not in RFBM */
		assert_int_equal(gm(XA)[i], 0xee);
	for (int i = 576; i < 576 + 256; i++)                    /* YMM not in use: not written */
		assert_int_equal(gm(XA)[i], 0xee);
	assert_int_equal(get64(XA + 512), 0x1);                  /* YMM's bit says "initial" */
	/* XCR0 limits RFBM too. */
	xs.xcr0 = 0x3;
	area[512] = 0xe7;
	put64(XA + 512, 0);
	set_rfbm(~0ULL);
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x66, 0x08), 0);
	assert_int_equal(get64(XA + 512), 0x3);
	/* XSAVEOPT does what XSAVE does. */
	put64(XA + 512, 0);
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x76, 0x08), 0);
	assert_int_equal(get64(XA + 512), 0x3);
}

static void test_xsave_faults(void **state)
{
	(void)state;
	set_rfbm(~0ULL);
	st.gpr[RDI] = XA + 16; /* not 64-byte aligned */
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x27), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	assert_true(st.inject_has_error_code);
	assert_int_equal(st.rip, 0x400000);
	st.gpr[RDI] = XA;
	st.cr4 = 0;
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x27), 0);
	assert_int_equal(st.inject_vector, X86_VEC_UD);
	st.cr4 = X86_CR4_OSXSAVE;
	st.cr0 = X86_CR0_TS;
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x27), 0);
	assert_int_equal(st.inject_vector, X86_VEC_NM);
	st.cr0 = 0;
	/* Into read-only memory: #PF (write, present) at its first byte, nothing written. */
	st.gpr[RDI] = RO_START - 1024;
	memset(gm(RO_START - 1024), 0xee, 1024);
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x27), 0);
	assert_int_equal(st.inject_vector, X86_VEC_PF);
	assert_int_equal(st.inject_error_code, X86_PF_WRITE | X86_PF_PRESENT);
	assert_int_equal(st.cr2, RO_START);
	assert_int_equal(st.rip, 0x400000);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(gm(RO_START - 1024)[i], 0xee);
	/* Starting below memory: not present, at the area's first byte. */
	st.gpr[RDI] = MEM_BASE - 64;
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x27), 0);
	assert_int_equal(st.inject_vector, X86_VEC_PF);
	assert_int_equal(st.inject_error_code, X86_PF_WRITE);
	assert_int_equal(st.cr2, MEM_BASE - 64);
	/* Without an extended state on offer, the family is not ours. */
	st.xlayout = NULL;
	st.gpr[RDI] = XA;
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x27), -ENOENT);
	/* The register forms of 0f ae /5 /6 are LFENCE and MFENCE. */
	st.xlayout = &xlayout;
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0xe8), -ENOENT);
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0xf0), -ENOENT);
}

/* A guest area to restore: legacy, header XSTATE_BV = BV, components patterned. */
static void guest_area(uint64_t bv)
{
	for (int i = 0; i < 2688; i++)
		gm(XA)[i] = (uint8_t)(i * 3 + 5);
	memcpy(gm(XA + 24), &(uint32_t){ 0x1fa0 }, 4);
	memset(gm(XA + 512), 0, 64);
	put64(XA + 512, bv);
}

static void test_xrstor_loads_and_inits(void **state)
{
	enum emu_insn w;
	uint16_t fcw;
	static const uint8_t zeros[1024];

	(void)state;
	guest_area(0xe7);
	st.gpr[RDI] = XA;
	set_rfbm(~0ULL);
	assert_int_equal(EMU(&w, 0x48, 0x0f, 0xae, 0x2f), 0); /* xrstor64 [rdi] */
	assert_int_equal(w, EMU_XRSTOR);
	assert_int_equal(st.inject_vector, -1);
	assert_int_equal(st.rip, 0x400004);
	assert_true(xs.area_changed);
	assert_memory_equal(area, gm(XA), 24);
	assert_memory_equal(area + 24, gm(XA + 24), 4);
	assert_int_equal(*(uint32_t *)(area + 28), 0xffff); /* MXCSR_MASK is the CPU's */
	assert_memory_equal(area + 32, gm(XA + 32), 416 - 32);
	assert_memory_equal(area + 576, gm(XA + 576), 256);
	assert_memory_equal(area + 1088, gm(XA + 1088), 2688 - 1088);
	assert_int_equal(get64(XA + 512), 0xe7);
	assert_int_equal(*(uint64_t *)(area + 512), 0xe7);

	/* Components whose XSTATE_BV bit is clear go to their initial state. */
	xs.area_changed = false;
	guest_area(0x2); /* only SSE */
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	memcpy(&fcw, area, 2);
	assert_int_equal(fcw, 0x037f);
	assert_memory_equal(area + 2, zeros, 22);
	assert_memory_equal(area + 32, zeros, 128);
	assert_memory_equal(area + 160, gm(XA + 160), 256);
	assert_memory_equal(area + 576, zeros, 256);
	assert_memory_equal(area + 1088, zeros, 1024);
	assert_int_equal(*(uint64_t *)(area + 512), 0x2);

	/* Outside RFBM nothing changes, however XSTATE_BV reads. */
	for (size_t i = 0; i < AREA_SIZE; i++)
		area[i] = (uint8_t)i;
	memset(area + 512, 0, 64);
	area[512] = 0xe7;
	memcpy(area + 28, &(uint32_t){ 0xffff }, 4);
	guest_area(0xe7);
	set_rfbm(0x4); /* AVX only: MXCSR and YMM */
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(area[0], 0);
	assert_int_equal(area[160], 160);
	assert_memory_equal(area + 24, gm(XA + 24), 4);
	assert_memory_equal(area + 576, gm(XA + 576), 256);
	assert_int_equal(area[1088], (uint8_t)1088);
}

static void test_xrstor_refuses_bad_areas(void **state)
{
	uint8_t before[AREA_SIZE];

	(void)state;
	memcpy(before, area, AREA_SIZE);
	st.gpr[RDI] = XA;
	set_rfbm(~0ULL);
	/* The compacted form (we offer no XSAVEC). */
	guest_area(0x3);
	put64(XA + 520, 1ULL << 63 | 0x3);
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	assert_int_equal(st.rip, 0x400000);
	/* Reserved header bytes. */
	guest_area(0x3);
	gm(XA + 530)[0] = 1;
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	/* XSTATE_BV beyond XCR0. */
	guest_area(0x3 | 1ULL << 9);
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	/* MXCSR reserved bits. */
	guest_area(0x3);
	memcpy(gm(XA + 24), &(uint32_t){ 0x10000 }, 4);
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	/* Misaligned. */
	guest_area(0x3);
	st.gpr[RDI] = XA + 32;
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	/* Partly unmapped: #PF (read, not present) at the first missing byte. */
	st.gpr[RDI] = MEM_BASE + MEM_SIZE - 512;
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(st.inject_vector, X86_VEC_PF);
	assert_int_equal(st.inject_error_code, 0);
	assert_int_equal(st.cr2, MEM_BASE + MEM_SIZE);
	/* None of it changed the state. */
	assert_false(xs.area_changed);
	assert_memory_equal(area, before, AREA_SIZE);
	/* Read-only memory is fine to restore from. */
	memcpy(gm(RO_START), gm(XA), 64);
	st.gpr[RDI] = RO_START;
	memset(gm(RO_START), 0, 4096);
	put64(RO_START + 512, 0x1);
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), 0);
	assert_int_equal(st.inject_vector, -1);
	assert_true(xs.area_changed);
}

static void test_xgetbv_xsetbv(void **state)
{
	enum emu_insn w;
	static const uint64_t bad[] = {
		0x6,              /* no x87 */
		0x5,              /* AVX without SSE */
		0x27,             /* part of AVX-512 */
		0xe3,             /* AVX-512 without AVX */
		0x203,            /* PKRU: not supported here */
		0x0b,             /* half of MPX */
	};

	(void)state;
	st.gpr[RCX] = 0;
	assert_int_equal(EMU(&w, 0x0f, 0x01, 0xd0), 0);
	assert_int_equal(w, EMU_XGETBV);
	assert_int_equal(st.gpr[RAX], 0xe7);
	assert_int_equal(st.gpr[RDX], 0);
	assert_int_equal(st.rip, 0x400003);
	st.gpr[RCX] = 1; /* XINUSE needs XGETBV1 */
	assert_int_equal(EMU(NULL, 0x0f, 0x01, 0xd0), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);

	st.gpr[RCX] = 0;
	set_rfbm(0x7);
	assert_int_equal(EMU(&w, 0x0f, 0x01, 0xd1), 0);
	assert_int_equal(w, EMU_XSETBV);
	assert_int_equal(st.inject_vector, -1);
	assert_true(xs.xcr0_changed);
	assert_int_equal(xs.xcr0, 0x7);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		xs.xcr0_changed = false;
		set_rfbm(bad[i]);
		assert_int_equal(EMU(NULL, 0x0f, 0x01, 0xd1), 0);
		assert_int_equal(st.inject_vector, X86_VEC_GP);
		assert_false(xs.xcr0_changed);
	}
	set_rfbm(0x3);
	st.gpr[RCX] = 1; /* only XCR0 exists */
	assert_int_equal(EMU(NULL, 0x0f, 0x01, 0xd1), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	st.gpr[RCX] = 0;
	st.cpl = 3;
	assert_int_equal(EMU(NULL, 0x0f, 0x01, 0xd1), 0);
	assert_int_equal(st.inject_vector, X86_VEC_GP);
	st.cpl = 0;
	st.cr4 = 0;
	assert_int_equal(EMU(NULL, 0x0f, 0x01, 0xd1), 0);
	assert_int_equal(st.inject_vector, X86_VEC_UD);
	assert_int_equal(EMU(NULL, 0x0f, 0x01, 0xd0), 0);
	assert_int_equal(st.inject_vector, X86_VEC_UD);
	assert_int_equal(xs.xcr0, 0x7);
}

/* --- VERW -------------------------------------------------------------------- */

#define GDT (MEM_BASE + 0x3000)

static void test_verw(void **state)
{
	enum emu_insn w;

	(void)state;
	st.gdt_base = GDT;
	st.gdt_limit = 6 * 8 - 1;
	put64(GDT + 0x08, 0x00af9b000000ffffULL); /* kernel code: not writable */
	put64(GDT + 0x10, 0x00cf93000000ffffULL); /* kernel data, DPL 0, writable */
	put64(GDT + 0x18, 0x00cf91000000ffffULL); /* data, read-only */
	put64(GDT + 0x20, 0x00cff3000000ffffULL); /* user data, DPL 3, writable */
	put64(GDT + 0x28, 0x00008b000000ffffULL); /* a TSS: a system segment */
	/* verw [rip+disp32], the kernel's form, naming __KERNEL_DS. */
	memcpy(gm(MEM_BASE + 0x100), &(uint16_t){ 0x18 - 8 }, 2);
	st.rip = MEM_BASE + 0x100 - 7;
	assert_int_equal(EMU(&w, 0x0f, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x00), 0);
	assert_int_equal(w, EMU_VERW);
	assert_true(st.rflags & EFLAGS_ZF);
	assert_int_equal(st.rip, MEM_BASE + 0x100);
	/* Register forms. */
	static const struct {
		uint16_t sel;
		unsigned int cpl;
		bool zf;
	} cases[] = {
		{ 0x10, 0, true }, { 0x13, 0, false }, /* RPL 3 > DPL 0 */
		{ 0x10, 3, false },                    /* CPL 3 > DPL 0 */
		{ 0x23, 3, true }, { 0x08, 0, false }, { 0x18, 0, false }, { 0x28, 0, false },
		{ 0x00, 0, false }, { 0x03, 0, false }, /* null */
		{ 0x30, 0, false },                     /* beyond the GDT's limit */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		st.cpl = cases[i].cpl;
		st.gpr[RCX] = 0xffff0000u | cases[i].sel;
		st.rflags ^= EFLAGS_ZF; /* whatever it was, VERW decides */
		assert_int_equal(EMU(NULL, 0x0f, 0x00, 0xe9), 0); /* verw cx */
		assert_int_equal(!!(st.rflags & EFLAGS_ZF), cases[i].zf);
	}
	/* LDT selectors: none without an LDT; with one, its descriptor decides. */
	st.cpl = 0;
	st.gpr[RCX] = 0x0c;
	st.rflags |= EFLAGS_ZF;
	assert_int_equal(EMU(NULL, 0x0f, 0x00, 0xe9), 0);
	assert_false(st.rflags & EFLAGS_ZF);
	st.ldt_base = GDT + 0x100;
	st.ldt_limit = 15;
	put64(GDT + 0x108, 0x00cf93000000ffffULL);
	assert_int_equal(EMU(NULL, 0x0f, 0x00, 0xe9), 0);
	assert_true(st.rflags & EFLAGS_ZF);
	/* A GDT that is not mapped: #PF, as the CPU's descriptor read would. */
	st.gdt_base = MEM_BASE + MEM_SIZE;
	st.gpr[RCX] = 0x10;
	assert_int_equal(EMU(NULL, 0x0f, 0x00, 0xe9), 0);
	assert_int_equal(st.inject_vector, X86_VEC_PF);
	/* 0f 00 /0 (sldt) is not ours. */
	assert_int_equal(EMU(NULL, 0x0f, 0x00, 0xc1), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_int3, setup),
		cmocka_unit_test_setup(test_fwait, setup),
		cmocka_unit_test_setup(test_clac_stac, setup),
		cmocka_unit_test_setup(test_popcnt_registers, setup),
		cmocka_unit_test_setup(test_popcnt_memory_forms, setup),
		cmocka_unit_test_setup(test_rip_relative, setup),
		cmocka_unit_test_setup(test_segment_and_address_size, setup),
		cmocka_unit_test_setup(test_cmpxchg16b, setup),
		cmocka_unit_test_setup(test_cmpxchg16b_misaligned_gp, setup),
		cmocka_unit_test_setup(test_cmpxchg8b, setup),
		cmocka_unit_test_setup(test_ldmxcsr_stmxcsr, setup),
		cmocka_unit_test_setup(test_ldmxcsr_reserved_bits_gp, setup),
		cmocka_unit_test_setup(test_memory_faults, setup),
		cmocka_unit_test_setup(test_refused, setup),
		cmocka_unit_test_setup(test_xsave_standard, setup),
		cmocka_unit_test_setup(test_xsave_partial_rfbm_and_init_components, setup),
		cmocka_unit_test_setup(test_xsave_faults, setup),
		cmocka_unit_test_setup(test_xrstor_loads_and_inits, setup),
		cmocka_unit_test_setup(test_xrstor_refuses_bad_areas, setup),
		cmocka_unit_test_setup(test_xgetbv_xsetbv, setup),
		cmocka_unit_test_setup(test_verw, setup),
	};

	return cmocka_run_group_tests_name("x86_emu", tests, NULL, NULL);
}
