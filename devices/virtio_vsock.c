/* virtio-vsock device: packets from the guest's transmit queue drive each
 * stream's state machine (vsock_conn.h); data and control packets for the
 * guest wait for its receive buffers (rx_pump). Host sockets are blocking
 * Unix sockets: io_uring polls them for input and sends buffered guest data
 * to them, so a slow host reader only fills that stream's window. */
#include "virtio_vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "../lib/clock.h"
#include "../lib/log.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define HDR_LEN ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define MAX_PKT_PAYLOAD (64u * 1024)

static void rx_pump(struct virtio_vsock *v);
static void send_reset_event(struct virtio_vsock *v);


/* --- streams ----------------------------------------------------------------- */

static struct vsock_conn *conn_find(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port)
{
	for (struct vsock_conn *c = v->conns; c; c = c->next)
		if (!c->release && c->host_port == host_port && c->guest_port == guest_port &&
		    c->state != VC_HOST_CONNECT)
			return c;
	return NULL;
}

static bool host_port_used(struct virtio_vsock *v, uint32_t port)
{
	for (struct vsock_conn *c = v->conns; c; c = c->next)
		if (!c->release && c->host_port == port)
			return true;
	return false;
}

static void poll_done(struct devloop_op *op, int res, uint32_t flags);
static void send_done(struct devloop_op *op, int res, uint32_t flags);

static struct vsock_conn *conn_new(struct virtio_vsock *v, int fd, enum vsock_state state)
{
	struct vsock_conn *c;

	if (v->nconns >= VSOCK_MAX_CONNS) {
		virtio_mmio_warn_once(&v->t, "more than %d streams: new ones are refused", VSOCK_MAX_CONNS);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->state = state;
	c->owner = v;
	c->poll_op.done = poll_done;
	c->send_op.done = send_done;
	c->next = v->conns;
	v->conns = c;
	v->nconns++;
	return c;
}

/* Drop stream C: its socket is shut down at once (which ends any poll or send
 * in flight), and it is freed when those operations have come back. */
static void conn_release(struct vsock_conn *c)
{
	if (c->release)
		return;
	c->release = true;
	shutdown(c->fd, SHUT_RDWR);
}

/* Free released streams with nothing in flight. */
static void conn_reap(struct virtio_vsock *v)
{
	struct vsock_conn **pp = &v->conns;

	while (*pp) {
		struct vsock_conn *c = *pp;

		if (c->release && !c->poll_armed && !c->send_inflight) {
			*pp = c->next;
			close(c->fd);
			vsock_conn_free(c);
			v->nconns--;
		} else {
			pp = &c->next;
		}
	}
}

/* Queue an RST to guest port GUEST_PORT from host port HOST_PORT. */
static void queue_rst(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port)
{
	struct virtio_vsock_hdr *h;

	if (v->rst_len == VSOCK_RST_QUEUE) { /* drop the oldest: the guest is not reading */
		v->rst_head = (v->rst_head + 1) % VSOCK_RST_QUEUE;
		v->rst_len--;
	}
	h = &v->rsts[(v->rst_head + v->rst_len++) % VSOCK_RST_QUEUE];
	memset(h, 0, sizeof(*h));
	h->src_port = host_port;
	h->dst_port = guest_port;
	h->op = VIRTIO_VSOCK_OP_RST;
}

static void arm_poll(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->poll_armed || c->release || c->readable)
		return;
	if (c->state != VC_HOST_CONNECT && (c->state != VC_ESTABLISHED || c->host_eof || c->guest_shut_rcv))
		return;
	sqe = devloop_sqe(&v->t.loop);
	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, c->fd, POLLIN);
	io_uring_sqe_set_data(sqe, &c->poll_op);
	c->poll_armed = true;
}

