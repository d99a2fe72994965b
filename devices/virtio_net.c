/* virtio-net: receive = the backend (devices/tap.c) reads a frame straight
 * into the guest's receive chain; transmit = it writes the guest's chain
 * (virtio_net_hdr_v1 included, which the TAP expects). One operation per
 * direction in flight, which keeps frames in order. */
#include "virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_ids.h>

#include "../lib/log.h"

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

static void io_start(struct virtio_net *n, unsigned int q);

static const char *rx_check(const struct vq_chain *c)
{
	return c->nr_out || c->in_len < TAP_VNET_HDR_LEN ? "readable or shorter than the header" : NULL;
}

static const char *tx_check(const struct vq_chain *c)
{
	return c->nr_in || c->out_len < TAP_VNET_HDR_LEN || c->out_len > MAX_FRAME ? "writable, or not a frame's size"
										    : NULL;
}

/* A frame came in from the backend (RXQ) or went out to it (TXQ). */
static void io_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct net_io *io = container_of(op, struct net_io, op);
	struct virtio_net *n = io->n;
	struct virtio_mmio *t = &n->t;
	unsigned int q = io->q;

	(void)flags;
	pthread_mutex_lock(&t->lock);
	io->busy = false;
	if (io->generation == t->generation && t->vqs[q].active) {
		if (q == RXQ && res == -ECANCELED) {
			/* Cancelled by a pause before a frame came: the buffer goes
			 * back to the ring untouched (it was the last one taken). */
			vq_unpop(&t->vqs[RXQ]);
		} else {
			/* A failed frame is dropped, as a wire would; the guest goes on. */
			if (res < 0)
				virtio_mmio_warn_once(t, "%s TAP %s: %s", q == RXQ ? "read from" : "write to", n->tap,
						      strerror(-res));
			if (q == RXQ && res < 0)
				n->rx_dropped++;
			else if (q == RXQ)
				n->rx_frames++;
			else if (res < 0)
				n->tx_errors++;
			else
				n->tx_frames++;
			vq_push(&t->vqs[q], io->head, q == RXQ && res > 0 ? (uint32_t)res : 0);
			virtio_mmio_signal_used(t, q);
		}
		io_start(n, q);
	}
	pthread_mutex_unlock(&t->lock);
}

/* RXQ: post the next receive buffer to the backend, if the guest gave us
 * one. TXQ: send the next frame the guest queued. */
static void io_start(struct virtio_net *n, unsigned int q)
{
	struct virtio_mmio *t = &n->t;
	bool rx = q == RXQ;
	struct net_io *io = io_idle(rx ? n->rx : n->tx, t->generation);
	struct vq_chain c;
	int ret;

	if (!io || !virtio_mmio_live(t))
		return;
	if (!virtio_mmio_pop(t, q, &c, rx ? "bad receive buffer" : "bad transmit chain", rx ? rx_check : tx_check))
		return;
	/* The checks leave a receive buffer only writable segments, and a
	 * frame to send only readable ones: either way, all of c.iov. */
	io->niov = rx ? c.nr_in : c.nr_out;
	memcpy(io->iov, c.iov, io->niov * sizeof(c.iov[0]));
	ret = rx ? tap_readv(&n->backend, &t->loop, &io->op, io->iov, io->niov)
		 : tap_writev(&n->backend, &t->loop, &io->op, io->iov, io->niov);
	if (ret) {
		vq_unpop(&t->vqs[q]);
		return;
	}
	io->busy = true;
	io->generation = t->generation;
	io->head = c.head;
}

static void net_notify(struct virtio_mmio *t, unsigned int q)
{
	if (q == RXQ || q == TXQ)
		io_start(t->dev, q);
}

static void net_activate(struct virtio_mmio *t)
{
	io_start(t->dev, RXQ);
	io_start(t->dev, TXQ);
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

	for (int i = 0; i < 2; i++)
		if (n->rx[i].busy && n->rx[i].generation == t->generation)
			devloop_cancel(&t->loop, &n->rx[i].op);
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

/* Set up the device around its backend, already open (N->backend). */
static int net_init(struct virtio_net *n, const char *name, const uint8_t *mac, const struct virtio_mmio_host *host,
		    const struct guest_mem *mem, uint64_t base, uint32_t irq)
{
	int ret;

	snprintf(n->tap, sizeof(n->tap), "%s", name);
	if (mac) {
		memcpy(n->config.mac, mac, 6);
	} else {
		uint32_t h = 2166136261u; /* FNV-1a of the name: stable across runs */

		for (const char *p = name; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		n->config.mac[0] = 0x02; /* locally administered, unicast */
		n->config.mac[1] = 0x68; /* 'h' */
		memcpy(n->config.mac + 2, &h, 4);
	}
	n->config.status = VIRTIO_NET_S_LINK_UP;
	for (int i = 0; i < 2; i++) {
		n->rx[i] = (struct net_io){ .op.done = io_done, .n = n, .q = RXQ };
		n->tx[i] = (struct net_io){ .op.done = io_done, .n = n, .q = TXQ };
	}
	ret = virtio_mmio_init(&n->t, &virtio_net_ops, n, name, host, mem, base, irq);
	if (ret)
		return ret;
	n->t.config = (const uint8_t *)&n->config;
	n->t.config_len = sizeof(n->config);
	n->t.device_features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS);
	return 0;
}

int virtio_net_init(struct virtio_net *n, const char *tap, const uint8_t *mac, const struct virtio_mmio_host *host,
		    const struct guest_mem *mem, uint64_t base, uint32_t irq)
{
	int ret;

	memset(n, 0, sizeof(*n));
	ret = tap_open(&n->backend, tap);
	if (ret)
		return ret;
	return net_init(n, tap, mac, host, mem, base, irq);
}

int virtio_net_init_fd(struct virtio_net *n, int fd, const char *name, const uint8_t *mac,
		       const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq)
{
	memset(n, 0, sizeof(*n));
	tap_adopt(&n->backend, fd, name);
	return net_init(n, name, mac, host, mem, base, irq);
}

void virtio_net_destroy(struct virtio_net *n)
{
	virtio_mmio_destroy(&n->t);
	tap_close(&n->backend);
}
