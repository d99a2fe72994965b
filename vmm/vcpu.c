/* vCPU creation, register setup and the run loop: KVM_RUN, then dispatch the
 * exit to the PIO/MMIO buses, the PVM fix-ups, or a stop with a reason. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "../lib/layout.h"
#include "../boot/longmode.h"
#include "../lib/log.h"
#include "vm.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRING 0x1
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static int set_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c = v->vm->cpuid;
	size_t bytes = c->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid_entry2 *saved = malloc(bytes);

	if (!saved)
		return -ENOMEM;
	/* Patch the shared template for this vCPU, then put it back. */
	memcpy(saved, c->entries, bytes);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1: /* initial APIC ID; "running under a hypervisor" */
			e->ebx = (e->ebx & 0x00ffffffu) | (v->id << 24);
			e->ecx |= 1u << 31;
			break;
		case 0xb:
		case 0x1f: /* x2APIC ID */
			e->edx = v->id;
			break;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
		int err = -errno;

		memcpy(c->entries, saved, bytes);
		free(saved);
		pr_err("vCPU %u: KVM_SET_CPUID2: %s", v->id, strerror(-err));
		return err;
	}
	memcpy(c->entries, saved, bytes);
	free(saved);
	return 0;
}

static int set_msrs(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} m = { .hdr.nmsrs = 1, .e = { { .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING } } };
	int ret = ioctl(v->fd, KVM_SET_MSRS, &m);

	/* KVM_SET_MSRS returns how many entries it set, stopping at the first bad one. */
	if (ret != 1) {
		pr_err("vCPU %u: KVM_SET_MSRS set %d of 1 MSRs: %s", v->id, ret, ret < 0 ? strerror(errno) : "rejected");
		return ret < 0 ? -errno : -EINVAL;
	}
	return 0;
}

static int set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	uint32_t lvt;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0) {
		pr_err("vCPU %u: KVM_GET_LAPIC: %s", v->id, strerror(errno));
		return -errno;
	}
	/* LINT0 takes the PIC's ExtINT, LINT1 the NMI, as firmware would set them. */
	memcpy(&lvt, &lapic.regs[APIC_LVT0], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(&lapic.regs[APIC_LVT0], &lvt, 4);
	memcpy(&lvt, &lapic.regs[APIC_LVT1], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(&lapic.regs[APIC_LVT1], &lvt, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0) {
		pr_err("vCPU %u: KVM_SET_LAPIC: %s", v->id, strerror(errno));
		return -errno;
	}
	return 0;
}

int vcpu_create(struct hopx_vm *vm, unsigned int id)
{
	struct vcpu *v = &vm->vcpus[id];
	void *run;
	int ret;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->stats.fd = -1;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VCPU %u: %s", id, strerror(-ret));
		return ret;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		ret = -errno;
		pr_err("vCPU %u: mmap kvm_run: %s", id, strerror(-ret));
		return ret;
	}
	v->run = run;
	ret = set_cpuid(v);
	if (!ret)
		ret = set_msrs(v);
	if (!ret)
		ret = set_lapic(v);
	if (!ret)
		ret = kvm_stats_open(&v->stats, v->fd);
	return ret;
}