static void send_start(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct io_uring_sqe *sqe;
	const uint8_t *p;
	uint32_t len;

	if (c->send_inflight || c->release || !c->buf_len)
		return;
	sqe = devloop_sqe(&v->t.loop);
	if (!sqe)
		return;
	p = vsock_conn_buf_peek(c, &len);
	io_uring_prep_send(sqe, c->fd, p, len, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, &c->send_op);
	c->send_inflight = true;
}

/* The guest has said it sends no more and everything it sent has reached
 * the host socket: half-close it, or end the stream if both ways are done. */
static void maybe_finish(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->release || c->buf_len || !c->guest_shut_send)
		return;
	if (c->guest_shut_rcv || c->host_eof) {
		queue_rst(v, c->host_port, c->guest_port);
		conn_release(c);
	} else {
		shutdown(c->fd, SHUT_WR);
	}
}

static void send_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct vsock_conn *c = container_of(op, struct vsock_conn, send_op);
	struct virtio_vsock *v = c->owner;

	(void)flags;
	pthread_mutex_lock(&v->t.lock);
	c->send_inflight = false;
	if (!c->release) {
		if (res < 0) { /* the host side went away */
			queue_rst(v, c->host_port, c->guest_port);
			conn_release(c);
		} else {
			vsock_conn_buf_consume(c, (uint32_t)res);
			v->tx_bytes += (uint64_t)res;
			if (vsock_credit_update_due(c))
				c->pending |= VC_PEND_CREDIT;
			send_start(v, c);
			maybe_finish(v, c);
		}
		rx_pump(v);
	}
	conn_reap(v);
	pthread_mutex_unlock(&v->t.lock);
}

/* Read the host client's CONNECT line a byte at a time (nothing after the
 * newline may be consumed: it is stream data). */
static void read_connect_line(struct virtio_vsock *v, struct vsock_conn *c)
{
	for (;;) {
		char ch;
		uint32_t port;
		ssize_t n = recv(c->fd, &ch, 1, MSG_DONTWAIT);
		int ret;

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->readable = false;
			arm_poll(v, c);
			return;
		}
		if (n <= 0) {
			conn_release(c);
			return;
		}
		ret = vsock_conn_line_feed(c, ch, &port);
		if (ret < 0) {
			pr_warn("%s: host client sent a bad line (expected \"CONNECT <port>\\n\"): closed", v->t.name);
			conn_release(c);
			return;
		}
		if (ret == 1) {
			while (host_port_used(v, v->next_host_port) || v->next_host_port < (1u << 30))
				v->next_host_port = v->next_host_port < (1u << 30) ? 1u << 30 : v->next_host_port + 1;
			c->host_port = v->next_host_port++;
			c->guest_port = port;
			c->state = VC_REQUEST_SENT;
			c->pending |= VC_PEND_REQUEST;
			c->readable = false;
			rx_pump(v);
			return;
		}
	}
}

static void poll_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct vsock_conn *c = container_of(op, struct vsock_conn, poll_op);
	struct virtio_vsock *v = c->owner;

	(void)flags;
	pthread_mutex_lock(&v->t.lock);
	c->poll_armed = false;
	if (!c->release) {
		if (res < 0) {
			queue_rst(v, c->host_port, c->guest_port);
			conn_release(c);
		} else {
			c->readable = true;
			if (c->state == VC_HOST_CONNECT)
				read_connect_line(v, c);
		}
		rx_pump(v);
	}
	conn_reap(v);
	pthread_mutex_unlock(&v->t.lock);
}

/* --- host side: new connections ------------------------------------------------ */

static void listen_ready(struct devloop_watch *w)
{
	struct virtio_vsock *v = container_of(w, struct virtio_vsock, listen_watch);

	pthread_mutex_lock(&v->t.lock);
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				pr_warn("%s: accept on %s: %s", v->t.name, v->uds_path, strerror(errno));
			if (errno != EINTR && errno != ECONNABORTED)
				break;
			continue;
		}
		c = conn_new(v, fd, VC_HOST_CONNECT);
		if (!c) {
			close(fd);
			continue;
		}
		arm_poll(v, c);
	}
	pthread_mutex_unlock(&v->t.lock);
}

