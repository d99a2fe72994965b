/* virtio-mmio transport: the register file, feature negotiation, the status
 * handshake, queue setup and reset, its eventfds (connected to the guest by
 * the VMM's struct virtio_mmio_host), and the hand-off
 * of activate/reset to the device thread. See virtio_mmio.h for threading. */
#include "virtio_mmio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "../lib/log.h"

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN 2
#define VIRTIO_VENDOR_HOPX 0x58504f48 /* "HOPX" */

/* Bits every device gets from the transport. */
#define TRANSPORT_FEATURES                                                                   \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |             \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX))

static uint64_t all_features(const struct virtio_mmio *t)
{
	return t->device_features | TRANSPORT_FEATURES;
}

static void kick_thread(struct virtio_mmio *t)
{
	uint64_t one = 1;

	if (write(t->ctl_fd, &one, sizeof(one)) != sizeof(one))
		pr_err("%s: could not wake the device thread: %s", t->name, strerror(errno));
}

void virtio_mmio_warn_once(struct virtio_mmio *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (t->warned)
		return;
	t->warned = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_warn("%s: %s (further problems with this device are not logged until it is reset)", t->name, msg);
}

bool virtio_mmio_live(const struct virtio_mmio *t)
{
	return t->activated && !t->paused && !(t->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* With t->lock held: acknowledge a quiesce once nothing is in flight. */
static void check_idle(struct virtio_mmio *t)
{
	if (t->paused && !t->quiesced && (!t->activated || !t->ops->idle || t->ops->idle(t))) {
		t->quiesced = true;
		pthread_cond_broadcast(&t->quiesce_cond);
	}
}

int virtio_mmio_quiesce(struct virtio_mmio *t, unsigned int timeout_ms)
{
	struct timespec end;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->lock);
	t->paused = true;
	t->quiesced = false;
	kick_thread(t);
	while (!t->quiesced && ret == 0)
		ret = pthread_cond_timedwait(&t->quiesce_cond, &t->lock, &end);
	pthread_mutex_unlock(&t->lock);
	if (ret) {
		pr_err("%s: I/O still in flight after %u ms: not quiesced", t->name, timeout_ms);
		return -ETIMEDOUT;
	}
	return 0;
}

void virtio_mmio_resume(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	if (t->paused) {
		t->paused = false;
		t->quiesced = false;
		t->resume_pending = true;
		kick_thread(t);
	}
	pthread_mutex_unlock(&t->lock);
}

static void raise_irq(struct virtio_mmio *t, unsigned int bit)
{
	uint64_t one = 1;

	atomic_fetch_or(&t->isr, bit);
	if (write(t->irqfd, &one, sizeof(one)) != sizeof(one))
		pr_err("%s: irqfd write: %s", t->name, strerror(errno));
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned int q)
{
	t->signal_pending |= 1U << q;
}

static void after_batch(void *ctx)
{
	struct virtio_mmio *t = ctx;
	bool irq = false;

	pthread_mutex_lock(&t->lock);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if ((t->signal_pending & (1U << q)) && t->vqs[q].active && vq_should_signal(&t->vqs[q]))
			irq = true;
	t->signal_pending = 0;
	if (irq)
		raise_irq(t, VIRTIO_MMIO_INT_VRING);
	check_idle(t);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_fail(struct virtio_mmio *t, const char *why)
{
	if (t->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	pr_warn("%s: %s: device needs a reset by its driver", t->name, why);
	t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->vqs[q].active = false;
	if (t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

bool virtio_mmio_pop(struct virtio_mmio *t, unsigned int q, struct vq_chain *c, const char *what,
		     virtio_chain_check check)
{
	struct virtqueue *vq = &t->vqs[q];

	for (;;) {
		int ret = vq_pop(vq, c);
		const char *why;

		if (ret == 0) {
			if (vq_enable_notify(vq))
				continue; /* made available while we were re-enabling */
			return false; /* the driver's next notify brings the device back */
		}
		if (ret == -EPROTO) {
			virtio_mmio_fail(t, vq->error);
			return false;
		}
		why = ret < 0 ? vq->error : check ? check(c) : NULL;
		if (!why)
			return true;
		virtio_mmio_warn_once(t, "%s: %s", what, why);
		vq_push(vq, c->head, 0);
		virtio_mmio_signal_used(t, q);
	}
}

/* --- registers (vCPU threads) --------------------------------------------- */

static void do_reset(struct virtio_mmio *t)
{
	t->status = 0;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = 0;
	t->driver_features = 0;
	atomic_store(&t->isr, 0);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vq_reset(&t->vqs[q]);
		t->vqs[q].size = VQ_MAX_SIZE;
	}
	t->generation++;
	t->activated = false;
	t->warned = false;
	t->reset_pending = true;
	kick_thread(t);
}

/* DRIVER_OK: make every ready queue live, then let the device thread start. */
static int go_live(struct virtio_mmio *t)
{
	bool event_idx = t->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	bool indirect = t->driver_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	for (unsigned int q = 0; q < t->ops->num_queues; q++) {
		struct virtqueue *vq = &t->vqs[q];

		if (!vq->active && !vq->mem) /* not set ready by the driver: stays off */
			continue;
		vq->event_idx = event_idx;
		vq->indirect = indirect;
		if (vq_activate(vq, t->mem, t->name))
			return -EINVAL;
	}
	kick_thread(t);
	return 0;
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t added = v & ~t->status;

	if (v == 0) {
		do_reset(t);
		return;
	}
	if (t->status & VIRTIO_CONFIG_S_NEEDS_RESET) {
		v |= VIRTIO_CONFIG_S_NEEDS_RESET;
	} else if (t->status & ~v) {
		virtio_mmio_warn_once(t, "driver cleared status bits (%#x -> %#x) without a reset", t->status, v);
		return;
	}
	if (added & VIRTIO_CONFIG_S_FEATURES_OK) {
		uint64_t extra = t->driver_features & ~all_features(t);

		if (extra || !(t->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
			pr_warn("%s: refusing features %#llx (%s)", t->name,
				(unsigned long long)t->driver_features,
				extra ? "bits the device did not offer" : "legacy driver: VERSION_1 is required");
			v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		}
	}
	t->status = v;
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !(v & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		if (!(v & VIRTIO_CONFIG_S_FEATURES_OK))
			virtio_mmio_fail(t, "DRIVER_OK without FEATURES_OK");
		else if (go_live(t))
			virtio_mmio_fail(t, "queue setup rejected");
	}
}

/* Queue registers are writable only while the driver sets the device up. */
static bool queue_writable(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->ops->num_queues || (t->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    t->vqs[t->queue_sel].mem) {
		virtio_mmio_warn_once(t, "queue %u register written while not being set up", t->queue_sel);
		return false;
	}
	return true;
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
	*field = high ? (*field & 0xffffffffULL) | ((uint64_t)v << 32) : (*field & ~0xffffffffULL) | v;
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	const struct virtqueue *vq = t->queue_sel < t->ops->num_queues ? &t->vqs[t->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_VENDOR_HOPX;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_feat_sel > 1 ? 0 : (uint32_t)(all_features(t) >> (32 * t->dev_feat_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? VQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq && vq->mem ? 1 : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&t->isr);
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return 0; /* config space never changes under the driver */
	default:
		return 0;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtqueue *vq = &t->vqs[t->queue_sel < VIRTIO_MAX_QUEUES ? t->queue_sel : 0];

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_feat_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->status & VIRTIO_CONFIG_S_FEATURES_OK)
			virtio_mmio_warn_once(t, "features written after FEATURES_OK");
		else if (t->drv_feat_sel <= 1)
			set_half(&t->driver_features, t->drv_feat_sel == 1, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_feat_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (queue_writable(t))
			vq->size = (uint16_t)(v > VQ_MAX_SIZE ? 0 : v); /* 0: rejected at DRIVER_OK */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (v == 1 && queue_writable(t))
			vq->mem = t->mem; /* marks "ready"; checked and made live at DRIVER_OK */
		else if (v == 0 && t->queue_sel < t->ops->num_queues && !(t->status & VIRTIO_CONFIG_S_DRIVER_OK))
			vq->mem = NULL;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; a write of another width lands here. */
		if (v < t->ops->num_queues) {
			uint64_t one = 1;

			if (write(t->notify_fd[v], &one, sizeof(one)) != sizeof(one))
				pr_err("%s: notify: %s", t->name, strerror(errno));
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&t->isr, ~v);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (queue_writable(t))
			set_half(&vq->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (queue_writable(t))
			set_half(&vq->avail_gpa, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (queue_writable(t))
			set_half(&vq->used_gpa, off == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	default:
		virtio_mmio_warn_once(t, "write to unknown register %#llx", (unsigned long long)off);
		break;
	}
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		for (uint32_t i = 0; i < len; i++)
			if (c + i < t->config_len)
				data[i] = t->config[c + i];
	} else if (len == 4 && !(off & 3)) {
		uint32_t v = read_reg(t, off);

		memcpy(data, &v, 4);
	} else {
		virtio_mmio_warn_once(t, "%u-byte read of register %#llx (registers are 32-bit)", len,
				      (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (t->ops->config_write)
			t->ops->config_write(t, (uint32_t)(off - VIRTIO_MMIO_CONFIG), data, len);
	} else if (len == 4 && !(off & 3)) {
		uint32_t v;

		memcpy(&v, data, 4);
		write_reg(t, off, v);
	} else {
		virtio_mmio_warn_once(t, "%u-byte write of register %#llx (registers are 32-bit)", len,
				      (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

const struct bus_ops virtio_mmio_bus_ops = {
	.name = "virtio-mmio",
	.read = mmio_read,
	.write = mmio_write,
};

/* --- device thread --------------------------------------------------------- */

static void ctl_ready(struct devloop_watch *w)
{
	struct virtio_mmio *t = container_of(w, struct virtio_mmio, ctl_watch);

	devloop_eventfd_read(w->fd);
	pthread_mutex_lock(&t->lock);
	if (t->reset_pending) {
		t->reset_pending = false;
		t->ops->reset(t);
	}
	if ((t->status & VIRTIO_CONFIG_S_DRIVER_OK) && !t->activated && !t->paused &&
	    !(t->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		t->activated = true;
		t->ops->activate(t);
	}
	if (t->paused && !t->quiesced && t->activated && t->ops->quiesce)
		t->ops->quiesce(t);
	if (t->resume_pending && !t->paused) {
		/* Work the driver queued while we were paused. */
		t->resume_pending = false;
		if (virtio_mmio_live(t))
			t->ops->activate(t);
	}
	check_idle(t);
	pthread_mutex_unlock(&t->lock);
}

static void notify_ready(struct devloop_watch *w)
{
	struct virtio_notify *n = container_of(w, struct virtio_notify, watch);
	struct virtio_mmio *t = n->t;

	devloop_eventfd_read(w->fd);
	pthread_mutex_lock(&t->lock);
	if (virtio_mmio_live(t) && t->vqs[n->q].active)
		t->ops->notify(t, n->q);
	pthread_mutex_unlock(&t->lock);
}

/* --- lifetime -------------------------------------------------------------- */

/* Queue Q's QueueNotify writes signal its eventfd without a vCPU exit. */
static int register_ioeventfd(struct virtio_mmio *t, unsigned int q, bool assign)
{
	int ret;

	if (!t->host)
		return 0;
	ret = t->host->ioeventfd(t->host->ctx, t->notify_fd[q], t->base + VIRTIO_MMIO_QUEUE_NOTIFY, q, assign);
	if (ret)
		pr_err("%s: connecting queue %u's notify eventfd (ioeventfd): %s", t->name, q, strerror(-ret));
	return ret;
}

static int register_irqfd(struct virtio_mmio *t, bool assign)
{
	int ret;

	if (!t->host)
		return 0;
	ret = t->host->irqfd(t->host->ctx, t->irqfd, t->irq, assign);
	if (ret)
		pr_err("%s: connecting the interrupt eventfd to IRQ %u (irqfd): %s", t->name, t->irq,
		       strerror(-ret));
	return ret;
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev, const char *name,
		     const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->irqfd = t->ctl_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->notify_fd[q] = -1;
	t->ops = ops;
	t->dev = dev;
	snprintf(t->name, sizeof(t->name), "%s %s", ops->type, name);
	t->host = host;
	t->mem = mem;
	t->base = base;
	t->irq = irq;
	pthread_mutex_init(&t->lock, NULL);
	{
		pthread_condattr_t a;

		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC); /* virtio_mmio_quiesce's deadline */
		pthread_cond_init(&t->quiesce_cond, &a);
		pthread_condattr_destroy(&a);
	}
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->vqs[q].size = VQ_MAX_SIZE;

	ret = devloop_init(&t->loop, t->name, 512);
	if (ret)
		return ret;
	t->loop.after_batch = after_batch;
	t->loop.ctx = t;
	t->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irqfd < 0 || t->ctl_fd < 0) {
		pr_err("%s: eventfd: %s", t->name, strerror(errno));
		return -errno;
	}
	ret = register_irqfd(t, true);
	if (ret)
		return ret;
	t->irqfd_registered = true;
	ret = devloop_watch(&t->loop, &t->ctl_watch, t->ctl_fd, ctl_ready);
	for (unsigned int q = 0; !ret && q < ops->num_queues; q++) {
		t->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->notify_fd[q] < 0) {
			pr_err("%s: eventfd: %s", t->name, strerror(errno));
			return -errno;
		}
		ret = register_ioeventfd(t, q, true);
		if (!ret)
			t->ioeventfd_registered[q] = true;
		if (!ret)
			{
			t->notify[q].t = t;
			t->notify[q].q = q;
			ret = devloop_watch(&t->loop, &t->notify[q].watch, t->notify_fd[q], notify_ready);
		}
	}
	return ret;
}

int virtio_mmio_start(struct virtio_mmio *t)
{
	return devloop_start(&t->loop);
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t->ops)
		return;
	devloop_destroy(&t->loop);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (t->ioeventfd_registered[q])
			register_ioeventfd(t, q, false);
		if (t->notify_fd[q] >= 0)
			close(t->notify_fd[q]);
	}
	if (t->irqfd_registered)
		register_irqfd(t, false);
	if (t->irqfd >= 0)
		close(t->irqfd);
	if (t->ctl_fd >= 0)
		close(t->ctl_fd);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->quiesce_cond);
	t->ops = NULL;
}

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&t->lock);
	st->device_id = t->ops->device_id;
	st->status = t->status;
	st->dev_feat_sel = t->dev_feat_sel;
	st->drv_feat_sel = t->drv_feat_sel;
	st->queue_sel = t->queue_sel;
	st->isr = atomic_load(&t->isr);
	st->irq = t->irq;
	st->base = t->base;
	st->driver_features = t->driver_features;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		const struct virtqueue *vq = &t->vqs[q];

		st->q[q] = (struct virtio_mmio_queue_state){
			.desc = vq->desc_gpa, .avail = vq->avail_gpa, .used = vq->used_gpa, .size = vq->size,
			.last_avail = vq->last_avail, .next_used = vq->next_used, .signalled_used = vq->signalled_used,
			.ready = vq->mem != NULL, .signalled_valid = vq->signalled_valid,
		};
	}
	pthread_mutex_unlock(&t->lock);
}

int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *st)
{
	bool live = st->status & VIRTIO_CONFIG_S_DRIVER_OK;

	if (st->device_id != t->ops->device_id || st->base != t->base || st->irq != t->irq) {
		pr_err("%s: snapshot has device %u at %#llx IRQ %u here: the device list differs", t->name,
		       st->device_id, (unsigned long long)st->base, st->irq);
		return -EINVAL;
	}
	if (st->driver_features & ~all_features(t)) {
		pr_err("%s: snapshot's driver features %#llx are not all offered here", t->name,
		       (unsigned long long)st->driver_features);
		return -EINVAL;
	}
	pthread_mutex_lock(&t->lock);
	t->status = st->status;
	t->dev_feat_sel = st->dev_feat_sel;
	t->drv_feat_sel = st->drv_feat_sel;
	t->queue_sel = st->queue_sel;
	atomic_store(&t->isr, st->isr);
	t->driver_features = st->driver_features;
	for (unsigned int q = 0; q < t->ops->num_queues; q++) {
		const struct virtio_mmio_queue_state *qs = &st->q[q];
		struct virtqueue *vq = &t->vqs[q];

		vq->desc_gpa = qs->desc;
		vq->avail_gpa = qs->avail;
		vq->used_gpa = qs->used;
		vq->size = qs->size;
		if (!qs->ready)
			continue;
		vq->event_idx = st->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
		vq->indirect = st->driver_features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
		if (live && !(st->status & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			if (vq_activate(vq, t->mem, t->name)) {
				pthread_mutex_unlock(&t->lock);
				return -EINVAL;
			}
			vq->last_avail = qs->last_avail;
			vq->next_used = qs->next_used;
			vq->signalled_used = qs->signalled_used;
			vq->signalled_valid = qs->signalled_valid;
		} else {
			vq->mem = t->mem; /* ready, not yet live */
		}
	}
	if (live)
		kick_thread(t); /* the device thread activates it when it starts */
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t size)
{
	int n = snprintf(buf, size, " virtio_mmio.device=4K@%#llx:%u", (unsigned long long)t->base, t->irq);

	return n < 0 || (size_t)n >= size ? -E2BIG : 0;
}
