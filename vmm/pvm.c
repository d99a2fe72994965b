/* Software-KVM (PVM) host support: detection, the guest command-line
 * workarounds, and the glue that completes, through x86_emu.c, the few
 * instructions PVM's emulator gives up on (KVM_EXIT_INTERNAL_ERROR,
 * suberror 1). On hardware KVM none of this is used: the exits never occur,
 * and an internal error there stays fatal. See
 * shared/reference/kvm-host-notes.md for the evidence behind each item. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../boot/cmdline.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "vm.h"
#include "x86_walk.h"

/* Features whose instructions PVM's emulator cannot run in guest kernel code:
 * POPCNT, CLAC/STAC (smap), CMPXCHG16B (cx16), and the SIMD extensions the
 * kernel's crypto and hashing code would pick (the kernel only; user space
 * sees the host's CPUID and may use AVX). XSAVE and XRSTOR run through our
 * fix-ups (x86_xsave.c), so the guest kernel keeps every process's AVX
 * state; XSAVEOPT, XSAVEC, XSAVES and XGETBV1 are hidden so that it uses
 * exactly those two (the compacted and supervisor forms are not emulated).
 * The
 * syscall fix-up and hypercall avoidance are our guest kernel patch
 * (guest-kernel-config/patches), switched on by hopx.pvm=1.
 * rodata=off is for speed, not correctness: write-protecting the kernel's
 * text and data page by page (change_page_attr) was ~16% of the emulated
 * instructions of a boot here. The sandbox boundary is the VM; hardware
 * hosts, where that work costs microseconds, keep it. */
static const char pvm_cmdline_extra[] =
	"clearcpuid=xsaveopt,xsavec,xsaves,xgetbv1,popcnt,smap,cx16,ssse3,sse4_1,sse4_2,aes,pclmulqdq,"
	"sha_ni,gfni,vaes,vpclmulqdq hopx.pvm=1 rodata=off";

bool pvm_detect(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

int pvm_cmdline(char *cmdline, size_t size)
{
	if (cmdline_add(cmdline, size, pvm_cmdline_extra)) {
		pr_err("kernel command line too long to add the software-KVM workarounds: shorten --cmdline");
		return -E2BIG;
	}
	return 0;
}

struct xlate_ctx {
	struct vcpu *v;
	/* The guest's paging registers and privilege, for walking its tables. */
	struct x86_paging pg;
	bool user;
	/* The extended state, read on the first use in one fix-up. */
	struct emu_xstate xs;
	bool xs_loaded;
};

void pvm_xlayout_init(struct emu_xlayout *xl, const struct kvm_cpuid2 *cpuid)
{
	memset(xl, 0, sizeof(*xl));
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != 0xd)
			continue;
		if (e->index == 0)
			xl->xcr0_supported = ((uint64_t)e->edx << 32) | e->eax;
		else if (e->index >= 2 && e->index < EMU_XFEATURES) {
			xl->size[e->index] = e->eax;
			xl->offset[e->index] = e->ebx;
		}
	}
}

static struct emu_xstate *load_xstate(void *opaque)
{
	struct xlate_ctx *c = opaque;
	struct vcpu *v = c->v;
	struct kvm_xcrs xcrs;

	if (c->xs_loaded)
		return &c->xs;
	c->xs.area_size = (uint32_t)v->vm->xsave_size;
	c->xs.area = calloc(1, c->xs.area_size);
	if (!c->xs.area)
		return NULL;
	if (ioctl(v->fd, c->xs.area_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, c->xs.area) < 0 ||
	    ioctl(v->fd, KVM_GET_XCRS, &xcrs) < 0) {
		pr_err("vCPU %u: reading the extended state for an XSAVE fix-up: %s", v->id, strerror(errno));
		return NULL;
	}
	c->xs.xcr0 = 0;
	for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (xcrs.xcrs[i].xcr == 0)
			c->xs.xcr0 = xcrs.xcrs[i].value;
	c->xs_loaded = true;
	return &c->xs;
}

/* Write back what an XSAVE-family fix-up changed. 0 or -errno. */
static int store_xstate(struct xlate_ctx *c)
{
	struct vcpu *v = c->v;

	if (c->xs.xcr0_changed) {
		struct kvm_xcrs xcrs = { .nr_xcrs = 1 };

		xcrs.xcrs[0].xcr = 0;
		xcrs.xcrs[0].value = c->xs.xcr0;
		if (ioctl(v->fd, KVM_SET_XCRS, &xcrs) < 0)
			return -errno;
	}
	if (c->xs.area_changed && ioctl(v->fd, KVM_SET_XSAVE, c->xs.area) < 0)
		return -errno;
	return 0;
}

