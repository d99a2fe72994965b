/* virtio-net: receive = readv from the TAP straight into the guest's
 * receive chain; transmit = writev of the guest's chain (virtio_net_hdr_v1
 * included, which the TAP expects). One operation per direction in flight,
 * which keeps frames in order. */
#include "virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "../lib/log.h"
#include "tap.h"

#define RXQ 0
#define TXQ 1
#define MAX_FRAME (65535 + TAP_VNET_HDR_LEN)

static struct net_io *io_idle(struct net_io io[2], uint64_t generation)
{
	for (int i = 0; i < 2; i++)
		if (io[i].busy && io[i].generation == generation)
			return NULL; /* one in flight already */
	for (int i = 0; i < 2; i++)
		if (!io[i].busy)
			return &io[i];
	return NULL;
}

static void rx_start(struct virtio_net *n);
static void tx_start(struct virtio_net *n);

static const char *rx_check(const struct vq_chain *c)
{
	return c->nr_out || c->in_len < TAP_VNET_HDR_LEN ? "readable or shorter than the header" : NULL;
}

static const char *tx_check(const struct vq_chain *c)
{
	return c->nr_in || c->out_len < TAP_VNET_HDR_LEN || c->out_len > MAX_FRAME ? "writable, or not a frame's size"
										    : NULL;
}

static void rx_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct net_io *io = container_of(op, struct net_io, op);
	struct virtio_net *n = io->n;
	struct virtio_mmio *t = &n->t;

	(void)flags;
	pthread_mutex_lock(&t->lock);
	io->busy = false;
	if (io->generation == t->generation && t->vqs[RXQ].active) {
		if (res == -ECANCELED) {
			/* Cancelled by a pause before a frame came: the buffer goes
			 * back to the ring untouched (it was the last one taken). */
			vq_unpop(&t->vqs[RXQ]);
		} else if (res < 0) {
			virtio_mmio_warn_once(t, "read from TAP %s: %s", n->tap, strerror(-res));
			vq_push(&t->vqs[RXQ], io->head, 0);
			n->rx_dropped++;
			virtio_mmio_signal_used(t, RXQ);
		} else {
			vq_push(&t->vqs[RXQ], io->head, (uint32_t)res);
			n->rx_frames++;
			virtio_mmio_signal_used(t, RXQ);
		}
		rx_start(n);
	}
	pthread_mutex_unlock(&t->lock);
}

/* Post the next receive buffer to the TAP, if the guest gave us one. */
static void rx_start(struct virtio_net *n)
{
	struct virtio_mmio *t = &n->t;
	struct virtqueue *vq = &t->vqs[RXQ];
	struct net_io *io = io_idle(n->rx, t->generation);
	struct io_uring_sqe *sqe;
	struct vq_chain c;

	if (!io || !virtio_mmio_live(t))
		return;
	if (!virtio_mmio_pop(t, RXQ, &c, "bad receive buffer", rx_check))
		return;
	sqe = devloop_sqe(&t->loop);
	if (!sqe) {
		vq_unpop(vq);
		return;
	}
	io->busy = true;
	io->generation = t->generation;
	io->head = c.head;
	io->niov = c.nr_in;
	memcpy(io->iov, c.iov, c.nr_in * sizeof(c.iov[0]));
	io_uring_prep_readv(sqe, n->tap_fd, io->iov, io->niov, 0);
	io_uring_sqe_set_data(sqe, &io->op);
}

static void tx_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct net_io *io = container_of(op, struct net_io, op);
	struct virtio_net *n = io->n;
	struct virtio_mmio *t = &n->t;

	(void)flags;
	pthread_mutex_lock(&t->lock);
	io->busy = false;
	if (io->generation == t->generation && t->vqs[TXQ].active) {
		if (res < 0) {
			/* The frame is dropped, as a wire would; the guest goes on. */
			virtio_mmio_warn_once(t, "write to TAP %s: %s", n->tap, strerror(-res));
			n->tx_errors++;
		} else {
			n->tx_frames++;
		}
		vq_push(&t->vqs[TXQ], io->head, 0);
		virtio_mmio_signal_used(t, TXQ);
		tx_start(n);
	}
	pthread_mutex_unlock(&t->lock);
}

