/* virtio-net (virtio 1.x §5.1) over a TAP device (devices/tap.c, its
 * backend): one receive and one transmit queue, MAC and link status in
 * config space, no offloads. Frames move between the TAP and guest buffers
 * through io_uring with no copies. */
#ifndef HOPX_DEVICES_VIRTIO_NET_H
#define HOPX_DEVICES_VIRTIO_NET_H

#include <linux/virtio_net.h>

#include "tap.h"
#include "virtio_mmio.h"

struct net_io {
	struct devloop_op op;
	struct virtio_net *n;
	unsigned int q; /* which queue: receive (0) or transmit (1) */
	bool busy;
	uint64_t generation;
	uint16_t head;
	struct iovec iov[VQ_MAX_SIZE];
	unsigned int niov;
};

struct virtio_net {
	struct virtio_mmio t;
	struct tap backend;
	char tap[16];   /* the TAP's name */
	struct virtio_net_config config;
	struct net_io rx[2], tx[2]; /* one in flight per direction; the second covers a reset */
	uint64_t rx_frames, tx_frames, rx_dropped, tx_errors;
};

extern const struct virtio_dev_ops virtio_net_ops;

/* MAC NULL: a locally administered address derived from the TAP name. */
int virtio_net_init(struct virtio_net *n, const char *tap, const uint8_t *mac, const struct virtio_mmio_host *host,
		    const struct guest_mem *mem, uint64_t base, uint32_t irq);
/* The same over FD, which carries one frame (header first) per read and
 * write in place of a TAP (tests: an AF_UNIX SOCK_DGRAM socket); NAME names
 * it in logs and derives the MAC. The device owns FD from here on. */
int virtio_net_init_fd(struct virtio_net *n, int fd, const char *name, const uint8_t *mac,
		       const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq);
void virtio_net_destroy(struct virtio_net *n);

#endif
