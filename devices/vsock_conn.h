/* One virtio-vsock stream between a guest port and a host Unix socket: its
 * state, the credit accounting of virtio 1.x §5.10.6.3, and the buffer that
 * holds guest data until the host socket takes it. Pure bookkeeping, no I/O,
 * so the state machine and the credit arithmetic are unit-tested alone.
 *
 * Counters are free-running uint32_t, as on the wire: differences stay right
 * across wrap-around. */
#ifndef HOPX_DEVICES_VSOCK_CONN_H
#define HOPX_DEVICES_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devloop.h"

/* Bytes of guest data we buffer per stream (advertised as buf_alloc). */
#define VSOCK_BUF_ALLOC (128u * 1024)

enum vsock_state {
	VC_HOST_CONNECT,  /* host client connected; waiting for its "CONNECT <port>\n" */
	VC_REQUEST_SENT,  /* REQUEST sent to the guest; waiting for RESPONSE */
	VC_ESTABLISHED,
	VC_CLOSING,       /* host closed: SHUTDOWN sent; waiting for the guest's RST (or the timeout) */
};

/* Control packets waiting for a guest receive buffer. */
enum {
	VC_PEND_REQUEST = 1 << 0,
	VC_PEND_RESPONSE = 1 << 1,
	VC_PEND_CREDIT = 1 << 2,
	VC_PEND_SHUTDOWN = 1 << 3,
	VC_PEND_RST = 1 << 4,
};

struct vsock_conn {
	struct vsock_conn *next;
	enum vsock_state state;
	uint32_t host_port, guest_port;
	int fd;               /* the host side's Unix socket */

	/* The guest's receive window (from every packet it sends). */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt;      /* payload bytes sent to the guest */
	/* Our receive window for guest data. */
	uint32_t fwd_cnt;     /* guest bytes written to the host socket */
	uint32_t fwd_cnt_sent;/* fwd_cnt the guest last heard of */
	uint8_t *buf;         /* VSOCK_BUF_ALLOC ring, allocated on first data */
	uint32_t buf_head, buf_len;

	unsigned int pending; /* VC_PEND_* */
	uint32_t shutdown_flags; /* for VC_PEND_SHUTDOWN */
	bool guest_shut_send, guest_shut_rcv; /* the guest will not send / receive more */
	bool host_eof;
	bool readable;        /* host socket has data (poll fired, recv not yet EAGAIN) */
	bool release;         /* close once in-flight operations finish */
	uint64_t closing_since_ns;

	char line[32];        /* the CONNECT line being read */
	size_t line_len;

	/* In-flight io_uring operations (poll, send), each counted in `inflight`. */
	struct devloop_op poll_op, send_op;
	bool poll_armed, send_inflight;
	void *owner;          /* the struct virtio_vsock */
};

/* Free space in the guest's receive window: how much more we may send. */
static inline uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Whether the guest should hear of our forwarded count now: once a quarter
 * of the window has been freed since it last did, so a sender blocked on a
 * full window always learns of the room. */
static inline bool vsock_credit_update_due(const struct vsock_conn *c)
{
	return c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 4;
}

/* Store LEN guest bytes. -ENOSPC if they exceed the window we advertised
 * (the guest ignored its credit), -ENOMEM if the buffer cannot be allocated. */
int vsock_conn_buf_put(struct vsock_conn *c, const struct iovec *iov, unsigned int n, size_t off, uint32_t len);
/* The oldest buffered bytes as one contiguous run (its length in *LEN). */
const uint8_t *vsock_conn_buf_peek(const struct vsock_conn *c, uint32_t *len);
/* LEN bytes reached the host socket: drop them and advance fwd_cnt. */
void vsock_conn_buf_consume(struct vsock_conn *c, uint32_t len);

/* Feed bytes of the host's "CONNECT <port>\n" line. Returns 1 with *PORT set
 * when the line is complete and valid, 0 when more bytes are needed, -EINVAL
 * for anything else (too long, not CONNECT, bad port). */
int vsock_conn_line_feed(struct vsock_conn *c, char ch, uint32_t *port);

void vsock_conn_free(struct vsock_conn *c);

#endif
