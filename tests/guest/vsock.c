/* virtio-vsock scenarios of the test guest, with a small stream layer:
 * guest-initiated echo, RST where nobody listens, several streams at once,
 * a large transfer checked by CRC32 under credit flow control, and a
 * host-initiated stream echoed back. The host side is tests/guest/peer.py. */
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "guest.h"
#include "irq.h"
#include "lib.h"
#include "virtio.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define RXB 8192
#define NRXB 16
#define MAX_STREAMS 8
/* Each stream's receive buffer; advertised as buf_alloc, and fwd_cnt only
 * counts what a test has consumed from it, so the host never overruns it. */
#define RBUF 65536
#define TIMEOUT_MS 60000
#define BLOCK 65536

struct stream {
	bool used, connected, reset, shut;
	uint32_t lport, pport;
	uint32_t peer_alloc, peer_fwd, tx_cnt;
	uint32_t fwd_cnt, fwd_sent;
	uint8_t *rbuf;
	uint32_t rlen;
};

static struct gdev *dev;
static uint64_t cid;
static struct stream streams[MAX_STREAMS];
static uint32_t listen_port;
static struct virtio_vsock_hdr *txh;
static uint8_t *rxmem;

static struct stream *stream_new(uint32_t lport, uint32_t pport)
{
	for (int i = 0; i < MAX_STREAMS; i++) {
		struct stream *s = &streams[i];

		if (!s->used) {
			uint8_t *rb = s->rbuf;

			memset(s, 0, sizeof(*s));
			s->rbuf = rb ? rb : page_alloc(RBUF);
			s->used = true;
			s->lport = lport;
			s->pport = pport;
			return s;
		}
	}
	return NULL;
}

static struct stream *stream_find(uint32_t lport, uint32_t pport)
{
	for (int i = 0; i < MAX_STREAMS; i++)
		if (streams[i].used && streams[i].lport == lport && streams[i].pport == pport)
			return &streams[i];
	return NULL;
}

/* Send one packet and wait for the device to take it. */
static bool send_pkt(struct stream *s, uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	struct seg seg[2];
	uint16_t id;
	uint32_t ulen;

	memset(txh, 0, HDR);
	txh->src_cid = cid;
	txh->dst_cid = 2;
	txh->src_port = s->lport;
	txh->dst_port = s->pport;
	txh->len = len;
	txh->type = VIRTIO_VSOCK_TYPE_STREAM;
	txh->op = op;
	txh->flags = flags;
	txh->buf_alloc = RBUF;
	txh->fwd_cnt = s->fwd_cnt;
	s->fwd_sent = s->fwd_cnt;
	seg[0] = (struct seg){ txh, HDR, false };
	seg[1] = (struct seg){ (void *)data, len, false };
	if (vq_add(&dev->q[TXQ], seg, len ? 2 : 1) < 0)
		return false;
	vq_kick(dev, TXQ);
	if (op == VIRTIO_VSOCK_OP_RW)
		s->tx_cnt += len;
	return vq_wait(dev, TXQ, TIMEOUT_MS) && vq_used(dev, TXQ, &id, &ulen);
}

static void handle(const struct virtio_vsock_hdr *h, const uint8_t *payload)
{
	struct stream *s = stream_find(h->dst_port, h->src_port);

	if (!s && h->op == VIRTIO_VSOCK_OP_REQUEST && h->dst_port == listen_port) {
		s = stream_new(h->dst_port, h->src_port);
		if (s) {
			s->peer_alloc = h->buf_alloc;
			s->peer_fwd = h->fwd_cnt;
			s->connected = true;
			send_pkt(s, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0);
		}
		return;
	}
	if (!s)
		return;
	s->peer_alloc = h->buf_alloc;
	s->peer_fwd = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		s->connected = true;
		break;
	case VIRTIO_VSOCK_OP_RST:
		s->reset = true;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		s->shut = true;
		break;
	case VIRTIO_VSOCK_OP_RW: {
		uint32_t n = h->len;

		if (n > RBUF - s->rlen) { /* the host ignored our credit */
			gprintf("hopx-test-guest: vsock host overran port %u's window\n", s->lport);
			n = RBUF - s->rlen;
		}
		memcpy(s->rbuf + s->rlen, payload, n);
		s->rlen += n;
		break;
	}
	default:
		break;
	}
}