static void xlate_init(struct xlate_ctx *c, struct vcpu *v, const struct kvm_sregs *sregs)
{
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->pg = (struct x86_paging){ sregs->cr0, sregs->cr3, sregs->cr4, sregs->efer };
	c->user = sregs->cs.dpl == 3;
}

/* Guest-virtual to host pointer by walking the guest's page tables (with
 * their permissions and A/D bits: KVM_TRANSLATE reports every page
 * writable), page by page; a range crossing a page boundary must land on
 * physically contiguous pages (the XSAVE family maps page by page). */
static void *map_gva(void *opaque, uint64_t gva, uint32_t len, bool write, struct emu_fault *f)
{
	struct xlate_ctx *c = opaque;
	uint64_t first = ALIGN_DOWN(gva, 4096ULL), last, gpa0 = 0;
	void *p;

	f->vector = -1;
	if (len == 0 || gva + (len - 1) < gva) { /* wraps past 2^64: not canonical */
		f->vector = X86_VEC_GP;
		return NULL;
	}
	last = ALIGN_DOWN(gva + (len - 1), 4096ULL);
	for (uint64_t page = first;; page += 4096) {
		uint64_t at = page == first ? gva : page, gpa = 0;
		uint32_t err = 0;

		switch (x86_walk(&c->v->vm->mem, &c->pg, at, write, c->user, &gpa, &err)) {
		case WALK_OK:
			break;
		case WALK_PF:
			f->vector = X86_VEC_PF;
			f->error_code = err;
			f->addr = at;
			return NULL;
		case WALK_GP:
			f->vector = X86_VEC_GP;
			return NULL;
		default:
			return NULL;
		}
		if (page == first)
			gpa0 = gpa;
		else if (gpa != ALIGN_DOWN(gpa0, 4096ULL) + (page - first))
			return NULL;
		if (page == last)
			break;
	}
	p = guest_mem_ptr(&c->v->vm->mem, gpa0, len);
	if (!p) {
		/* Mapped by the guest but not RAM (an MMIO hole, beyond the end
		 * of memory): nothing a fix-up can read or write. Hardware KVM
		 * would fail the instruction's emulation and stop the VM; the
		 * guest gets #GP(0) instead, and the VMM goes on. */
		if (!__atomic_exchange_n(&c->v->vm->fixup_not_ram_warned, true, __ATOMIC_RELAXED))
			pr_warn("PVM fix-up: a memory operand at guest-physical 0x%llx is not RAM: #GP injected (said once)",
				(unsigned long long)gpa0);
		f->vector = X86_VEC_GP;
	}
	return p;
}

/* Fetch up to 15 instruction bytes at RIP, page by page; returns how many
 * could be read. */
static size_t fetch_code(struct xlate_ctx *c, uint64_t rip, uint8_t *buf)
{
	size_t n = 0;

	while (n < 15) {
		struct emu_fault f;
		uint32_t chunk = (uint32_t)MIN(15 - n, 4096 - ((rip + n) & 4095));
		const uint8_t *p = map_gva(c, rip + n, chunk, false, &f);

		if (!p)
			break;
		memcpy(buf + n, p, chunk);
		n += chunk;
	}
	return n;
}

static void format_bytes(char *out, size_t size, const uint8_t *b, size_t n)
{
	size_t pos = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && pos + 4 < size; i++)
		pos += (size_t)snprintf(out + pos, size - pos, "%s%02x", i ? " " : "", b[i]);
	if (n == 0)
		snprintf(out, size, "(unreadable)");
}

void pvm_describe_failure(struct vcpu *v, char *why, size_t why_len)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct xlate_ctx c;
	uint8_t code[15];
	char bytes[64];
	size_t n = 0;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(why, why_len, "an instruction (registers unreadable: %s)", strerror(errno));
		return;
	}
	xlate_init(&c, v, &sregs);
	n = fetch_code(&c, regs.rip, code);
	format_bytes(bytes, sizeof(bytes), code, n);
	snprintf(why, why_len, "instruction bytes [%s] at RIP 0x%llx", bytes, (unsigned long long)regs.rip);
}

static void regs_to_state(const struct kvm_regs *r, struct emu_state *st)
{
	const uint64_t g[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				 r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };

	memcpy(st->gpr, g, sizeof(g));
	st->rip = r->rip;
	st->rflags = r->rflags;
}

