/* The XSAVE family for the PVM fix-ups: XSAVE, XSAVEOPT, XRSTOR (standard
 * format), XGETBV and XSETBV, done on the vCPU's real extended state.
 *
 * On software-KVM hosts guest kernel code runs in KVM's instruction
 * emulator, which has none of these, while guest user code runs natively
 * (with the host's XCR0), AVX included: without them the guest kernel must
 * boot `noxsave` and cannot keep user processes' AVX registers apart. The caller (pvm.c) hands
 * in the state as KVM_GET_XSAVE gives it (the standard, non-compacted
 * layout, header at byte 512) and writes back what is marked changed.
 *
 * What the SDM (vol. 1, ch. 13) asks of each, and what we do:
 * - #UD without CR4.OSXSAVE, #NM with CR0.TS, #GP unless the area is 64-byte
 *   aligned; a page of the area that is not mapped (or not writable, for
 *   XSAVE) is a #PF at its first byte, with nothing loaded.
 * - RFBM = XCR0 & EDX:EAX. XSAVE writes the components in RFBM that are in
 *   use, MXCSR with SSE or AVX, and XSTATE_BV's RFBM bits; it never writes
 *   bytes 416..511 (software's) or the rest of the header. XSAVEOPT may do
 *   the same as XSAVE, and does.
 * - XRSTOR reads the whole area before it changes anything: #GP for the
 *   compacted form (we offer no XSAVEC), a non-zero XCOMP_BV or reserved
 *   header bytes, XSTATE_BV bits outside XCR0, or MXCSR reserved bits; then
 *   each RFBM component is loaded where XSTATE_BV says so and set to its
 *   initial state where not.
 * - XGETBV: ECX 0 only. XSETBV: CPL 0, ECX 0, and a value the CPU allows
 *   (x87 on, AVX needs SSE, AVX-512's three bits together and with AVX, the
 *   AMX pair together, nothing the host does not support); else #GP.
 * Pure: no KVM, no globals; unit-tested in tests/unit/test_x86_emu.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x86_emu.h"
#include "x86_emu_insn.h"

#define LEGACY_X87_END 24    /* FCW FSW FTW FOP FIP FDP: bytes 0..23 */
#define LEGACY_MXCSR 24      /* MXCSR, MXCSR_MASK: bytes 24..31 */
#define LEGACY_ST 32         /* ST0..ST7 / MM0..MM7: bytes 32..159 */
#define LEGACY_ST_END 160
#define LEGACY_XMM 160       /* XMM0..XMM15: bytes 160..415 */
#define LEGACY_XMM_END 416
#define HDR_END (XSAVE_HDR_OFFSET + XSAVE_HDR_SIZE)
#define MXCSR_MASK_DEFAULT 0x0000ffbfu
#define FCW_INIT 0x037f

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Copy between guest-virtual [gva, gva+len) and BUF, a page at a time.
 * Returns 1 when all was copied, 0 with the guest's fault queued (#PF at the
 * first byte it may not access, or #GP), or -EFAULT (the VMM gives up: not
 * RAM). With BUF NULL, only checks every page. */
static int guest_copy(struct emu_state *st, const struct emu_mem *mem, uint64_t gva, uint8_t *buf,
		      uint32_t len, bool write)
{
	while (len) {
		uint32_t chunk = 4096 - (uint32_t)(gva & 4095);
		uint8_t *p;
		int ret;

		if (chunk > len)
			chunk = len;
		p = emu_map(st, mem, gva, chunk, write, &ret);
		if (!p)
			return ret;
		if (buf) {
			if (write)
				memcpy(p, buf, chunk);
			else
				memcpy(buf, p, chunk);
			buf += chunk;
		}
		gva += chunk;
		len -= chunk;
	}
	return 1;
}

/* What the whole family checks first: an extended state on offer (else
 * the instruction is not ours: -ENOENT) and CR4.OSXSAVE (else #UD). 1 to go
 * on, 0 with #UD queued, -ENOENT. */
static int xfamily_check(struct emu_state *st, const struct emu_mem *mem)
{
	if (!st->xlayout || !mem->xstate)
		return -ENOENT;
	if (!(st->cr4 & X86_CR4_OSXSAVE)) {
		emu_raise(st, X86_VEC_UD, false, 0);
		return 0;
	}
	return 1;
}

/* Bytes of the area the components in RFBM span, or 0 if one lies outside
 * the state KVM gave us (a layout we cannot serve). */
static uint32_t area_extent(const struct emu_xlayout *xl, const struct emu_xstate *xs, uint64_t rfbm)
{
	uint32_t end = HDR_END;

	for (unsigned int i = 2; i < EMU_XFEATURES; i++) {
		uint32_t e;

		if (!(rfbm & (1ULL << i)))
			continue;
		e = xl->offset[i] + xl->size[i];
		if (!xl->size[i] || xl->offset[i] < HDR_END || e < xl->offset[i] || e > xs->area_size)
			return 0;
		if (e > end)
			end = e;
	}
	return end;
}

