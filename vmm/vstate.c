/* Capturing and restoring KVM's VM and vCPU state (see vstate.h). */
#include "vstate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../lib/log.h"
#include "vm.h"

#define MSR_IA32_TSC_DEADLINE 0x6e0

static int vcpu_ioctl(struct vcpu *v, unsigned long req, void *arg, const char *what)
{
	if (ioctl(v->fd, req, arg) < 0) {
		int err = -errno;

		pr_err("vCPU %u: %s: %s", v->id, what, strerror(errno));
		return err;
	}
	return 0;
}

static int vm_ioctl(struct hopx_vm *vm, unsigned long req, void *arg, const char *what)
{
	if (ioctl(vm->vm_fd, req, arg) < 0) {
		int err = -errno;

		pr_err("%s: %s", what, strerror(errno));
		return err;
	}
	return 0;
}

size_t vm_xsave_size(struct hopx_vm *vm)
{
	int n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? (size_t)n : sizeof(struct kvm_xsave);
}

/* Every MSR KVM lists that this vCPU can read. */
static int read_msrs(struct vcpu *v, struct vcpu_kvm_state *s)
{
	struct {
		struct kvm_msr_list l;
		uint32_t idx[VSTATE_MAX_MSRS];
	} list = { .l.nmsrs = VSTATE_MAX_MSRS };
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} one;

	if (ioctl(v->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0) {
		pr_err("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		return -errno;
	}
	s->nmsrs = 0;
	for (uint32_t i = 0; i < list.l.nmsrs && i < VSTATE_MAX_MSRS; i++) {
		memset(&one, 0, sizeof(one));
		one.h.nmsrs = 1;
		one.e[0].index = list.idx[i];
		/* One at a time: KVM_GET_MSRS stops at the first MSR it refuses. */
		if (ioctl(v->fd, KVM_GET_MSRS, &one) == 1)
			s->msrs[s->nmsrs++] = one.e[0];
	}
	return 0;
}

static int save_vcpu(struct vcpu *v, struct snapw *w)
{
	struct vcpu_kvm_state *s = calloc(1, sizeof(*s));
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[VSTATE_MAX_CPUID];
	} *cpuid = calloc(1, sizeof(*cpuid));
	char node[32];
	int ret;

	if (!s || !cpuid) {
		free(s);
		free(cpuid);
		return -ENOMEM;
	}
	s->xsave_size = v->vm->xsave_size;
	s->xsave = calloc(1, s->xsave_size);
	cpuid->h.nent = VSTATE_MAX_CPUID;
	ret = s->xsave ? 0 : -ENOMEM;
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_REGS, &s->regs, "KVM_GET_REGS");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_FPU, &s->fpu, "KVM_GET_FPU");
	if (!ret)
		ret = vcpu_ioctl(v, s->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, s->xsave,
				 "KVM_GET_XSAVE");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC");
	if (!ret)
		ret = read_msrs(v, s);
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_DEBUGREGS, &s->debugregs, "KVM_GET_DEBUGREGS");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_MP_STATE, &s->mp, "KVM_GET_MP_STATE");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_GET_CPUID2, cpuid, "KVM_GET_CPUID2");
	if (!ret) {
		snprintf(node, sizeof(node), "vcpu@%u", v->id);
		snapw_begin(w, node);
		snapw_blob(w, "regs", &s->regs, sizeof(s->regs));
		snapw_blob(w, "sregs", &s->sregs, sizeof(s->sregs));
		snapw_blob(w, "fpu", &s->fpu, sizeof(s->fpu));
		snapw_blob(w, "xsave", s->xsave, s->xsave_size);
		snapw_blob(w, "xcrs", &s->xcrs, sizeof(s->xcrs));
		snapw_blob(w, "lapic", &s->lapic, sizeof(s->lapic));
		snapw_blob(w, "msrs", s->msrs, s->nmsrs * sizeof(s->msrs[0]));
		snapw_blob(w, "events", &s->events, sizeof(s->events));
		snapw_blob(w, "debugregs", &s->debugregs, sizeof(s->debugregs));
		snapw_blob(w, "mp-state", &s->mp, sizeof(s->mp));
		snapw_blob(w, "cpuid", cpuid->e, cpuid->h.nent * sizeof(cpuid->e[0]));
		snapw_end(w);
	}
	free(s->xsave);
	free(s);
	free(cpuid);
	return ret;
}