/* Process every packet the device has delivered; give the buffers back. */
static void poll_rx(void)
{
	uint16_t id;
	uint32_t len;
	bool any = false;

	while (vq_used(dev, RXQ, &id, &len)) {
		uint8_t *b = (uint8_t *)dev->q[RXQ].desc[id].addr;

		if (len >= HDR)
			handle((const struct virtio_vsock_hdr *)b, b + HDR);
		vq_add(&dev->q[RXQ], &(struct seg){ b, RXB, true }, 1);
		any = true;
	}
	if (any)
		vq_kick(dev, RXQ);
}

/* Run the receive side until COND holds (or the timeout). */
static bool wait_until(bool (*cond)(void *), void *arg)
{
	uint64_t end = ticks() + TIMEOUT_MS / TICK_MS;

	for (;;) {
		poll_rx();
		if (cond(arg))
			return true;
		if (ticks() > end)
			return false;
		vq_wait(dev, RXQ, 500);
	}
}

static bool is_settled(void *p)
{
	struct stream *s = p;

	return s->connected || s->reset;
}

static bool has_bytes(void *p)
{
	struct stream *s = p;

	return s->reset || s->shut || s->rlen >= s->tx_cnt; /* for echo: everything came back */
}

static bool is_closed(void *p)
{
	struct stream *s = p;

	return s->reset || s->shut;
}

static bool has_credit(void *p)
{
	struct stream *s = p;

	return s->reset || s->tx_cnt - s->peer_fwd < s->peer_alloc;
}

static struct stream *connect_to(uint32_t port, uint32_t lport)
{
	struct stream *s = stream_new(lport, port);

	if (!s || !send_pkt(s, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0) || !wait_until(is_settled, s))
		return s;
	return s;
}

/* Send LEN bytes of DATA within the host's credit. */
static bool send_data(struct stream *s, const uint8_t *data, uint32_t len)
{
	while (len) {
		uint32_t room, n;

		if (!wait_until(has_credit, s) || s->reset)
			return false;
		room = s->peer_alloc - (s->tx_cnt - s->peer_fwd);
		n = len < room ? len : room;
		if (n > 65536) /* the device's largest packet */
			n = 65536;
		if (!send_pkt(s, VIRTIO_VSOCK_OP_RW, 0, data, n))
			return false;
		data += n;
		len -= n;
	}
	return true;
}