/* #UD, #NM and alignment checks shared by XSAVE and XRSTOR; loads the
 * state, RFBM (XCR0 & EDX:EAX) and the bytes of the area those components
 * span. Returns the state, or NULL with an exception queued (*RET 0) or an
 * error (*RET < 0). */
static struct emu_xstate *xsave_prologue(struct emu_state *st, const struct insn *in, const struct emu_mem *mem,
					 uint64_t *rfbm, uint32_t *extent, int *ret)
{
	struct emu_xstate *xs;

	*ret = xfamily_check(st, mem);
	if (*ret <= 0)
		return NULL;
	*ret = 0;
	if (st->cr0 & X86_CR0_TS) {
		emu_raise(st, X86_VEC_NM, false, 0);
		return NULL;
	}
	if (in->ea & 63) {
		emu_raise(st, X86_VEC_GP, true, 0);
		return NULL;
	}
	xs = mem->xstate(mem->ctx);
	if (!xs) {
		*ret = -EIO;
		return NULL;
	}
	*rfbm = xs->xcr0 & ((st->gpr[R_DX] << 32) | (uint32_t)st->gpr[R_AX]);
	*extent = xs->area_size < HDR_END ? 0 : area_extent(st->xlayout, xs, *rfbm);
	if (!*extent) {
		*ret = -EINVAL;
		return NULL;
	}
	return xs;
}