/* The guest connects to host port P: connect to "<uds_path>_P". */
static void guest_connect(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds_path, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path) || fd < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		pr_debug("%s: guest port %u -> host port %u: %s: RST", v->t.name, h->src_port, h->dst_port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		queue_rst(v, h->dst_port, h->src_port);
		return;
	}
	/* Blocking from here on: io_uring arms its own poll for sends. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	c = conn_new(v, fd, VC_ESTABLISHED);
	if (!c) {
		close(fd);
		queue_rst(v, h->dst_port, h->src_port);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending |= VC_PEND_RESPONSE;
	arm_poll(v, c);
}

/* --- packets from the guest ----------------------------------------------------- */

static void handle_packet(struct virtio_vsock *v, const struct virtio_vsock_hdr *h, const struct vq_chain *ch)
{
	struct vsock_conn *c;
	char ok[32];
	int n;

	if (h->src_cid != v->cid || h->dst_cid != VSOCK_HOST_CID) {
		virtio_mmio_warn_once(&v->t, "packet from CID %llu to CID %llu dropped (guest is %u, host %d)",
				      (unsigned long long)h->src_cid, (unsigned long long)h->dst_cid, v->cid,
				      VSOCK_HOST_CID);
		return;
	}
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (h->op != VIRTIO_VSOCK_OP_RST)
			queue_rst(v, h->dst_port, h->src_port);
		return;
	}
	c = conn_find(v, h->dst_port, h->src_port);
	if (c) {
		c->peer_buf_alloc = h->buf_alloc;
		c->peer_fwd_cnt = h->fwd_cnt;
	}
	switch (h->op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c) { /* a second REQUEST on a live stream */
			queue_rst(v, h->dst_port, h->src_port);
			conn_release(c);
		} else {
			guest_connect(v, h);
		}
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (!c || c->state != VC_REQUEST_SENT) {
			queue_rst(v, h->dst_port, h->src_port);
			break;
		}
		n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
		if (send(c->fd, ok, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
			queue_rst(v, h->dst_port, h->src_port);
			conn_release(c);
			break;
		}
		c->state = VC_ESTABLISHED;
		arm_poll(v, c);
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (!c || c->state == VC_REQUEST_SENT || c->guest_shut_send) {
			queue_rst(v, h->dst_port, h->src_port);
			if (c)
				conn_release(c);
			break;
		}
		if (h->len > ch->out_len - HDR_LEN || h->len > MAX_PKT_PAYLOAD) {
			virtio_mmio_warn_once(&v->t, "RW packet claims %u bytes but carries %u", h->len,
					      ch->out_len - HDR_LEN);
			queue_rst(v, h->dst_port, h->src_port);
			conn_release(c);
			break;
		}
		if (vsock_conn_buf_put(c, ch->iov, ch->nr_out, HDR_LEN, h->len)) {
			virtio_mmio_warn_once(&v->t, "guest port %u sent beyond its credit: stream reset",
					      h->src_port);
			queue_rst(v, h->dst_port, h->src_port);
			conn_release(c);
			break;
		}
		send_start(v, c);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		if (!c)
			queue_rst(v, h->dst_port, h->src_port);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (c)
			c->pending |= VC_PEND_CREDIT;
		else
			queue_rst(v, h->dst_port, h->src_port);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (!c) {
			queue_rst(v, h->dst_port, h->src_port);
			break;
		}
		c->guest_shut_send |= !!(h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND);
		c->guest_shut_rcv |= !!(h->flags & VIRTIO_VSOCK_SHUTDOWN_RCV);
		if (c->guest_shut_rcv && !c->guest_shut_send)
			shutdown(c->fd, SHUT_RD);
		maybe_finish(v, c);
		break;
	case VIRTIO_VSOCK_OP_RST:
		if (c)
			conn_release(c);
		break;
	default:
		queue_rst(v, h->dst_port, h->src_port);
		if (c)
			conn_release(c);
		break;
	}
}

