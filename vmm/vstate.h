/* KVM state of a VM and its vCPUs for snapshots: captured with the usual GET
 * ioctls into the state tree (node "vm", nodes "vcpu@N"), decoded and checked
 * in full before any of it reaches KVM, then applied in the order KVM needs:
 * VM (irqchip, PIT, clock) first; per vCPU CPUID, sregs, regs, FPU/XSAVE/XCRs,
 * MSRs, LAPIC, TSC deadline, MP state, debug registers, events last. */
#ifndef HOPX_VSTATE_H
#define HOPX_VSTATE_H

#include <linux/kvm.h>

#include "snapfile.h"

struct hopx_vm;

#define VSTATE_MAX_MSRS 256
#define VSTATE_MAX_CPUID 256

struct vm_kvm_state {
	struct kvm_irqchip pic_master, pic_slave, ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

struct vcpu_kvm_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint8_t *xsave;       /* xsave_size bytes (struct kvm_xsave and beyond) */
	size_t xsave_size;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_msr_entry msrs[VSTATE_MAX_MSRS];
	uint32_t nmsrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp;
	struct kvm_cpuid_entry2 cpuid[VSTATE_MAX_CPUID];
	uint32_t ncpuid;
};

/* Capture (the VM must be paused) into W. */
int vstate_save(struct hopx_vm *vm, struct snapw *w);

/* Decode the "vm" node and NVCPUS "vcpu@N" nodes of R into VMS and VCS
 * (an array of NVCPUS); nothing touches KVM. */
int vstate_decode(struct snapr *r, unsigned int nvcpus, struct vm_kvm_state *vms, struct vcpu_kvm_state *vcs);
void vstate_free(struct vcpu_kvm_state *vcs, unsigned int nvcpus);
/* Apply decoded state to a VM whose vCPUs exist and have not run. */
int vstate_apply(struct hopx_vm *vm, const struct vm_kvm_state *vms, const struct vcpu_kvm_state *vcs);

#endif
