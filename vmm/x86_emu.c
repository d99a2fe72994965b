/* Decoder and emulator for the PVM fix-up instructions (see x86_emu.h).
 *
 * Decoding follows the SDM's order: legacy prefixes, REX, opcode (one byte or
 * 0F xx), ModRM, SIB, displacement. None of the table's instructions has an
 * immediate, so the instruction ends after the displacement, which is what
 * RIP-relative addressing is relative to. */
#include "x86_emu.h"
#include "x86_emu_insn.h"

#include <errno.h>
#include <string.h>

const char *const emu_insn_names[EMU_NR_INSNS] = {
	[EMU_INT3] = "int3",
	[EMU_FWAIT] = "fwait",
	[EMU_CLAC] = "clac",
	[EMU_STAC] = "stac",
	[EMU_POPCNT] = "popcnt",
	[EMU_CMPXCHG8B] = "cmpxchg8b",
	[EMU_CMPXCHG16B] = "cmpxchg16b",
	[EMU_LDMXCSR] = "ldmxcsr",
	[EMU_STMXCSR] = "stmxcsr",
	[EMU_VERW] = "verw",
	[EMU_XSAVE] = "xsave",
	[EMU_XSAVEOPT] = "xsaveopt",
	[EMU_XRSTOR] = "xrstor",
	[EMU_XGETBV] = "xgetbv",
	[EMU_XSETBV] = "xsetbv",
};

#define MAX_INSN_LEN 15
#define MXCSR_RESERVED 0xffff0000u


enum { PFX_NONE, PFX_F3 };