static const char *tx_check(const struct vq_chain *c)
{
	return c->out_len < HDR_LEN ? "shorter than the header" : NULL;
}

static void tx_process(struct virtio_vsock *v)
{
	struct virtqueue *vq = &v->t.vqs[TXQ];
	struct vq_chain ch;
	struct virtio_vsock_hdr h;

	while (virtio_mmio_pop(&v->t, TXQ, &ch, "malformed transmit packet", tx_check)) {
		iov_to_buf(ch.iov, ch.nr_out, 0, &h, sizeof(h));
		handle_packet(v, &h, &ch);
		vq_push(vq, ch.head, 0);
		virtio_mmio_signal_used(&v->t, TXQ);
	}
}

/* --- packets to the guest -------------------------------------------------------- */

/* Fill H for stream C with operation OP (window fields included). */
static void conn_hdr(struct virtio_vsock *v, struct vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = v->cid;
	h->src_port = c->host_port;
	h->dst_port = c->guest_port;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_BUF_ALLOC;
	h->fwd_cnt = c->fwd_cnt;
	c->fwd_cnt_sent = c->fwd_cnt;
}

/* The next control packet of stream C, if any (clears its pending bit). */
static bool conn_control(struct virtio_vsock *v, struct vsock_conn *c, struct virtio_vsock_hdr *h)
{
	if (c->release || !c->pending)
		return false;
	if (c->pending & VC_PEND_REQUEST) {
		c->pending &= ~VC_PEND_REQUEST;
		conn_hdr(v, c, h, VIRTIO_VSOCK_OP_REQUEST);
	} else if (c->pending & VC_PEND_RESPONSE) {
		c->pending &= ~VC_PEND_RESPONSE;
		conn_hdr(v, c, h, VIRTIO_VSOCK_OP_RESPONSE);
	} else if (c->pending & VC_PEND_SHUTDOWN) {
		c->pending &= ~VC_PEND_SHUTDOWN;
		conn_hdr(v, c, h, VIRTIO_VSOCK_OP_SHUTDOWN);
		h->flags = c->shutdown_flags;
		if (c->shutdown_flags & VIRTIO_VSOCK_SHUTDOWN_RCV) {
			c->state = VC_CLOSING;
			c->closing_since_ns = now_ns();
		}
	} else {
		c->pending &= ~VC_PEND_CREDIT;
		conn_hdr(v, c, h, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	}
	return true;
}

/* Move host data of stream C into chain CH. Returns the payload length, 0
 * when the chain was not used (nothing to read, or the host closed). */
static uint32_t conn_read(struct virtio_vsock *v, struct vsock_conn *c, const struct vq_chain *ch)
{
	struct iovec iov[VQ_MAX_SIZE];
	uint32_t room = ch->in_len - HDR_LEN, credit = vsock_peer_credit(c), want;
	struct msghdr msg = { 0 };
	ssize_t n;
	int niov;

	want = room < credit ? room : credit;
	if (want > MAX_PKT_PAYLOAD)
		want = MAX_PKT_PAYLOAD;
	niov = iov_slice(ch->iov + ch->nr_out, ch->nr_in, HDR_LEN, want, iov, VQ_MAX_SIZE);
	if (niov <= 0)
		return 0;
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)niov;
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
	if (n > 0)
		return (uint32_t)n;
	c->readable = false;
	if (n == 0) {
		/* The host sends no more. If it closed the socket altogether (not
		 * just shut its write side), the guest need not send either: then
		 * await the guest's RST, with a timeout. */
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };

		c->host_eof = true;
		c->pending |= VC_PEND_SHUTDOWN;
		c->shutdown_flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
			c->shutdown_flags |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		arm_poll(v, c);
	} else {
		queue_rst(v, c->host_port, c->guest_port);
		conn_release(c);
	}
	return 0;
}

static bool conn_wants_read(const struct vsock_conn *c)
{
	return !c->release && c->state == VC_ESTABLISHED && c->readable && !c->host_eof && !c->guest_shut_rcv &&
	       vsock_peer_credit(c) > 0;
}