int emu_exec_xsave(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	struct emu_xstate *xs;
	uint8_t hdr[8] = { 0 };
	uint64_t rfbm, xinuse;
	uint32_t extent;
	int ret;

	xs = xsave_prologue(st, in, mem, &rfbm, &extent, &ret);
	if (!xs)
		return ret;
	/* Every page writable, and the old XSTATE_BV read, before the first
	 * byte is written. Another vCPU may still unmap a page meanwhile: each
	 * copy below stops at the first fault (a partly written area is what
	 * the CPU leaves too). */
	ret = guest_copy(st, mem, in->ea, NULL, extent, true);
	if (ret <= 0)
		return ret;
	ret = guest_copy(st, mem, in->ea + XSAVE_HDR_OFFSET, hdr, 8, false);
	if (ret <= 0)
		return ret;
	/* XINUSE as KVM keeps it: a component outside it is in its initial
	 * state, and XSAVE need not write it (its XSTATE_BV bit says so). */
	xinuse = rd64(xs->area + XSAVE_HDR_OFFSET);
	wr64(hdr, (rd64(hdr) & ~rfbm) | (xinuse & rfbm));

	struct {
		bool on;
		uint32_t off, len;
	} part[EMU_XFEATURES + 4] = {
		{ rfbm & XFEATURE_X87, 0, LEGACY_X87_END },
		{ rfbm & XFEATURE_X87, LEGACY_ST, LEGACY_ST_END - LEGACY_ST },
		{ rfbm & (XFEATURE_SSE | XFEATURE_YMM), LEGACY_MXCSR, 8 },
		{ rfbm & XFEATURE_SSE, LEGACY_XMM, LEGACY_XMM_END - LEGACY_XMM },
	};
	unsigned int nparts = 4;

	for (unsigned int i = 2; i < EMU_XFEATURES; i++) {
		uint64_t bit = 1ULL << i;

		if ((rfbm & bit) && (xinuse & bit))
			part[nparts++] = (typeof(part[0])){ true, st->xlayout->offset[i], st->xlayout->size[i] };
	}
	for (unsigned int i = 0; i < nparts; i++) {
		if (!part[i].on)
			continue;
		ret = guest_copy(st, mem, in->ea + part[i].off, xs->area + part[i].off, part[i].len, true);
		if (ret <= 0)
			return ret;
	}
	ret = guest_copy(st, mem, in->ea + XSAVE_HDR_OFFSET, hdr, 8, true);
	return ret < 0 ? ret : 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Load component [off, off+len) from IMG if LOAD, else its initial state (zeros). */
static void load_or_init(uint8_t *area, const uint8_t *img, uint32_t off, uint32_t len, bool load)
{
	if (load)
		memcpy(area + off, img + off, len);
	else
		memset(area + off, 0, len);
}

int emu_exec_xrstor(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	static const uint8_t zero[16];
	struct emu_xstate *xs;
	uint64_t rfbm, bv, kbv;
	uint32_t extent, mxcsr, mask;
	uint8_t *img, *area;
	int ret;

	xs = xsave_prologue(st, in, mem, &rfbm, &extent, &ret);
	if (!xs)
		return ret;
	img = malloc(extent);
	if (!img)
		return -ENOMEM;
	/* All of it read (and checked) before anything changes. */
	ret = guest_copy(st, mem, in->ea, img, extent, false);
	if (ret <= 0)
		goto out;
	ret = 0;
	bv = rd64(img + XSAVE_HDR_OFFSET);
	/* XCOMP_BV (bit 63: the compacted form, which needs XSAVEC) and the
	 * reserved bytes after it must be zero; XSTATE_BV within XCR0. */
	if (memcmp(img + XSAVE_HDR_OFFSET + 8, zero, 16) || (bv & ~xs->xcr0)) {
		emu_raise(st, X86_VEC_GP, true, 0);
		goto out;
	}
	area = xs->area;
	if (rfbm & (XFEATURE_SSE | XFEATURE_YMM)) {
		mxcsr = rd32(img + LEGACY_MXCSR);
		mask = rd32(area + LEGACY_MXCSR + 4);
		if (!mask)
			mask = MXCSR_MASK_DEFAULT;
		if (mxcsr & ~mask) {
			emu_raise(st, X86_VEC_GP, true, 0);
			goto out;
		}
		memcpy(area + LEGACY_MXCSR, &mxcsr, 4); /* MXCSR_MASK stays the CPU's */
	}
	if (rfbm & XFEATURE_X87) {
		load_or_init(area, img, 0, LEGACY_X87_END, bv & XFEATURE_X87);
		load_or_init(area, img, LEGACY_ST, LEGACY_ST_END - LEGACY_ST, bv & XFEATURE_X87);
		if (!(bv & XFEATURE_X87)) {
			const uint16_t fcw = FCW_INIT;

			memcpy(area, &fcw, 2);
		}
	}
	if (rfbm & XFEATURE_SSE)
		load_or_init(area, img, LEGACY_XMM, LEGACY_XMM_END - LEGACY_XMM, bv & XFEATURE_SSE);
	for (unsigned int i = 2; i < EMU_XFEATURES; i++) {
		uint64_t bit = 1ULL << i;

		if (rfbm & bit)
			load_or_init(area, img, st->xlayout->offset[i], st->xlayout->size[i], bv & bit);
	}
	kbv = (rd64(area + XSAVE_HDR_OFFSET) & ~rfbm) | (bv & rfbm);
	/* KVM_SET_XSAVE takes MXCSR only with SSE or AVX marked in use; the
	 * CPU loads it whenever RFBM has either. SSE in use with its initial
	 * (zero) registers is the same state. */
	if (rfbm & (XFEATURE_SSE | XFEATURE_YMM))
		kbv |= XFEATURE_SSE;
	wr64(area + XSAVE_HDR_OFFSET, kbv);
	xs->area_changed = true;
out:
	free(img);
	return ret;
}

int emu_exec_xgetbv(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	struct emu_xstate *xs;

	int ret = xfamily_check(st, mem);

	(void)in;
	if (ret <= 0)
		return ret;
	/* ECX 1 (XINUSE) needs XGETBV1, which the guest is not offered. */
	if ((uint32_t)st->gpr[R_CX] != 0) {
		emu_raise(st, X86_VEC_GP, true, 0);
		return 0;
	}
	xs = mem->xstate(mem->ctx);
	if (!xs)
		return -EIO;
	st->gpr[R_AX] = (uint32_t)xs->xcr0;
	st->gpr[R_DX] = xs->xcr0 >> 32;
	return 0;
}

/* Whether the CPU would take V as XCR0. */
static bool xcr0_valid(uint64_t v, uint64_t supported)
{
	if (!(v & XFEATURE_X87) || (v & ~supported))
		return false;
	if ((v & XFEATURE_YMM) && !(v & XFEATURE_SSE))
		return false;
	if ((v & XFEATURE_AVX512) && ((v & XFEATURE_AVX512) != XFEATURE_AVX512 || !(v & XFEATURE_YMM)))
		return false;
	if ((v & XFEATURE_MPX) && (v & XFEATURE_MPX) != XFEATURE_MPX)
		return false;
	if ((v & XFEATURE_AMX) && (v & XFEATURE_AMX) != XFEATURE_AMX)
		return false;
	return true;
}

int emu_exec_xsetbv(struct emu_state *st, const struct insn *in, const struct emu_mem *mem)
{
	uint64_t v = (st->gpr[R_DX] << 32) | (uint32_t)st->gpr[R_AX];
	struct emu_xstate *xs;

	int ret = xfamily_check(st, mem);

	(void)in;
	if (ret <= 0)
		return ret;
	if (st->cpl != 0 || (uint32_t)st->gpr[R_CX] != 0 || !xcr0_valid(v, st->xlayout->xcr0_supported)) {
		emu_raise(st, X86_VEC_GP, true, 0);
		return 0;
	}
	xs = mem->xstate(mem->ctx);
	if (!xs)
		return -EIO;
	xs->xcr0 = v;
	xs->xcr0_changed = true;
	return 0;
}
