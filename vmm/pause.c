/* Pausing and resuming a running VM: every vCPU thread is kicked out of
 * KVM_RUN and parks at a consistent point (any half-done port or MMIO
 * exit completed by one more KVM_RUN with immediate_exit set, which returns
 * EINTR without running guest code); then every device is quiesced (I/O in
 * flight completes, a receive waiting for a frame is cancelled and its
 * buffer put back), so guest memory and device state hold still until the
 * resume. The guest clock (kvmclock) keeps host time, so after a resume it
 * has stepped by exactly the pause. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../lib/log.h"
#include "vm.h"

/* A device with I/O in flight longer than this fails the pause. */
#define DEVICE_QUIESCE_MS 10000

void vcpu_park(struct vcpu *v)
{
	struct hopx_vm *vm = v->vm;

	/* Complete a pending I/O exit: KVM finishes the instruction, then sees
	 * immediate_exit and returns EINTR before running anything else. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (ioctl(v->fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN))
		pr_debug("vCPU %u: completing KVM_RUN before parking: %s", v->id, strerror(errno));
	pthread_mutex_lock(&vm->lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->park_cond);
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->park_cond, &vm->lock);
	vm->parked--;
	pthread_cond_broadcast(&vm->park_cond);
	pthread_mutex_unlock(&vm->lock);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

int hopx_vm_pause(struct hopx_vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->started || atomic_load(&vm->stopping)) {
		ret = -ESRCH;
	} else if (!vm->paused) {
		atomic_store(&vm->pause_req, true);
		for (unsigned int i = 0; i < vm->nvcpus; i++)
			vcpu_kick(&vm->vcpus[i]);
		while (vm->parked < vm->nvcpus && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->park_cond, &vm->lock);
		if (atomic_load(&vm->stopping)) {
			ret = -ESRCH;
		} else {
			vm->paused = true;
			vm->pause_count++;
		}
	}
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; !ret && i < vm->nvirtio; i++) {
		ret = virtio_mmio_quiesce(vm->virtio[i], DEVICE_QUIESCE_MS);
		if (ret) {
			for (unsigned int j = 0; j <= i; j++)
				virtio_mmio_resume(vm->virtio[j]);
			hopx_vm_resume(vm);
		}
	}
	return ret;
}

int hopx_vm_resume(struct hopx_vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (!vm->started || atomic_load(&vm->stopping)) {
		ret = -ESRCH;
	} else if (vm->paused) {
		for (unsigned int i = 0; i < vm->nvirtio; i++)
			virtio_mmio_resume(vm->virtio[i]);
		atomic_store(&vm->pause_req, false);
		pthread_cond_broadcast(&vm->park_cond);
		while (vm->parked > 0 && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->park_cond, &vm->lock);
		vm->paused = false;
	}
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

bool hopx_vm_is_paused(struct hopx_vm *vm)
{
	bool p;

	pthread_mutex_lock(&vm->lock);
	p = vm->paused;
	pthread_mutex_unlock(&vm->lock);
	return p;
}

int hopx_vm_start_paused(struct hopx_vm *vm)
{
	int ret;

	/* The vCPU threads park before their first KVM_RUN of guest code. */
	atomic_store(&vm->pause_req, true);
	ret = hopx_vm_start(vm);
	if (ret)
		return ret;
	pthread_mutex_lock(&vm->lock);
	while (vm->parked < vm->nvcpus && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->park_cond, &vm->lock);
	vm->paused = !atomic_load(&vm->stopping);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nvirtio; i++) {
		ret = virtio_mmio_quiesce(vm->virtio[i], DEVICE_QUIESCE_MS);
		if (ret)
			return ret;
	}
	return vm->paused ? 0 : -ESRCH;
}