static const char *rx_check(const struct vq_chain *c)
{
	return c->nr_out || c->in_len < HDR_LEN ? "readable or shorter than a header" : NULL;
}

/* Fill the guest's receive buffers: stray RSTs first, then each stream's
 * control packets, then stream data while the guest's window allows. */
static void rx_pump(struct virtio_vsock *v)
{
	struct virtqueue *vq = &v->t.vqs[RXQ];
	struct vq_chain ch;

	if (!virtio_mmio_live(&v->t) || !vq->active)
		return;
	for (;;) {
		struct virtio_vsock_hdr h;
		struct vsock_conn *c = NULL, *reader = NULL;
		uint32_t len = 0;
		bool have = false;

		if (v->rst_len) {
			have = true;
		} else {
			for (c = v->conns; c; c = c->next) {
				if (!c->release && c->pending)
					break;
				if (!reader && conn_wants_read(c))
					reader = c;
			}
			if (!c && !reader)
				return;
		}
		if (!virtio_mmio_pop(&v->t, RXQ, &ch, "bad receive buffer", rx_check))
			return; /* the guest's next receive notify brings us back */
		if (have) {
			h = v->rsts[v->rst_head];
			v->rst_head = (v->rst_head + 1) % VSOCK_RST_QUEUE;
			v->rst_len--;
			h.src_cid = VSOCK_HOST_CID;
			h.dst_cid = v->cid;
			h.type = VIRTIO_VSOCK_TYPE_STREAM;
			v->resets_sent++;
		} else if (c) {
			conn_control(v, c, &h);
		} else {
			len = conn_read(v, reader, &ch);
			if (!len) {
				vq_unpop(vq);
				continue;
			}
			conn_hdr(v, reader, &h, VIRTIO_VSOCK_OP_RW);
			h.len = len;
			reader->rx_cnt += len;
			v->rx_bytes += len;
		}
		iov_from_buf(ch.iov, ch.nr_in, 0, &h, HDR_LEN);
		vq_push(vq, ch.head, HDR_LEN + len);
		virtio_mmio_signal_used(&v->t, RXQ);
	}
}

/* --- timer: streams the host closed whose guest never answered ------------------ */

static void timer_arm(struct virtio_vsock *v)
{
	struct io_uring_sqe *sqe;

	if (v->timer_armed)
		return;
	sqe = devloop_sqe(&v->t.loop);
	if (!sqe)
		return;
	v->timer_ts = (struct __kernel_timespec){ .tv_sec = 1 };
	io_uring_prep_timeout(sqe, &v->timer_ts, 0, 0);
	io_uring_sqe_set_data(sqe, &v->timer_op);
	v->timer_armed = true;
}

static void timer_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct virtio_vsock *v = container_of(op, struct virtio_vsock, timer_op);
	uint64_t now = now_ns();

	(void)res;
	(void)flags;
	pthread_mutex_lock(&v->t.lock);
	v->timer_armed = false;
	for (struct vsock_conn *c = v->conns; c; c = c->next) {
		if (!c->release && c->state == VC_CLOSING && now - c->closing_since_ns > VSOCK_CLOSE_TIMEOUT_NS) {
			queue_rst(v, c->host_port, c->guest_port);
			conn_release(c);
		}
	}
	rx_pump(v);
	conn_reap(v);
	if (virtio_mmio_live(&v->t))
		timer_arm(v);
	pthread_mutex_unlock(&v->t.lock);
}

/* --- device ops ------------------------------------------------------------------ */

static void vsock_notify(struct virtio_mmio *t, unsigned int q)
{
	struct virtio_vsock *v = t->dev;

	if (q == TXQ)
		tx_process(v);
	if (q == EVQ && v->reset_event_pending)
		send_reset_event(v);
	/* RX: new buffers; EVQ: buffers for events we send only on restore. */
	rx_pump(v);
	conn_reap(v);
}