struct insn_def {
	enum emu_insn id;
	bool twobyte;
	uint8_t op;
	bool modrm;      /* has a ModRM byte */
	int modrm_exact; /* the whole ModRM byte must be this (-1: any) */
	int reg;         /* ModRM.reg must be this (-1: any) */
	bool mem_only;   /* ModRM must address memory */
	int prefix;      /* mandatory prefix */
	int (*exec)(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
};

static int exec_int3(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_fwait(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_clac(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_stac(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_popcnt(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_cmpxchg8b16b(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_ldmxcsr(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_stmxcsr(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
static int exec_verw(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);

static const struct insn_def table[] = {
	{ EMU_INT3, false, 0xcc, false, -1, -1, false, PFX_NONE, exec_int3 },
	{ EMU_FWAIT, false, 0x9b, false, -1, -1, false, PFX_NONE, exec_fwait },
	{ EMU_CLAC, true, 0x01, true, 0xca, -1, false, PFX_NONE, exec_clac },
	{ EMU_STAC, true, 0x01, true, 0xcb, -1, false, PFX_NONE, exec_stac },
	{ EMU_POPCNT, true, 0xb8, true, -1, -1, false, PFX_F3, exec_popcnt },
	/* CMPXCHG8B, or CMPXCHG16B with REX.W: decided in exec. */
	{ EMU_CMPXCHG8B, true, 0xc7, true, -1, 1, true, PFX_NONE, exec_cmpxchg8b16b },
	{ EMU_LDMXCSR, true, 0xae, true, -1, 2, true, PFX_NONE, exec_ldmxcsr },
	{ EMU_STMXCSR, true, 0xae, true, -1, 3, true, PFX_NONE, exec_stmxcsr },
	/* The MDS mitigation's VERW on the way back to user mode (stock kernels). */
	{ EMU_VERW, true, 0x00, true, -1, 5, false, PFX_NONE, exec_verw },
	/* The XSAVE family (x86_xsave.c); REX.W selects the 64-bit forms, which
	 * differ only in the x87 FIP/FDP layout, kept as the state has it. The
	 * register forms of 0F AE /5 /6 are LFENCE and MFENCE: not ours. */
	{ EMU_XSAVE, true, 0xae, true, -1, 4, true, PFX_NONE, emu_exec_xsave },
	{ EMU_XRSTOR, true, 0xae, true, -1, 5, true, PFX_NONE, emu_exec_xrstor },
	{ EMU_XSAVEOPT, true, 0xae, true, -1, 6, true, PFX_NONE, emu_exec_xsave },
	{ EMU_XGETBV, true, 0x01, true, 0xd0, -1, false, PFX_NONE, emu_exec_xgetbv },
	{ EMU_XSETBV, true, 0x01, true, 0xd1, -1, false, PFX_NONE, emu_exec_xsetbv },
};

static int fetch(const uint8_t *code, size_t n, size_t *pos, void *dst, size_t len)
{
	if (*pos + len > n || *pos + len > MAX_INSN_LEN)
		return -EINVAL;
	memcpy(dst, code + *pos, len);
	*pos += len;
	return 0;
}

static int decode_prefixes(const uint8_t *code, size_t n, size_t *pos, struct insn *in)
{
	for (;;) {
		uint8_t b;

		if (fetch(code, n, pos, &b, 1))
			return -EINVAL;
		switch (b) {
		case 0x66: in->opsize = true; continue;
		case 0x67: in->addrsize = true; continue;
		case 0xf0: in->lock = true; continue;
		case 0xf2: in->repne = true; in->rep = false; continue;
		case 0xf3: in->rep = true; in->repne = false; continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e: continue; /* no effect in 64-bit mode */
		case 0x64: case 0x65: in->seg = b; continue;
		default: break;
		}
		/* REX counts only immediately before the opcode. */
		if ((b & 0xf0) == 0x40) {
			in->rex = b;
			if (fetch(code, n, pos, &b, 1))
				return -EINVAL;
		}
		if (b == 0x0f) {
			in->twobyte = true;
			if (fetch(code, n, pos, &b, 1))
				return -EINVAL;
		}
		in->op = b;
		return 0;
	}
}

static int decode_modrm(const struct emu_state *st, const uint8_t *code, size_t n, size_t *pos,
			struct insn *in)
{
	uint8_t mod, sib;
	uint64_t ea = 0;
	bool rip_rel = false;

	if (fetch(code, n, pos, &in->modrm, 1))
		return -EINVAL;
	mod = in->modrm >> 6;
	in->reg = (uint8_t)(((in->modrm >> 3) & 7) | (REX_R(in) << 3));
	in->rm = (uint8_t)((in->modrm & 7) | (REX_B(in) << 3));
	in->has_modrm = true;
	if (mod == 3) {
		in->is_reg = true;
		return 0;
	}

	if ((in->modrm & 7) == 4) {
		uint8_t index, base;

		if (fetch(code, n, pos, &sib, 1))
			return -EINVAL;
		index = (uint8_t)(((sib >> 3) & 7) | (REX_X(in) << 3));
		base = (uint8_t)((sib & 7) | (REX_B(in) << 3));
		if (index != 4) /* index 4 without REX.X means "no index" */
			ea += st->gpr[index] << (sib >> 6);
		if ((sib & 7) == 5 && mod == 0) {
			int32_t d32;

			if (fetch(code, n, pos, &d32, 4))
				return -EINVAL;
			ea += (uint64_t)(int64_t)d32;
		} else {
			ea += st->gpr[base];
		}
	} else if ((in->modrm & 7) == 5 && mod == 0) {
		int32_t d32;

		if (fetch(code, n, pos, &d32, 4))
			return -EINVAL;
		ea = (uint64_t)(int64_t)d32;
		rip_rel = true;
	} else {
		ea = st->gpr[in->rm];
	}

	if (mod == 1) {
		int8_t d8;

		if (fetch(code, n, pos, &d8, 1))
			return -EINVAL;
		ea += (uint64_t)(int64_t)d8;
	} else if (mod == 2) {
		int32_t d32;

		if (fetch(code, n, pos, &d32, 4))
			return -EINVAL;
		ea += (uint64_t)(int64_t)d32;
	}
	/* No immediates follow in our table: the instruction ends here. */
	if (rip_rel)
		ea += st->rip + *pos;
	if (in->addrsize)
		ea &= 0xffffffffULL;
	if (in->seg == 0x64)
		ea += st->fs_base;
	else if (in->seg == 0x65)
		ea += st->gs_base;
	in->ea = ea;
	return 0;
}

static bool def_matches(const struct insn_def *d, const struct insn *in, uint8_t modrm)
{
	if (d->twobyte != in->twobyte || d->op != in->op)
		return false;
	if (d->prefix == PFX_F3 && !in->rep)
		return false;
	/* Two-byte opcodes change meaning with 66/F2/F3: none may be present. */
	if (d->prefix == PFX_NONE && d->twobyte && (in->rep || in->repne || in->opsize))
		return false;
	if (!d->modrm)
		return true;
	if (d->modrm_exact >= 0 && modrm != d->modrm_exact)
		return false;
	if (d->reg >= 0 && ((modrm >> 3) & 7) != d->reg)
		return false;
	if (d->mem_only && (modrm >> 6) == 3)
		return false;
	return true;
}

int x86_emulate(struct emu_state *st, const uint8_t *code, size_t code_len, const struct emu_mem *mem,
		enum emu_insn *which)
{
	struct insn in;
	size_t pos = 0;
	const struct insn_def *def = NULL;
	int ret;

	memset(&in, 0, sizeof(in));
	st->inject_vector = -1;
	st->inject_has_error_code = false;
	st->mxcsr_changed = false;

	ret = decode_prefixes(code, code_len, &pos, &in);
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		/* Peek at the ModRM byte (if any) to pick the entry, then decode it fully. */
		uint8_t modrm = pos < code_len ? code[pos] : 0;

		if (table[i].modrm && pos >= code_len)
			continue;
		if (def_matches(&table[i], &in, modrm)) {
			def = &table[i];
			break;
		}
	}
	if (!def)
		return -ENOENT;
	if (def->modrm) {
		ret = decode_modrm(st, code, code_len, &pos, &in);
		if (ret)
			return ret;
	}
	in.len = pos;
	*which = def->id;
	/* LOCK is allowed on CMPXCHG8B/16B with a memory operand only. */
	if (in.lock && def->id != EMU_CMPXCHG8B) {
		emu_raise(st, X86_VEC_UD, false, 0);
		return 0;
	}
	ret = def->exec(st, &in, mem);
	/* Traps (#BP) are delivered after the instruction, faults at it. */
	if (ret == 0 && (st->inject_vector < 0 || st->inject_vector == X86_VEC_BP))
		st->rip += in.len;
	if (ret == 0 && def->id == EMU_CMPXCHG8B && REX_W(&in))
		*which = EMU_CMPXCHG16B;
	return ret;
}

void emu_raise(struct emu_state *st, int vector, bool has_error_code, uint32_t error_code)
{
	st->inject_vector = vector;
	st->inject_has_error_code = has_error_code;
	st->inject_error_code = error_code;
}

void *emu_map(struct emu_state *st, const struct emu_mem *mem, uint64_t gva, uint32_t len, bool write, int *ret)
{
	struct emu_fault f = { .vector = -1 };
	void *p = mem->map(mem->ctx, gva, len, write, &f);

	*ret = 0;
	if (p)
		return p;
	if (f.vector == X86_VEC_PF) {
		st->cr2 = f.addr;
		emu_raise(st, X86_VEC_PF, true, f.error_code);
	} else if (f.vector == X86_VEC_GP) {
		emu_raise(st, X86_VEC_GP, true, 0);
	} else {
		*ret = -EFAULT;
	}
	return NULL;
}

static void raise_gp(struct emu_state *st)
{
	emu_raise(st, X86_VEC_GP, true, 0);
}

static int exec_int3(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	(void)in;
	(void)mem;
	/* A trap: the #BP is delivered with RIP already past the 0xcc. */
	st->inject_vector = X86_VEC_BP;
	return 0;
}

static int exec_fwait(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	(void)st;
	(void)in;
	(void)mem;
	/* Nothing to wait for: the guest kernel has no pending x87 exceptions here. */
	return 0;
}

static int exec_clac(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	(void)in;
	(void)mem;
	st->rflags &= ~EFLAGS_AC;
	return 0;
}

static int exec_stac(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	(void)in;
	(void)mem;
	st->rflags |= EFLAGS_AC;
	return 0;
}

/* 1 with *VAL read; 0 with a fault queued; -EFAULT. */
static int read_operand(const struct insn *in, struct emu_state *st, const struct emu_mem *mem, uint32_t size,
			uint64_t *val)
{
	const void *p;
	int ret;

	if (in->is_reg) {
		*val = st->gpr[in->rm];
		return 1;
	}
	p = emu_map(st, mem, in->ea, size, false, &ret);
	if (!p)
		return ret;
	*val = 0;
	memcpy(val, p, size);
	return 1;
}

static int exec_popcnt(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	uint32_t size = REX_W(in) ? 8 : in->opsize ? 2 : 4;
	uint64_t src, count;
	int ret;

	ret = read_operand(in, st, mem, size, &src);
	if (ret <= 0)
		return ret;
	if (size < 8)
		src &= (1ULL << (size * 8)) - 1;
	count = (uint64_t)__builtin_popcountll(src);
	if (size == 2)
		st->gpr[in->reg] = (st->gpr[in->reg] & ~0xffffULL) | count;
	else
		st->gpr[in->reg] = count; /* 32-bit results zero-extend */
	st->rflags &= ~(EFLAGS_OF | EFLAGS_SF | EFLAGS_ZF | EFLAGS_AF | EFLAGS_CF | EFLAGS_PF);
	if (src == 0)
		st->rflags |= EFLAGS_ZF;
	return 0;
}

static int exec_cmpxchg8b16b(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	bool wide = REX_W(in);
	uint32_t size = wide ? 16 : 8;
	void *p;
	bool equal;
	int ret;

	if (wide && (in->ea & 15)) { /* CMPXCHG16B needs a 16-byte aligned operand */
		raise_gp(st);
		return 0;
	}
	p = emu_map(st, mem, in->ea, size, true, &ret);
	if (!p)
		return ret;
	/* Run the real (locked) instruction on the guest's memory: other vCPUs may
	 * be touching it concurrently. */
	if (wide) {
		uint64_t lo = st->gpr[R_AX], hi = st->gpr[R_DX];

		__asm__ volatile("lock cmpxchg16b %1"
				 : "=@ccz"(equal), "+m"(*(volatile unsigned __int128 *)p), "+a"(lo), "+d"(hi)
				 : "b"(st->gpr[R_BX]), "c"(st->gpr[R_CX])
				 : "memory");
		if (!equal) {
			st->gpr[R_AX] = lo;
			st->gpr[R_DX] = hi;
		}
	} else {
		uint32_t lo = (uint32_t)st->gpr[R_AX], hi = (uint32_t)st->gpr[R_DX];

		__asm__ volatile("lock cmpxchg8b %1"
				 : "=@ccz"(equal), "+m"(*(volatile uint64_t *)p), "+a"(lo), "+d"(hi)
				 : "b"((uint32_t)st->gpr[R_BX]), "c"((uint32_t)st->gpr[R_CX])
				 : "memory");
		if (!equal) {
			st->gpr[R_AX] = lo;
			st->gpr[R_DX] = hi;
		}
	}
	if (equal)
		st->rflags |= EFLAGS_ZF;
	else
		st->rflags &= ~EFLAGS_ZF;
	return 0;
}

static int exec_ldmxcsr(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	int ret;
	const void *p = emu_map(st, mem, in->ea, 4, false, &ret);
	uint32_t v;

	if (!p)
		return ret;
	memcpy(&v, p, 4);
	if (v & MXCSR_RESERVED) {
		raise_gp(st);
		return 0;
	}
	st->mxcsr = v;
	st->mxcsr_changed = true;
	return 0;
}

static int exec_stmxcsr(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	int ret;
	void *p = emu_map(st, mem, in->ea, 4, true, &ret);

	if (!p)
		return ret;
	memcpy(p, &st->mxcsr, 4);
	return 0;
}

/* VERW: ZF = 1 if the selector names a writable data segment accessible at
 * the current privilege, else 0. Nothing else is architecturally visible
 * (the buffer flush it stands for in the MDS mitigation has no meaning
 * here). */
static int exec_verw(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	uint64_t sel = 0, desc, base;
	unsigned int rpl, dpl;
	uint16_t limit;
	uint8_t access;
	const void *p;
	int ret;

	ret = read_operand(in, st, mem, 2, &sel);
	if (ret <= 0)
		return ret;
	sel &= 0xffff;
	st->rflags &= ~EFLAGS_ZF;
	if ((sel & ~3ULL) == 0) /* the null selector */
		return 0;
	base = (sel & 4) ? st->ldt_base : st->gdt_base;
	limit = (sel & 4) ? st->ldt_limit : st->gdt_limit;
	if ((sel & ~7ULL) + 7 > limit)
		return 0;
	p = emu_map(st, mem, base + (sel & ~7ULL), 8, false, &ret);
	if (!p)
		return ret;
	memcpy(&desc, p, 8);
	access = (uint8_t)(desc >> 40);
	dpl = (access >> 5) & 3;
	rpl = sel & 3;
	/* S = 1 (code/data), type bit 3 = 0 (data), bit 1 = 1 (writable). */
	if ((access & 0x10) && !(access & 0x08) && (access & 0x02) && dpl >= st->cpl && dpl >= rpl)
		st->rflags |= EFLAGS_ZF;
	return 0;
}