/* Send the next frame the guest queued. */
static void tx_start(struct virtio_net *n)
{
	struct virtio_mmio *t = &n->t;
	struct virtqueue *vq = &t->vqs[TXQ];
	struct net_io *io = io_idle(n->tx, t->generation);
	struct io_uring_sqe *sqe;
	struct vq_chain c;

	if (!io || !virtio_mmio_live(t))
		return;
	if (!virtio_mmio_pop(t, TXQ, &c, "bad transmit chain", tx_check))
		return;
	sqe = devloop_sqe(&t->loop);
	if (!sqe) {
		vq_unpop(vq);
		return;
	}
	io->busy = true;
	io->generation = t->generation;
	io->head = c.head;
	io->niov = c.nr_out;
	memcpy(io->iov, c.iov, c.nr_out * sizeof(c.iov[0]));
	io_uring_prep_writev(sqe, n->tap_fd, io->iov, io->niov, 0);
	io_uring_sqe_set_data(sqe, &io->op);
}

static void net_notify(struct virtio_mmio *t, unsigned int q)
{
	if (q == RXQ)
		rx_start(t->dev);
	else if (q == TXQ)
		tx_start(t->dev);
}

static void net_activate(struct virtio_mmio *t)
{
	rx_start(t->dev);
	tx_start(t->dev);
}

static void net_reset(struct virtio_mmio *t)
{
	(void)t; /* in-flight frames see the new generation and are dropped */
}

/* A receive waits for a frame that may never come: cancel it. A transmit
 * finishes by itself. */
static void net_quiesce(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	for (int i = 0; i < 2; i++) {
		if (n->rx[i].busy && n->rx[i].generation == t->generation) {
			struct io_uring_sqe *sqe = devloop_sqe(&t->loop);

			if (sqe) {
				io_uring_prep_cancel(sqe, &n->rx[i].op, 0);
				io_uring_sqe_set_data(sqe, NULL);
			}
		}
	}
}

static bool net_idle(struct virtio_mmio *t)
{
	struct virtio_net *n = t->dev;

	for (int i = 0; i < 2; i++)
		if ((n->rx[i].busy || n->tx[i].busy) &&
		    (n->rx[i].generation == t->generation || n->tx[i].generation == t->generation))
			return false;
	return true;
}

const struct virtio_dev_ops virtio_net_ops = {
	.type = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.activate = net_activate,
	.reset = net_reset,
	.notify = net_notify,
	.quiesce = net_quiesce,
	.idle = net_idle,
};

int virtio_net_init(struct virtio_net *n, const char *tap, const uint8_t *mac, const struct virtio_mmio_host *host,
		    const struct guest_mem *mem, uint64_t base, uint32_t irq)
{
	int ret;

	memset(n, 0, sizeof(*n));
	n->tap_fd = -1;
	snprintf(n->tap, sizeof(n->tap), "%s", tap);
	ret = tap_open(tap);
	if (ret < 0)
		return ret;
	n->tap_fd = ret;
	if (mac) {
		memcpy(n->config.mac, mac, 6);
	} else {
		uint32_t h = 2166136261u; /* FNV-1a of the name: stable across runs */

		for (const char *p = tap; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		n->config.mac[0] = 0x02; /* locally administered, unicast */
		n->config.mac[1] = 0x68; /* 'h' */
		memcpy(n->config.mac + 2, &h, 4);
	}
	n->config.status = VIRTIO_NET_S_LINK_UP;
	for (int i = 0; i < 2; i++) {
		n->rx[i] = (struct net_io){ .op.done = rx_done, .n = n };
		n->tx[i] = (struct net_io){ .op.done = tx_done, .n = n };
	}
	ret = virtio_mmio_init(&n->t, &virtio_net_ops, n, tap, host, mem, base, irq);
	if (ret)
		return ret;
	n->t.config = (const uint8_t *)&n->config;
	n->t.config_len = sizeof(n->config);
	n->t.device_features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS);
	return 0;
}

void virtio_net_destroy(struct virtio_net *n)
{
	virtio_mmio_destroy(&n->t);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	n->tap_fd = -1;
}