/* Post the transport-reset event in the guest's next event buffer. */
static void send_reset_event(struct virtio_vsock *v)
{
	struct virtqueue *vq = &v->t.vqs[EVQ];
	struct virtio_vsock_event ev = { .id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET };
	struct vq_chain ch;
	int ret = vq_pop(vq, &ch);

	if (ret == 1 && !ch.nr_out && ch.in_len >= sizeof(ev)) {
		iov_from_buf(ch.iov, ch.nr_in, 0, &ev, sizeof(ev));
		vq_push(vq, ch.head, sizeof(ev));
		virtio_mmio_signal_used(&v->t, EVQ);
		v->reset_event_pending = false;
	} else if (ret != 0) {
		if (ret == 1 || ret == -EINVAL)
			vq_push(vq, ch.head, 0);
		virtio_mmio_warn_once(&v->t, "no usable event buffer for the transport-reset event");
		v->reset_event_pending = false;
	}
	/* ret == 0: no buffer yet; tried again at the driver's next event-queue notify. */
}

void virtio_vsock_restored(struct virtio_vsock *v)
{
	uint32_t r = 0;

	v->reset_event_pending = true;
	/* The guest may still hold streams of the snapshotted VM's host ports
	 * (a socket it closed lingers until its close completes, and a
	 * transport reset does not end those), and every clone of one snapshot
	 * starts from the same state: host ports restart somewhere random in
	 * the upper range, so a new stream never lands on one of those. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)now_ns();
	v->next_host_port = (1u << 30) + (r & 0x3fff0000u) + (1u << 16);
}

static void vsock_activate(struct virtio_mmio *t)
{
	struct virtio_vsock *v = t->dev;

	if (v->reset_event_pending && t->vqs[EVQ].active)
		send_reset_event(v);
	timer_arm(v);
	tx_process(v);
	rx_pump(v);
}

static void vsock_reset(struct virtio_mmio *t)
{
	struct virtio_vsock *v = t->dev;

	/* The driver forgot every stream: so do we (no RSTs to a reset driver). */
	for (struct vsock_conn *c = v->conns; c; c = c->next)
		conn_release(c);
	v->rst_len = 0;
	conn_reap(v);
}

const struct virtio_dev_ops virtio_vsock_ops = {
	.type = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.notify = vsock_notify,
};

static int listen_uds(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path) - 12) { /* room for "_<port>" */
		pr_err("vsock socket path %s is too long (at most %zu bytes)", path, sizeof(sa.sun_path) - 13);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("vsock socket path %s exists and is not a socket: pass another uds=PATH", path);
			return -EEXIST;
		}
		unlink(path); /* a stale socket from an earlier run */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		err = -errno;
		pr_err("vsock socket %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int virtio_vsock_init(struct virtio_vsock *v, uint32_t cid, const char *uds_path,
		      const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->listen_fd = -1;
	v->cid = cid;
	v->config.guest_cid = cid;
	v->next_host_port = 1u << 30;
	v->timer_op.done = timer_done;
	v->uds_path = strdup(uds_path);
	if (!v->uds_path)
		return -ENOMEM;
	ret = listen_uds(uds_path);
	if (ret < 0)
		return ret;
	v->listen_fd = ret;
	ret = virtio_mmio_init(&v->t, &virtio_vsock_ops, v, uds_path, host, mem, base, irq);
	if (ret)
		return ret;
	v->t.config = (const uint8_t *)&v->config;
	v->t.config_len = sizeof(v->config);
	return devloop_watch(&v->t.loop, &v->listen_watch, v->listen_fd, listen_ready);
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	virtio_mmio_destroy(&v->t);
	while (v->conns) {
		struct vsock_conn *c = v->conns;

		v->conns = c->next;
		close(c->fd);
		vsock_conn_free(c);
	}
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->uds_path);
	}
	v->listen_fd = -1;
	free(v->uds_path);
	v->uds_path = NULL;
}
