/* The PVM fix-up emulator: every instruction in its table and every operand
 * form (register, [reg], [reg+disp8], [base+index*scale+disp32], RIP-relative,
 * REX-extended registers, 16/32/64-bit sizes, FS/GS and address-size
 * prefixes), the exceptions it raises, and what it refuses. */
#include <errno.h>
#include <string.h>

#include "../../vmm/x86_emu.h"
#include "test_helpers.h"

#define MEM_BASE 0x10000ULL
#define MEM_SIZE 0x10000ULL
#define RO_START (MEM_BASE + 0x8000) /* upper half is read-only */

static uint8_t mem[MEM_SIZE] __attribute__((aligned(16)));

static void *fake_map(void *ctx, uint64_t gva, uint32_t len, bool write)
{
	(void)ctx;
	if (gva < MEM_BASE || gva - MEM_BASE + len > MEM_SIZE)
		return NULL;
	if (write && gva + len > RO_START)
		return NULL;
	return mem + (gva - MEM_BASE);
}

static const struct emu_mem fmem = { .ctx = NULL, .map = fake_map };

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

static void test_memory_faults(void **state)
{
	(void)state;
	st.gpr[RBX] = 0x5; /* unmapped */
	assert_int_equal(EMU(NULL, 0xf3, 0x48, 0x0f, 0xb8, 0x03), -EFAULT);
	assert_int_equal(st.rip, 0x400000);
	st.gpr[RDI] = RO_START; /* read-only: no cmpxchg, no stmxcsr */
	assert_int_equal(EMU(NULL, 0xf0, 0x48, 0x0f, 0xc7, 0x0f), -EFAULT);
	st.gpr[RAX] = RO_START;
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x18), -EFAULT);
	/* ...but reading it is fine */
	assert_int_equal(EMU(NULL, 0x0f, 0xae, 0x10), 0);
}

static void test_refused(void **state)
{
	(void)state;
	/* Not in the table. */
	assert_int_equal(EMU(NULL, 0x90), -ENOENT);                    /* nop */
	assert_int_equal(EMU(NULL, 0x48, 0x0f, 0xae, 0x2f), -ENOENT);  /* xrstor [rdi] */
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
	};

	return cmocka_run_group_tests_name("x86_emu", tests, NULL, NULL);
}