int vstate_save(struct hopx_vm *vm, struct snapw *w)
{
	struct vm_kvm_state s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	ret = vm_ioctl(vm, KVM_GET_IRQCHIP, &s.pic_master, "KVM_GET_IRQCHIP (PIC master)");
	if (!ret)
		ret = vm_ioctl(vm, KVM_GET_IRQCHIP, &s.pic_slave, "KVM_GET_IRQCHIP (PIC slave)");
	if (!ret)
		ret = vm_ioctl(vm, KVM_GET_IRQCHIP, &s.ioapic, "KVM_GET_IRQCHIP (IOAPIC)");
	if (!ret)
		ret = vm_ioctl(vm, KVM_GET_PIT2, &s.pit, "KVM_GET_PIT2");
	if (!ret)
		ret = vm_ioctl(vm, KVM_GET_CLOCK, &s.clock, "KVM_GET_CLOCK");
	if (ret)
		return ret;
	snapw_begin(w, "vm");
	snapw_blob(w, "pic-master", &s.pic_master, sizeof(s.pic_master));
	snapw_blob(w, "pic-slave", &s.pic_slave, sizeof(s.pic_slave));
	snapw_blob(w, "ioapic", &s.ioapic, sizeof(s.ioapic));
	snapw_blob(w, "pit", &s.pit, sizeof(s.pit));
	snapw_blob(w, "clock", &s.clock, sizeof(s.clock));
	snapw_end(w);
	for (unsigned int i = 0; !ret && i < vm->nvcpus; i++)
		ret = save_vcpu(&vm->vcpus[i], w);
	return ret;
}

int vstate_decode(struct snapr *r, unsigned int nvcpus, struct vm_kvm_state *vms, struct vcpu_kvm_state *vcs)
{
	int node = snapr_node(r, 0, "vm"), ret;

	if (node < 0)
		return node;
	ret = snapr_blob(r, node, "pic-master", &vms->pic_master, sizeof(vms->pic_master));
	if (!ret)
		ret = snapr_blob(r, node, "pic-slave", &vms->pic_slave, sizeof(vms->pic_slave));
	if (!ret)
		ret = snapr_blob(r, node, "ioapic", &vms->ioapic, sizeof(vms->ioapic));
	if (!ret)
		ret = snapr_blob(r, node, "pit", &vms->pit, sizeof(vms->pit));
	if (!ret)
		ret = snapr_blob(r, node, "clock", &vms->clock, sizeof(vms->clock));
	if (!ret && (vms->pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER || vms->pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE ||
		     vms->ioapic.chip_id != KVM_IRQCHIP_IOAPIC)) {
		pr_err("snapshot %s: irqchip state names the wrong chips", r->path);
		ret = -EINVAL;
	}
	for (unsigned int i = 0; !ret && i < nvcpus; i++) {
		struct vcpu_kvm_state *s = &vcs[i];
		const void *p;
		size_t len;
		char name[32];
		int n;

		snprintf(name, sizeof(name), "vcpu@%u", i);
		n = snapr_node(r, 0, name);
		if (n < 0)
			return n;
		ret = snapr_blob(r, n, "regs", &s->regs, sizeof(s->regs));
		if (!ret)
			ret = snapr_blob(r, n, "sregs", &s->sregs, sizeof(s->sregs));
		if (!ret)
			ret = snapr_blob(r, n, "fpu", &s->fpu, sizeof(s->fpu));
		if (!ret)
			ret = snapr_blob(r, n, "xcrs", &s->xcrs, sizeof(s->xcrs));
		if (!ret)
			ret = snapr_blob(r, n, "lapic", &s->lapic, sizeof(s->lapic));
		if (!ret)
			ret = snapr_blob(r, n, "events", &s->events, sizeof(s->events));
		if (!ret)
			ret = snapr_blob(r, n, "debugregs", &s->debugregs, sizeof(s->debugregs));
		if (!ret)
			ret = snapr_blob(r, n, "mp-state", &s->mp, sizeof(s->mp));
		if (ret)
			return ret;
		p = snapr_blob_var(r, n, "xsave", 1u << 20, &len);
		if (!p || len < sizeof(struct kvm_xsave)) {
			pr_err("snapshot %s: vCPU %u XSAVE area missing or short", r->path, i);
			return -EINVAL;
		}
		s->xsave = malloc(len);
		if (!s->xsave)
			return -ENOMEM;
		memcpy(s->xsave, p, len);
		s->xsave_size = len;
		p = snapr_blob_var(r, n, "msrs", sizeof(s->msrs), &len);
		if (!p || len % sizeof(s->msrs[0]))
			return -EINVAL;
		memcpy(s->msrs, p, len);
		s->nmsrs = (uint32_t)(len / sizeof(s->msrs[0]));
		p = snapr_blob_var(r, n, "cpuid", sizeof(s->cpuid), &len);
		if (!p || len % sizeof(s->cpuid[0]) || len == 0)
			return -EINVAL;
		memcpy(s->cpuid, p, len);
		s->ncpuid = (uint32_t)(len / sizeof(s->cpuid[0]));
	}
	return ret;
}