static void close_stream(struct stream *s)
{
	send_pkt(s, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
	wait_until(is_closed, s);
	s->used = false;
}

static bool setup(struct gdev *d)
{
	dev = d;
	if (!virtio_setup(d, 0, 3))
		return false;
	cid = virtio_config32(d, 0) | (uint64_t)virtio_config32(d, 4) << 32;
	if (!txh) {
		txh = page_alloc(HDR);
		rxmem = page_alloc(NRXB * RXB + 2 * 64);
	}
	for (int i = 0; i < NRXB; i++)
		vq_add(&d->q[RXQ], &(struct seg){ rxmem + i * RXB, RXB, true }, 1);
	for (int i = 0; i < 2; i++)
		vq_add(&d->q[EVQ], &(struct seg){ rxmem + NRXB * RXB + i * 64, 64, true }, 1);
	vq_kick(d, RXQ);
	vq_kick(d, EVQ);
	return true;
}

void vsock_tests(struct gdev *d)
{
	static const char ping[] = "ping from the test guest";
	struct stream *s, *m[4];
	uint8_t *big;
	uint64_t seed = 7;
	uint32_t size = 4u << 20;
	char expect[64];
	bool ok;

	if (!check(setup(d), "vsock-setup", "status %x", virtio_status(d)))
		return;
	gprintf("hopx-test-guest: vsock guest cid %lu\n", cid);

	s = connect_to(7000, 40000);
	ok = s && s->connected && send_data(s, (const uint8_t *)ping, sizeof(ping)) && wait_until(has_bytes, s) &&
	     s->rlen == sizeof(ping) && memcmp(s->rbuf, ping, sizeof(ping)) == 0;
	check(ok, "vsock-guest-connect-echo", "connected %d reset %d got %u bytes", s ? s->connected : 0,
	      s ? s->reset : 0, s ? s->rlen : 0);
	if (s)
		close_stream(s);

	s = connect_to(7999, 40001);
	check(s && s->reset && !s->connected, "vsock-rst-when-nobody-listens", "connected %d", s ? s->connected : -1);
	if (s)
		s->used = false;

	/* Several streams at once, interleaved. */
	ok = true;
	for (int i = 0; i < 4; i++)
		m[i] = stream_new(41000 + (uint32_t)i, 7000);
	for (int i = 0; i < 4; i++)
		ok = ok && m[i] && send_pkt(m[i], VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0);
	for (int i = 0; i < 4; i++)
		ok = ok && wait_until(is_settled, m[i]) && m[i]->connected;
	for (int round = 0; round < 3 && ok; round++) {
		for (int i = 0; i < 4; i++) {
			char msg[16] = "stream-0-round-0";

			msg[7] = (char)('0' + i);
			msg[15] = (char)('0' + round);
			ok = ok && send_data(m[i], (const uint8_t *)msg, sizeof(msg));
		}
	}
	for (int i = 0; i < 4 && ok; i++) {
		ok = wait_until(has_bytes, m[i]) && m[i]->rlen == 48 && m[i]->rbuf[7] == '0' + i &&
		     m[i]->rbuf[47] == '2';
	}
	check(ok, "vsock-four-streams-at-once", "a stream lost or mixed data");
	for (int i = 0; i < 4; i++)
		if (m[i])
			close_stream(m[i]);

	/* A large transfer, many times the host's window: a 64 KiB xorshift
	 * block (seed 7) sent REPEAT times. The host regenerates the stream,
	 * compares CRC32s and answers "ok <bytes>\n" (checksums are the host's
	 * job: ring-0 code runs emulated on software-KVM hosts). */
	{
		char v[16];
		const char *p = v;

		if (cmdline_get("hopxguest.vsock_big_kib", v, sizeof(v)))
			size = (uint32_t)parse_u64(&p) << 10;
	}
	big = page_alloc(BLOCK);
	for (uint32_t i = 0; i < BLOCK; i += 8) {
		uint64_t r = xorshift(&seed);

		memcpy(big + i, &r, 8);
	}
	s = connect_to(7001, 40002);
	ok = s && s->connected;
	for (uint32_t sent = 0; ok && sent < size; sent += BLOCK)
		ok = send_data(s, big, size - sent < BLOCK ? size - sent : BLOCK);
	if (ok) {
		send_pkt(s, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
		ok = wait_until(is_closed, s) || s->rlen > 0;
	}
	gprintf_to(expect, sizeof(expect), "ok %u\n", size);
	check(ok && s->rlen == strlen(expect) && memcmp(s->rbuf, expect, s->rlen) == 0, "vsock-large-transfer-crc32",
	      "sent %u bytes; host answered '%s'", size, s && s->rlen < RBUF ? (s->rbuf[s->rlen] = 0, (char *)s->rbuf) : "");
	if (s)
		close_stream(s);

	/* Host-initiated: say we are ready on 7002, then accept CONNECT 8000 and echo it. */
	listen_port = 8000;
	s = connect_to(7002, 40003);
	if (s && s->connected)
		close_stream(s);
	{
		struct stream *in = NULL;
		uint32_t echoed = 0;
		uint64_t end = ticks() + TIMEOUT_MS / TICK_MS;

		while (!in && ticks() < end) {
			poll_rx();
			for (int i = 0; i < MAX_STREAMS; i++)
				if (streams[i].used && streams[i].lport == 8000)
					in = &streams[i];
			if (!in)
				vq_wait(dev, RXQ, 500);
		}
		while (in && !in->reset && !in->shut && ticks() < end) {
			poll_rx();
			if (in->rlen) {
				static uint8_t tmp[RBUF];
				uint32_t n = in->rlen;

				/* Copy first: receiving more while we send refills rbuf. */
				memcpy(tmp, in->rbuf, n);
				in->rlen = 0;
				in->fwd_cnt += n; /* consumed: the echo's headers carry the credit */
				if (!send_data(in, tmp, n))
					break;
				echoed += n;
				continue;
			}
			vq_wait(dev, RXQ, 500);
		}
		check(in && echoed > 0, "vsock-host-connect-echo", "stream %s, echoed %u bytes",
		      in ? "accepted" : "never came", echoed);
		if (in)
			close_stream(in);
	}
}

/* Benchmark: MIB mebibytes to host port 7001 (the host times and checks). */
void vsock_bench(struct gdev *d, uint32_t mib)
{
	uint8_t *chunk = page_alloc(1u << 20);
	struct stream *s;
	bool ok;

	if (!setup(d)) {
		check(false, "vsock-bench-setup", "status %x", virtio_status(d));
		return;
	}
	memset(chunk, 0x5a, 1u << 20);
	s = connect_to(7001, 42000);
	gprintf("BENCH vsock-tx start\n");
	ok = s && s->connected;
	for (uint32_t i = 0; ok && i < mib; i++)
		ok = send_data(s, chunk, 1u << 20);
	if (ok) {
		send_pkt(s, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
		wait_until(is_closed, s);
	}
	gprintf("BENCH vsock-tx end bytes=%lu errors=%d\n", (uint64_t)mib << 20, ok ? 0 : 1);
}
