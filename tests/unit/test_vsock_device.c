/* The virtio-vsock device's packet state machine, driven from this test as
 * its guest driver would (rings in a synthetic guest memory, registers through
 * the MMIO bus ops), against real Unix sockets on the host side. No KVM: the
 * transport's eventfds are left unconnected (no struct virtio_mmio_host), so
 * notifications arrive through the QueueNotify register and the test reads
 * the interrupt eventfd itself. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "../../devices/virtio_vsock.h"
#include "test_helpers.h"

#define GUEST_CID 3
#define RING(q) (0x10000ULL + (q) * 0x4000ULL) /* desc, avail at +0x1000, used at +0x2000 */
#define BUFS 0x100000ULL
#define QSZ 16
#define BUF_SIZE 4096

static struct guest_mem mem;
static struct virtio_vsock dev;
static char uds[108];
static uint16_t avail_idx[3], used_seen[3];

static void reg_write(uint32_t off, uint32_t v)
{
	virtio_mmio_bus_ops.write(&dev.t, off, (uint8_t *)&v, 4);
}

static uint32_t reg_read(uint32_t off)
{
	uint32_t v;

	virtio_mmio_bus_ops.read(&dev.t, off, (uint8_t *)&v, 4);
	return v;
}

static struct vring_desc *desc(unsigned int q, unsigned int i)
{
	return guest_mem_ptr(&mem, RING(q) + 16 * i, 16);
}