void vstate_free(struct vcpu_kvm_state *vcs, unsigned int nvcpus)
{
	for (unsigned int i = 0; vcs && i < nvcpus; i++) {
		free(vcs[i].xsave);
		vcs[i].xsave = NULL;
	}
}

/* KVM_SET_MSRS stops at the first MSR it refuses and returns how many it set. */
static int set_msrs(struct vcpu *v, const struct kvm_msr_entry *e, uint32_t n)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[VSTATE_MAX_MSRS];
	} *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	m->h.nmsrs = n;
	memcpy(m->e, e, n * sizeof(*e));
	ret = ioctl(v->fd, KVM_SET_MSRS, m);
	if (ret != (int)n) {
		pr_err("vCPU %u: KVM_SET_MSRS set %d of %u MSRs (first refused: %#x)", v->id, ret, n,
		       ret >= 0 && (uint32_t)ret < n ? e[ret].index : 0);
		free(m);
		return ret < 0 ? -errno : -EINVAL;
	}
	free(m);
	return 0;
}

static int apply_vcpu(struct vcpu *v, const struct vcpu_kvm_state *s)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[VSTATE_MAX_CPUID];
	} *cpuid = calloc(1, sizeof(*cpuid));
	struct kvm_msr_entry rest[VSTATE_MAX_MSRS], deadline[1];
	uint32_t nrest = 0, ndeadline = 0;
	int ret;

	if (!cpuid)
		return -ENOMEM;
	cpuid->h.nent = s->ncpuid;
	memcpy(cpuid->e, s->cpuid, s->ncpuid * sizeof(s->cpuid[0]));
	ret = vcpu_ioctl(v, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2");
	free(cpuid);
	/* TSC_DEADLINE is written after the LAPIC, or the timer is lost. */
	for (uint32_t i = 0; i < s->nmsrs; i++) {
		if (s->msrs[i].index == MSR_IA32_TSC_DEADLINE)
			deadline[ndeadline++] = s->msrs[i];
		else
			rest[nrest++] = s->msrs[i];
	}
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_SREGS, (void *)&s->sregs, "KVM_SET_SREGS");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_REGS, (void *)&s->regs, "KVM_SET_REGS");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_FPU, (void *)&s->fpu, "KVM_SET_FPU");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_XSAVE, s->xsave, "KVM_SET_XSAVE");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_XCRS, (void *)&s->xcrs, "KVM_SET_XCRS");
	if (!ret)
		ret = set_msrs(v, rest, nrest);
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_LAPIC, (void *)&s->lapic, "KVM_SET_LAPIC");
	if (!ret && ndeadline)
		ret = set_msrs(v, deadline, ndeadline);
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_MP_STATE, (void *)&s->mp, "KVM_SET_MP_STATE");
	if (!ret)
		ret = vcpu_ioctl(v, KVM_SET_DEBUGREGS, (void *)&s->debugregs, "KVM_SET_DEBUGREGS");
	if (!ret) {
		struct kvm_vcpu_events ev = s->events;

		ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			    KVM_VCPUEVENT_VALID_SHADOW;
		ret = vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
	}
	return ret;
}

int vstate_apply(struct hopx_vm *vm, const struct vm_kvm_state *vms, const struct vcpu_kvm_state *vcs)
{
	struct kvm_clock_data clock = vms->clock;
	int ret;

	ret = vm_ioctl(vm, KVM_SET_IRQCHIP, (void *)&vms->pic_master, "KVM_SET_IRQCHIP (PIC master)");
	if (!ret)
		ret = vm_ioctl(vm, KVM_SET_IRQCHIP, (void *)&vms->pic_slave, "KVM_SET_IRQCHIP (PIC slave)");
	if (!ret)
		ret = vm_ioctl(vm, KVM_SET_IRQCHIP, (void *)&vms->ioapic, "KVM_SET_IRQCHIP (IOAPIC)");
	if (!ret)
		ret = vm_ioctl(vm, KVM_SET_PIT2, (void *)&vms->pit, "KVM_SET_PIT2");
	clock.flags = 0; /* KVM_SET_CLOCK takes only KVM_CLOCK_REALTIME, which we do not want */
	if (!ret)
		ret = vm_ioctl(vm, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK");
	for (unsigned int i = 0; !ret && i < vm->nvcpus; i++)
		ret = apply_vcpu(&vm->vcpus[i], &vcs[i]);
	return ret;
}
