/* Internal VM object behind libhopxvmm's `struct hopx_vm`: KVM handles,
 * guest memory, buses and devices, vCPUs, the stop protocol and boot marks. */
#ifndef HOPX_VM_H
#define HOPX_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "../devices/boot_timer.h"
#include "../devices/bus.h"
#include "../devices/genid.h"
#include "../devices/i8042.h"
#include "../devices/serial.h"
#include "../devices/virtio_blk.h"
#include "../devices/virtio_net.h"
#include "../devices/virtio_vsock.h"
#include "../include/hopx/vmm.h"
#include "../lib/clock.h"
#include "../lib/layout.h"
#include "../lib/memory.h"
#include "console.h"
#include "kvm_stats.h"
#include "snapfile.h"
#include "vstate.h"
#include "x86_emu.h"

struct vcpu {
	struct hopx_vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	struct kvm_stats stats;
	atomic_uint_fast64_t exits;
};

/* What a restore brings to VM creation (snapshot.c), decoded and checked. */
struct vm_restore {
	struct snapr r;
	int mem_fd;
	struct vm_kvm_state vms;
	struct vcpu_kvm_state *vcs;
	unsigned int nvcpus;
};

struct hopx_vm {
	struct hopx_vm_config cfg;
	struct vm_restore *restore; /* during creation only */
	bool restored;
	char *kernel_path, *initrd_path, *console_path;
	char cmdline[2048];

	int kvm_fd, vm_fd;
	size_t run_size;
	bool pvm;
	struct kvm_cpuid2 *cpuid;
	/* The XSAVE layout (CPUID 0xD) and KVM_GET_XSAVE's size, for the fix-ups. */
	struct emu_xlayout xlayout;
	size_t xsave_size;
	bool fixup_not_ram_warned; /* a fix-up's operand was not RAM: said once */

	struct guest_mem mem;
	struct bus pio, mmio;
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	struct genid genid;
	struct console console;
	/* virtio devices, in slot order (drives, then NICs, then vsock). */
	struct virtio_blk *blks[HOPX_MAX_DRIVES];
	unsigned int nblks;
	struct virtio_net *nets[HOPX_MAX_NETS];
	unsigned int nnets;
	struct virtio_vsock *vsock;
	struct virtio_mmio *virtio[16];
	unsigned int nvirtio;
	/* How their eventfds reach KVM (irqfd, ioeventfd on vm_fd). */
	struct virtio_mmio_host virtio_host;

	struct vcpu vcpus[GUEST_VCPUS_MAX];
	unsigned int nvcpus;

	pthread_mutex_t lock;
	pthread_cond_t stopped_cond;
	atomic_bool stopping;
	bool started;
	/* Pause (vmm/pause.c): vCPUs park outside KVM_RUN while pause_req is set. */
	atomic_bool pause_req;
	unsigned int parked;      /* vCPU threads parked, under lock */
	pthread_cond_t park_cond; /* parked changed, or pause_req cleared */
	bool paused;
	uint64_t pause_count;
	struct hopx_vm_exit exit;

	uint64_t t0_ns;
	atomic_uint_fast64_t t_kvm_ready, t_first_entry, t_run_init, t_ready;
	atomic_int_fast64_t kvm_exits_at_init, kvm_emul_at_init;
	/* At the first PVM fix-up (the kernel's INT3 self-test): where QEMU stops on such hosts. */
	atomic_uint_fast64_t t_first_fixup;
	atomic_int_fast64_t kvm_exits_at_fixup, kvm_emul_at_fixup;
	atomic_uint_fast64_t fixups[EMU_NR_INSNS];
};


/* Record why the VM stops (first reason wins) and kick every vCPU out of KVM_RUN. */
void vm_request_stop(struct hopx_vm *vm, enum hopx_exit_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* vcpu.c */
int vcpu_create(struct hopx_vm *vm, unsigned int id);
int vcpu_setup_boot(struct vcpu *v, uint64_t entry);
void *vcpu_thread(void *arg);
void vcpu_destroy(struct vcpu *v);
void vcpu_kick(struct vcpu *v);

/* pause.c: park the calling vCPU thread until the VM resumes (or stops).
 * Completes any half-done PIO/MMIO exit first, so the vCPU's state is whole. */
void vcpu_park(struct vcpu *v);

/* pvm.c: complete an instruction the PVM backend's emulator gave up on.
 * 0 when done; otherwise -errno with WHY describing the instruction. */
int pvm_fixup(struct vcpu *v, char *why, size_t why_len);
bool pvm_detect(void);
/* Describe the instruction at the vCPU's RIP (bytes and address) into WHY. */
void pvm_describe_failure(struct vcpu *v, char *why, size_t why_len);
/* Append the PVM guest workarounds to CMDLINE. */
int pvm_cmdline(char *cmdline, size_t size);
/* The standard-format XSAVE layout and settable XCR0 bits from KVM's CPUID. */
void pvm_xlayout_init(struct emu_xlayout *xl, const struct kvm_cpuid2 *cpuid);

/* vm.c: create a VM from CFG; with RESTORE, from a snapshot (memory mapped
 * from its file, state applied by vm_restore_state instead of a kernel load). */
int vm_create(const struct hopx_vm_config *cfg, struct vm_restore *restore, struct hopx_vm **out);
/* snapshot.c */
int vm_restore_state(struct hopx_vm *vm);

/* Record a boot mark once: KVM's exit and emulation counters, then the time
 * since t0 (the time last, so a non-zero time means the counters are set). */
void vm_mark(struct hopx_vm *vm, atomic_uint_fast64_t *t, atomic_int_fast64_t *exits,
	     atomic_int_fast64_t *emulated);

/* timings.c: FIXUPS over the time since t0 (creation or restore). */
double vm_fixups_per_second(struct hopx_vm *vm, uint64_t fixups);

/* vstate.c: bytes of KVM_GET_XSAVE(2)'s buffer on this host. */
size_t vm_xsave_size(struct hopx_vm *vm);

/* Sum of a KVM stat over all vCPUs, or -1. */
int64_t vm_kvm_stat(struct hopx_vm *vm, enum kvm_stat_id id);

#endif