static void state_to_regs(const struct emu_state *st, struct kvm_regs *r)
{
	r->rax = st->gpr[0], r->rcx = st->gpr[1], r->rdx = st->gpr[2], r->rbx = st->gpr[3];
	r->rsp = st->gpr[4], r->rbp = st->gpr[5], r->rsi = st->gpr[6], r->rdi = st->gpr[7];
	r->r8 = st->gpr[8], r->r9 = st->gpr[9], r->r10 = st->gpr[10], r->r11 = st->gpr[11];
	r->r12 = st->gpr[12], r->r13 = st->gpr[13], r->r14 = st->gpr[14], r->r15 = st->gpr[15];
	r->rip = st->rip;
	r->rflags = st->rflags;
}

static int inject(struct vcpu *v, const struct emu_state *st, struct kvm_sregs *sregs)
{
	struct kvm_vcpu_events ev;

	if (st->inject_vector == X86_VEC_PF) {
		sregs->cr2 = st->cr2;
		if (ioctl(v->fd, KVM_SET_SREGS, sregs) < 0)
			return -errno;
	}
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)st->inject_vector;
	ev.exception.has_error_code = st->inject_has_error_code;
	ev.exception.error_code = st->inject_error_code;
	ev.flags = 0; /* leave NMI/SIPI/shadow state as it is */
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	return 0;
}

int pvm_fixup(struct vcpu *v, char *why, size_t why_len)
{
	struct xlate_ctx c;
	const struct emu_mem mem = { .ctx = &c, .map = map_gva, .xstate = load_xstate };
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct emu_state st;
	enum emu_insn which = EMU_NR_INSNS;
	uint8_t code[15];
	char bytes[64];
	size_t n;
	int ret;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_FPU, &fpu) < 0) {
		ret = -errno;
		snprintf(why, why_len, "reading vCPU state for an instruction fix-up: %s", strerror(-ret));
		return ret;
	}
	xlate_init(&c, v, &sregs);
	n = fetch_code(&c, regs.rip, code);
	memset(&st, 0, sizeof(st));
	regs_to_state(&regs, &st);
	st.fs_base = sregs.fs.base;
	st.gs_base = sregs.gs.base;
	st.mxcsr = fpu.mxcsr;
	st.cr0 = sregs.cr0;
	st.cr4 = sregs.cr4;
	st.cpl = sregs.cs.dpl;
	st.gdt_base = sregs.gdt.base;
	st.gdt_limit = sregs.gdt.limit;
	if (!sregs.ldt.unusable && sregs.ldt.present) {
		st.ldt_base = sregs.ldt.base;
		st.ldt_limit = (uint16_t)MIN(sregs.ldt.limit, 0xffffu);
	}
	st.xlayout = &v->vm->xlayout;

	ret = x86_emulate(&st, code, n, &mem, &which);
	if (!ret) {
		ret = store_xstate(&c);
		if (ret) {
			snprintf(why, why_len, "writing the extended state back after %s: %s", emu_insn_names[which],
				 strerror(-ret));
			free(c.xs.area);
			return ret;
		}
	}
	free(c.xs.area);
	if (ret) {
		format_bytes(bytes, sizeof(bytes), code, n);
		snprintf(why, why_len, "KVM could not emulate instruction bytes [%s] at RIP 0x%llx, and hopx-vmm %s",
			 bytes, (unsigned long long)regs.rip,
			 ret == -ENOENT ? "has no fix-up for it" :
			 ret == -EFAULT ? "could not reach its memory operand (not RAM, or pages not contiguous)" :
			 ret == -EINVAL ? "could not decode it (or serve its XSAVE layout)" :
			 "could not read the vCPU's extended state");
		return ret;
	}
	state_to_regs(&st, &regs);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		ret = -errno;
		snprintf(why, why_len, "KVM_SET_REGS after %s fix-up: %s", emu_insn_names[which], strerror(-ret));
		return ret;
	}
	if (st.mxcsr_changed) {
		fpu.mxcsr = st.mxcsr;
		if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
			ret = -errno;
			snprintf(why, why_len, "KVM_SET_FPU after ldmxcsr fix-up: %s", strerror(-ret));
			return ret;
		}
	}
	if (st.inject_vector >= 0) {
		ret = inject(v, &st, &sregs);
		if (ret) {
			snprintf(why, why_len, "injecting exception %d after %s: %s", st.inject_vector,
				 emu_insn_names[which], strerror(-ret));
			return ret;
		}
	}
	vm_mark(v->vm, &v->vm->t_first_fixup, &v->vm->kvm_exits_at_fixup, &v->vm->kvm_emul_at_fixup);
	atomic_fetch_add(&v->vm->fixups[which], 1);
	return 0;
}
