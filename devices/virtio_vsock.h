/* virtio-vsock (virtio 1.x §5.10) with Firecracker's hybrid host side:
 * - host-initiated: a client connects to the Unix socket UDS_PATH, writes
 *   "CONNECT <port>\n" and, once the guest accepts, reads "OK <hostport>\n";
 *   then the socket carries the stream;
 * - guest-initiated: a guest connection to host (CID 2) port P is connected
 *   to the Unix socket "UDS_PATH_P"; nobody listening there means RST.
 * Streams have credit-based flow control in both directions; many streams
 * run at once; either side closing tears the stream down cleanly. */
#ifndef HOPX_DEVICES_VIRTIO_VSOCK_H
#define HOPX_DEVICES_VIRTIO_VSOCK_H

#include <linux/time_types.h>
#include <linux/virtio_vsock.h>

#include "virtio_mmio.h"
#include "vsock_conn.h"

#define VSOCK_HOST_CID 2
#define VSOCK_MAX_CONNS 512
#define VSOCK_RST_QUEUE 64
/* A stream the host closed waits this long for the guest's RST. */
#define VSOCK_CLOSE_TIMEOUT_NS 2000000000ULL

struct virtio_vsock {
	struct virtio_mmio t;
	struct virtio_vsock_config config;
	uint32_t cid;
	char *uds_path;
	int listen_fd;
	struct devloop_watch listen_watch;
	struct vsock_conn *conns;
	unsigned int nconns;
	uint32_t next_host_port;
	/* RSTs for packets that have no stream (answered as buffers allow). */
	struct virtio_vsock_hdr rsts[VSOCK_RST_QUEUE];
	unsigned int rst_head, rst_len;
	struct devloop_op timer_op;
	struct __kernel_timespec timer_ts;
	bool timer_armed;
	uint64_t rx_bytes, tx_bytes, resets_sent;
	bool reset_event_pending; /* restored: tell the guest its streams are gone */
};

extern const struct virtio_dev_ops virtio_vsock_ops;

int virtio_vsock_init(struct virtio_vsock *v, uint32_t cid, const char *uds_path,
		      const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq);
void virtio_vsock_destroy(struct virtio_vsock *v);
/* After a restore: the guest gets VIRTIO_VSOCK_EVENT_TRANSPORT_RESET when the
 * device goes live, so it drops every stream it had (their host sockets are
 * gone with the old process). */
void virtio_vsock_restored(struct virtio_vsock *v);

#endif