/* Make descriptor I of queue Q available as one buffer. */
static void publish(unsigned int q, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags)
{
	uint16_t *avail = guest_mem_ptr(&mem, RING(q) + 0x1000, 4 + 2 * QSZ);

	*desc(q, i) = (struct vring_desc){ .addr = addr, .len = len, .flags = flags };
	avail[2 + avail_idx[q] % QSZ] = (uint16_t)i;
	__atomic_store_n(&avail[1], ++avail_idx[q], __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Wait up to MS for a used entry on queue Q; its descriptor id and length. */
static bool used(unsigned int q, uint16_t *id, uint32_t *len, int ms)
{
	struct vring_used *u = guest_mem_ptr(&mem, RING(q) + 0x2000, 4 + 8 * QSZ);

	for (int i = 0; i < ms; i++) {
		if (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) != used_seen[q]) {
			*id = (uint16_t)u->ring[used_seen[q] % QSZ].id;
			*len = u->ring[used_seen[q]++ % QSZ].len;
			return true;
		}
		usleep(1000);
	}
	return false;
}

static uint64_t rx_buf(unsigned int i)
{
	return BUFS + (uint64_t)i * BUF_SIZE;
}

/* The guest sends a packet (header + PAYLOAD) on the transmit queue. */
static void guest_send(uint16_t op, uint32_t src_port, uint32_t dst_port, const void *payload, uint32_t len,
		       uint32_t buf_alloc, uint32_t fwd_cnt, uint64_t src_cid, uint32_t flags)
{
	static unsigned int slot;
	uint64_t a = BUFS + 0x80000 + (slot++ % QSZ) * 0x20000ULL;
	struct virtio_vsock_hdr *h = guest_mem_ptr(&mem, a, sizeof(*h) + len);
	uint16_t id;
	uint32_t ulen;

	*h = (struct virtio_vsock_hdr){ .src_cid = src_cid, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
					.dst_port = dst_port, .len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op,
					.flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
	if (len)
		memcpy(h + 1, payload, len);
	publish(1, slot % QSZ, a, sizeof(*h) + len, 0);
	assert_true(used(1, &id, &ulen, 2000));
}

/* The next packet to the guest (false if none within MS); the buffer is reposted. */
static bool guest_recv(struct virtio_vsock_hdr *h, char *payload, int ms)
{
	uint16_t id;
	uint32_t len;

	if (!used(0, &id, &len, ms))
		return false;
	assert_true(len >= sizeof(*h));
	memcpy(h, guest_mem_ptr(&mem, rx_buf(id), sizeof(*h)), sizeof(*h));
	assert_int_equal(len, sizeof(*h) + h->len);
	if (payload)
		memcpy(payload, guest_mem_ptr(&mem, rx_buf(id) + sizeof(*h), h->len), h->len);
	assert_int_equal(h->src_cid, VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, GUEST_CID);
	publish(0, id, rx_buf(id), BUF_SIZE, VRING_DESC_F_WRITE);
	return true;
}

/* Whether the device raised its interrupt within MS (on the eventfd a VMM
 * would hand KVM as an irqfd); consumes it. */
static bool irq_raised(int ms)
{
	struct pollfd p = { .fd = dev.t.irqfd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && devloop_eventfd_read(dev.t.irqfd) > 0;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Read exactly N bytes (or what arrives before EOF / 2 s). */
static ssize_t read_n(int fd, char *buf, size_t n)
{
	size_t got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (got < n && poll(&p, 1, 2000) == 1) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int setup(void **state)
{
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	(void)state;
	log_set_level(LOG_ERROR);
	if (guest_mem_init(&mem, 64ULL << 20))
		return -1;
	snprintf(uds, sizeof(uds), "/tmp/hopx-test-vsock-%d.sock", (int)getpid());
	if (virtio_vsock_init(&dev, GUEST_CID, uds, NULL, &mem, 0xd0001000, 5) || virtio_mmio_start(&dev.t))
		return -1;
	reg_write(VIRTIO_MMIO_STATUS, st);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	reg_write(VIRTIO_MMIO_STATUS, st |= VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < 3; q++) {
		reg_write(VIRTIO_MMIO_QUEUE_SEL, q);
		reg_write(VIRTIO_MMIO_QUEUE_NUM, QSZ);
		reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)RING(q));
		reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(RING(q) + 0x1000));
		reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(RING(q) + 0x2000));
		reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	reg_write(VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	if (reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET)
		return -1;
	for (unsigned int i = 0; i < 8; i++)
		publish(0, i, rx_buf(i), BUF_SIZE, VRING_DESC_F_WRITE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	virtio_vsock_destroy(&dev);
	guest_mem_free(&mem);
	return 0;
}

static void test_config_and_rst_when_nobody_listens(void **state)
{
	struct virtio_vsock_hdr h;
	uint32_t cid = 0;

	(void)state;
	virtio_mmio_bus_ops.read(&dev.t, VIRTIO_MMIO_CONFIG, (uint8_t *)&cid, 4);
	assert_int_equal(cid, GUEST_CID);
	devloop_eventfd_read(dev.t.irqfd);
	guest_send(VIRTIO_VSOCK_OP_REQUEST, 1000, 4444, NULL, 0, 65536, 0, GUEST_CID, 0);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_true(irq_raised(2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 4444);
	assert_int_equal(h.dst_port, 1000);
	/* Data for a stream that does not exist: RST too. */
	guest_send(VIRTIO_VSOCK_OP_RW, 1001, 4444, "x", 1, 65536, 0, GUEST_CID, 0);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	/* A packet with a forged source CID is dropped without an answer. */
	guest_send(VIRTIO_VSOCK_OP_REQUEST, 1002, 4444, NULL, 0, 65536, 0, 99, 0);
	assert_false(guest_recv(&h, NULL, 200));
}

static void test_guest_stream_with_credit(void **state)
{
	char path[128], buf[256];
	struct virtio_vsock_hdr h;
	int lfd, fd;

	(void)state;
	snprintf(path, sizeof(path), "%s_5555", uds);
	lfd = unix_listen(path);
	/* The guest's window is 10 bytes. */
	guest_send(VIRTIO_VSOCK_OP_REQUEST, 2000, 5555, NULL, 0, 10, 0, GUEST_CID, 0);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);

	guest_send(VIRTIO_VSOCK_OP_RW, 2000, 5555, "hello", 5, 10, 0, GUEST_CID, 0);
	assert_int_equal(read_n(fd, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);

	/* The host writes 25 bytes; only the guest's 10-byte window arrives. */
	assert_int_equal(write(fd, "abcdefghijklmnopqrstuvwxy", 25), 25);
	{
		uint32_t got = 0;

		while (guest_recv(&h, buf + got, 300)) {
			assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
			got += h.len;
		}
		assert_int_equal(got, 10);
		assert_memory_equal(buf, "abcdefghij", 10);
		/* The guest consumed 10: a credit update releases the next 10. */
		guest_send(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 2000, 5555, NULL, 0, 10, 10, GUEST_CID, 0);
		got = 0;
		while (guest_recv(&h, buf + got, 300))
			got += h.len;
		assert_int_equal(got, 10);
		assert_memory_equal(buf, "klmnopqrst", 10);
	}
	/* A credit request is answered with our window. */
	guest_send(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 2000, 5555, NULL, 0, 0, 20, GUEST_CID, 0);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 5);

	/* The guest will send no more: the host sees EOF, and can still send. */
	guest_send(VIRTIO_VSOCK_OP_SHUTDOWN, 2000, 5555, NULL, 0, 100, 20, GUEST_CID, VIRTIO_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(read_n(fd, buf, 1), 0);
	{
		uint32_t got = 0;

		while (got < 5 && guest_recv(&h, buf + got, 500))
			got += h.len;
		assert_int_equal(got, 5);
		assert_memory_equal(buf, "uvwxy", 5);
	}
	/* The host closes: the guest hears SHUTDOWN, answers RST. */
	close(fd);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	guest_send(VIRTIO_VSOCK_OP_RST, 2000, 5555, NULL, 0, 100, 20, GUEST_CID, 0);
	close(lfd);
	unlink(path);
}

static void test_credit_violation_resets(void **state)
{
	char path[128], buf[16];
	static char big[60000];
	struct virtio_vsock_hdr h;
	int lfd, fd;

	(void)state;
	snprintf(path, sizeof(path), "%s_6666", uds);
	lfd = unix_listen(path);
	guest_send(VIRTIO_VSOCK_OP_REQUEST, 3000, 6666, NULL, 0, 65536, 0, GUEST_CID, 0);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	fd = accept(lfd, NULL, NULL);
	/* The host does not read: once its socket buffer (~208 KiB) and the
	 * stream's 128 KiB window are full, more data breaks the guest's credit. */
	for (int i = 0; i < 8; i++)
		guest_send(VIRTIO_VSOCK_OP_RW, 3000, 6666, big, sizeof(big), 65536, 0, GUEST_CID, 0);
	do
		assert_true(guest_recv(&h, NULL, 2000));
	while (h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE); /* for what reached the socket */
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	while (guest_recv(&h, NULL, 300)) /* RSTs for the packets sent after it */
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	/* The host side is closed after what was accepted. */
	while (read_n(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	close(lfd);
	unlink(path);
}

static void test_host_connect(void **state)
{
	struct virtio_vsock_hdr h;
	char line[64] = { 0 };
	int fd;

	(void)state;
	/* A bad first line closes the socket. */
	fd = unix_connect(uds);
	assert_int_equal(write(fd, "HELLO 1\n", 8), 8);
	assert_int_equal(read_n(fd, line, 1), 0);
	close(fd);

	fd = unix_connect(uds);
	assert_int_equal(write(fd, "CONNECT 8000\npayload", 20), 20);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 8000);
	assert_true(h.src_port >= 1u << 30);
	guest_send(VIRTIO_VSOCK_OP_RESPONSE, 8000, h.src_port, NULL, 0, 65536, 0, GUEST_CID, 0);
	assert_int_equal(read_n(fd, line, 14), 14);
	assert_memory_equal(line, "OK 1073741824\n", 14);
	/* Bytes after the CONNECT line are stream data. */
	{
		char p[16] = { 0 };

		assert_true(guest_recv(&h, p, 2000));
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
		assert_memory_equal(p, "payload", 7);
	}
	/* A guest RST closes the host socket. */
	guest_send(VIRTIO_VSOCK_OP_RST, 8000, h.src_port, NULL, 0, 65536, 0, GUEST_CID, 0);
	assert_int_equal(read_n(fd, line, 1), 0);
	close(fd);
}

/* After a restore, host ports start somewhere random past the first 65536
 * of the range: the snapshot's guest may still hold streams of the ports the
 * snapshotted VM used (they begin at 1 << 30), and clones share one snapshot. */
static void test_restored_host_ports(void **state)
{
	struct virtio_vsock_hdr h;
	uint32_t first;
	int fd;

	(void)state;
	virtio_vsock_restored(&dev);
	fd = unix_connect(uds);
	assert_int_equal(write(fd, "CONNECT 8001\n", 13), 13);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	first = h.src_port;
	assert_true(first >= (1u << 30) + (1u << 16));
	guest_send(VIRTIO_VSOCK_OP_RST, 8001, h.src_port, NULL, 0, 65536, 0, GUEST_CID, 0);
	close(fd);
	/* Another restore, another place (2^14 of them: equal by chance 1 in 16384). */
	virtio_vsock_restored(&dev);
	fd = unix_connect(uds);
	assert_int_equal(write(fd, "CONNECT 8001\n", 13), 13);
	assert_true(guest_recv(&h, NULL, 2000));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_true(h.src_port >= (1u << 30) + (1u << 16));
	assert_true(h.src_port != first + 1);
	guest_send(VIRTIO_VSOCK_OP_RST, 8001, h.src_port, NULL, 0, 65536, 0, GUEST_CID, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_and_rst_when_nobody_listens),
		cmocka_unit_test(test_guest_stream_with_credit),
		cmocka_unit_test(test_credit_violation_resets),
		cmocka_unit_test(test_host_connect),
		cmocka_unit_test(test_restored_host_ports),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