int vcpu_setup_boot(struct vcpu *v, uint64_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		pr_err("vCPU %u: KVM_GET_SREGS: %s", v->id, strerror(errno));
		return -errno;
	}
	longmode_sregs(&sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
		pr_err("vCPU %u: KVM_SET_SREGS (64-bit mode): %s", v->id, strerror(errno));
		return -errno;
	}
	longmode_regs(&regs, entry, BOOT_ZERO_PAGE_ADDR);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		pr_err("vCPU %u: KVM_SET_REGS: %s", v->id, strerror(errno));
		return -errno;
	}
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* x87 default control word */
	fpu.mxcsr = 0x1f80; /* SSE: all exceptions masked */
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		pr_err("vCPU %u: KVM_SET_FPU: %s", v->id, strerror(errno));
		return -errno;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	kvm_stats_close(&v->stats);
	if (v->run)
		munmap(v->run, v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	/* immediate_exit makes a KVM_RUN about to start return at once; the
	 * signal interrupts one already running. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, SIGUSR1);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	uint64_t off;
	const struct bus_dev *d = bus_find(&v->vm->pio, r->io.port, r->io.size, &off);

	/* String I/O (rep ins/outs) delivers COUNT items back to back. */
	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size) {
		if (r->io.direction == KVM_EXIT_IO_OUT) {
			if (d)
				d->ops->write(d->opaque, off, data, r->io.size);
		} else if (d) {
			d->ops->read(d->opaque, off, data, r->io.size);
		} else {
			memset(data, 0xff, r->io.size); /* nothing there: the bus floats high */
		}
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint64_t off;
	uint32_t len = r->mmio.len > 8 ? 8 : r->mmio.len;
	const struct bus_dev *d = bus_find(&v->vm->mmio, r->mmio.phys_addr, len, &off);

	if (r->mmio.is_write) {
		if (d)
			d->ops->write(d->opaque, off, r->mmio.data, len);
		else
			pr_debug("vCPU %u: MMIO write to unmapped 0x%llx ignored", v->id,
				 (unsigned long long)r->mmio.phys_addr);
	} else if (d) {
		d->ops->read(d->opaque, off, r->mmio.data, len);
	} else {
		memset(r->mmio.data, 0xff, len);
	}
}

static void format_rip(struct vcpu *v, char *buf, size_t size)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		snprintf(buf, size, "RIP 0x%llx", (unsigned long long)regs.rip);
	else
		snprintf(buf, size, "RIP unknown");
}

static bool handle_exit(struct vcpu *v)
{
	struct hopx_vm *vm = v->vm;
	struct kvm_run *r = v->run;
	char where[64], why[256];

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		vm_request_stop(vm, HOPX_EXIT_POWEROFF, "vCPU %u halted", v->id);
		return false;
	case KVM_EXIT_SHUTDOWN:
		format_rip(v, where, sizeof(where));
		vm_request_stop(vm, HOPX_EXIT_TRIPLE_FAULT, "guest triple fault on vCPU %u at %s", v->id, where);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (r->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, HOPX_EXIT_POWEROFF, "guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, HOPX_EXIT_REBOOT, "guest reset");
			break;
		default:
			vm_request_stop(vm, HOPX_EXIT_ERROR, "guest system event %u", r->system_event.type);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && vm->pvm) {
			int ret = pvm_fixup(v, why, sizeof(why));

			if (ret == 0)
				return true;
			vm_request_stop(vm, HOPX_EXIT_ERROR, "vCPU %u: %s", v->id, why);
			return false;
		}
		if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
			pvm_describe_failure(v, why, sizeof(why));
			vm_request_stop(vm, HOPX_EXIT_ERROR, "vCPU %u: KVM could not emulate %s%s", v->id, why,
					pvm_detect() ? " (this is a software-KVM host: run with --pvm auto)" : "");
			return false;
		}
		format_rip(v, where, sizeof(where));
		vm_request_stop(vm, HOPX_EXIT_ERROR, "vCPU %u: KVM internal error, suberror %u, at %s", v->id,
				r->internal.suberror, where);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(vm, HOPX_EXIT_ERROR, "vCPU %u: VM entry failed, hardware reason 0x%llx", v->id,
				(unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		format_rip(v, where, sizeof(where));
		vm_request_stop(vm, HOPX_EXIT_ERROR, "vCPU %u: unhandled KVM exit reason %u at %s", v->id,
				r->exit_reason, where);
		return false;
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct hopx_vm *vm = v->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);

	while (!atomic_load(&vm->stopping)) {
		if (atomic_load(&vm->pause_req)) {
			vcpu_park(v);
			continue;
		}
		if (v->id == 0 && atomic_load(&vm->t_first_entry) == 0)
			atomic_store(&vm->t_first_entry, now_ns() - vm->t0_ns);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			vm_request_stop(vm, HOPX_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->id, strerror(errno));
			break;
		}
		atomic_fetch_add(&v->exits, 1);
		if (!handle_exit(v))
			break;
	}
	return NULL;
}
