/* KVM binary statistics (KVM_GET_STATS_FD) of one vCPU: the exit and
 * emulated-instruction counters, which on software-KVM hosts are the
 * repeatable measure of boot work (wall time is not). */
#ifndef HOPX_KVM_STATS_H
#define HOPX_KVM_STATS_H

#include <stdint.h>

enum kvm_stat_id {
	KVM_STAT_EXITS,
	KVM_STAT_INSN_EMULATION,
	KVM_STAT_INSN_EMULATION_FAIL,
	KVM_STAT_IO_EXITS,
	KVM_STAT_MMIO_EXITS,
	KVM_STAT_HALT_EXITS,
	KVM_STAT_NR
};

struct kvm_stats {
	int fd;
	/* File offset of each counter's value, or -1 when the host lacks it. */
	int64_t offset[KVM_STAT_NR];
};

/* Open the stats of the vCPU VCPU_FD. Without host support, all offsets are -1. */
int kvm_stats_open(struct kvm_stats *s, int vcpu_fd);
void kvm_stats_close(struct kvm_stats *s);
/* The counter's value, or -1 when unavailable. */
int64_t kvm_stats_read(const struct kvm_stats *s, enum kvm_stat_id id);

#endif
