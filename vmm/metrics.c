/* hopx_vm_metrics(), hopx_last_error() and hopx_log_set_level(): what the
 * front ends (frontend/) and embedders read of a VM without its internals.
 * Any thread: vCPU counters are atomics, each device's under its own lock. */
#include <pthread.h>
#include <string.h>

#include "../include/hopx/vmm.h"
#include "../lib/log.h"
#include "vm.h"

_Static_assert(HOPX_MEM_MIN_MIB == GUEST_MEM_MIN_MIB && HOPX_MEM_MAX_MIB == GUEST_MEM_MAX_MIB &&
		       HOPX_VCPUS_MAX == GUEST_VCPUS_MAX,
	       "vmm.h's guest size limits match lib/layout.h's");
_Static_assert(EMU_NR_INSNS <= HOPX_FIXUP_KINDS, "every fix-up kind fits hopx_vm_metrics");
_Static_assert((int)HOPX_LOG_ERROR == (int)LOG_ERROR && (int)HOPX_LOG_DEBUG == (int)LOG_DEBUG &&
		       (int)HOPX_LOG_SILENT == (int)LOG_SILENT,
	       "hopx_log_level mirrors log_level");

const char *hopx_last_error(void)
{
	return log_last_error();
}

void hopx_log_set_level(enum hopx_log_level level)
{
	log_set_level((enum log_level)level);
}

int hopx_vm_metrics(struct hopx_vm *vm, struct hopx_vm_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->vcpus = vm->cfg.vcpus;
	m->mem_mib = vm->cfg.mem_mib;
	m->paused = hopx_vm_is_paused(vm);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		m->vcpu_exits += atomic_load(&vm->vcpus[i].exits);
	pthread_mutex_lock(&vm->lock);
	m->pauses = vm->pause_count;
	pthread_mutex_unlock(&vm->lock);
	m->nfixup_kinds = EMU_NR_INSNS;
	for (unsigned int i = 0; i < EMU_NR_INSNS; i++) {
		m->fixup[i].name = emu_insn_names[i];
		m->fixup[i].count = atomic_load(&vm->fixups[i]);
		m->fixups += m->fixup[i].count;
	}
	m->fixups_per_second = vm_fixups_per_second(vm, m->fixups);
	m->kvm_exits = vm_kvm_stat(vm, KVM_STAT_EXITS);
	m->kvm_insn_emulation = vm_kvm_stat(vm, KVM_STAT_INSN_EMULATION);

	m->nblks = vm->nblks;
	for (unsigned int i = 0; i < vm->nblks; i++) {
		struct virtio_blk *b = vm->blks[i];
		struct hopx_blk_metrics *o = &m->blk[i];

		pthread_mutex_lock(&b->t.lock);
		o->path = b->disk.path;
		o->reads = b->reads;
		o->writes = b->writes;
		o->flushes = b->flushes;
		o->errors = b->errors;
		pthread_mutex_unlock(&b->t.lock);
	}
	m->nnets = vm->nnets;
	for (unsigned int i = 0; i < vm->nnets; i++) {
		struct virtio_net *n = vm->nets[i];
		struct hopx_net_metrics *o = &m->net[i];

		pthread_mutex_lock(&n->t.lock);
		o->tap = n->tap;
		o->rx_frames = n->rx_frames;
		o->tx_frames = n->tx_frames;
		o->rx_dropped = n->rx_dropped;
		o->tx_errors = n->tx_errors;
		pthread_mutex_unlock(&n->t.lock);
	}
	if (vm->vsock) {
		struct virtio_vsock *v = vm->vsock;

		m->has_vsock = true;
		pthread_mutex_lock(&v->t.lock);
		m->vsock.streams = v->nconns;
		m->vsock.rx_bytes = v->rx_bytes;
		m->vsock.tx_bytes = v->tx_bytes;
		m->vsock.resets_sent = v->resets_sent;
		pthread_mutex_unlock(&v->t.lock);
	}
	return 0;
}
