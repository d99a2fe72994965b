/* Reader for KVM's binary stats file (see kvm_stats.h). The file's header and
 * descriptors come from the host kernel; we still bounds-check them. */
#include "kvm_stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "../lib/log.h"

static const char *const stat_names[KVM_STAT_NR] = {
	[KVM_STAT_EXITS] = "exits",
	[KVM_STAT_INSN_EMULATION] = "insn_emulation",
	[KVM_STAT_INSN_EMULATION_FAIL] = "insn_emulation_fail",
	[KVM_STAT_IO_EXITS] = "io_exits",
	[KVM_STAT_MMIO_EXITS] = "mmio_exits",
	[KVM_STAT_HALT_EXITS] = "halt_exits",
};

int kvm_stats_open(struct kvm_stats *s, int vcpu_fd)
{
	struct kvm_stats_header h;
	size_t desc_size;
	uint8_t *descs;
	int ret = 0;

	s->fd = -1;
	for (int i = 0; i < KVM_STAT_NR; i++)
		s->offset[i] = -1;
	s->fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0) {
		pr_debug("KVM_GET_STATS_FD: %s: no KVM stats on this host", strerror(errno));
		s->fd = -1;
		return 0;
	}
	if (pread(s->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.num_desc > 4096 || h.name_size > 4096) {
		pr_warn("KVM stats header unreadable: counters unavailable");
		return 0;
	}
	desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(desc_size * h.num_desc);
	if (!descs)
		return -ENOMEM;
	if (pread(s->fd, descs, desc_size * h.num_desc, h.desc_offset) != (ssize_t)(desc_size * h.num_desc)) {
		pr_warn("KVM stats descriptors unreadable: counters unavailable");
		goto out;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(descs + i * desc_size);
		char name[256];

		snprintf(name, sizeof(name), "%.*s", (int)(h.name_size < 255 ? h.name_size : 255), d->name);
		for (int k = 0; k < KVM_STAT_NR; k++)
			if (strcmp(name, stat_names[k]) == 0 && d->size >= 1)
				s->offset[k] = (int64_t)h.data_offset + d->offset;
	}
out:
	free(descs);
	return ret;
}

void kvm_stats_close(struct kvm_stats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int64_t kvm_stats_read(const struct kvm_stats *s, enum kvm_stat_id id)
{
	uint64_t v;

	if (s->fd < 0 || s->offset[id] < 0)
		return -1;
	if (pread(s->fd, &v, sizeof(v), s->offset[id]) != (ssize_t)sizeof(v))
		return -1;
	return (int64_t)v;
}
