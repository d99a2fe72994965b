/* virtio-net with an AF_UNIX SOCK_DGRAM socketpair in place of the TAP (one
 * datagram, one frame, as a TAP reads and writes them), driven as the
 * guest's driver would (tests/unit/virtio_driver.h; no KVM): frames from the
 * "TAP" reach guest receive buffers, guest transmit chains reach the "TAP",
 * bad chains are refused, and a pause cancels a receive waiting for a frame
 * without losing its buffer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../devices/virtio_net.h"
#include "virtio_driver.h"

#define RXQ 0
#define TXQ 1
#define HDR TAP_VNET_HDR_LEN

static const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc };
static struct virtio_net net;
static struct vd d;
static int peer = -1; /* the host's end of the "TAP" */

static int setup(void **state)
{
	int sv[2];
	uint32_t st;

	(void)state;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	peer = sv[1];
	if (virtio_net_init_fd(&net, sv[0], "test0", mac, NULL, &vd_mem, 0xd0001000, 5) || virtio_mmio_start(&net.t))
		return -1;
	st = vd_init(&d, &net.t, &vd_mem, 1ULL << VIRTIO_F_VERSION_1, 2);
	return st & VIRTIO_CONFIG_S_DRIVER_OK && !(st & VIRTIO_CONFIG_S_NEEDS_RESET) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	virtio_net_destroy(&net);
	close(peer);
	return 0;
}

static uint64_t counter(const uint64_t *c)
{
	uint64_t v;

	pthread_mutex_lock(&net.t.lock);
	v = *c;
	pthread_mutex_unlock(&net.t.lock);
	return v;
}

/* A frame of LEN bytes after the header, its bytes from SEED. */
static size_t make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	memset(f, 0, HDR);
	for (size_t i = 0; i < len; i++)
		f[HDR + i] = (uint8_t)(seed + i);
	return HDR + len;
}

static void test_config(void **state)
{
	struct virtio_net_config cfg;

	(void)state;
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	virtio_mmio_bus_ops.read(&net.t, VIRTIO_MMIO_CONFIG, (uint8_t *)&cfg, 8);
	assert_memory_equal(cfg.mac, mac, 6);
	assert_int_equal(cfg.status, VIRTIO_NET_S_LINK_UP);
	assert_string_equal(net.tap, "test0");
}

static void test_rx_frame_reaches_guest(void **state)
{
	uint64_t buf = vd_alloc(&d, 2048);
	uint8_t f[HDR + 60];
	size_t flen = make_frame(f, 60, 0x30);
	uint16_t head, id;
	uint32_t len;

	(void)state;
	head = vd_send(&d, RXQ, (struct vd_seg[]){ { buf, 2048, true } }, 1);
	assert_false(vd_used(&d, RXQ, &id, &len, 50)); /* no frame yet: the buffer waits */
	assert_int_equal(send(peer, f, flen, 0), (ssize_t)flen);
	assert_true(vd_used(&d, RXQ, &id, &len, 2000));
	assert_int_equal(id, head);
	assert_int_equal(len, flen);
	assert_memory_equal(vd_ptr(&d, buf, flen), f, flen);
	assert_true(vd_eventfd_wait(net.t.irqfd, 2000) >= 1);
	assert_int_equal(counter(&net.rx_frames), 1);

	/* A frame split over two guest segments, into the next buffer. */
	buf = vd_alloc(&d, 4096);
	flen = make_frame(f, 60, 0x90);
	head = vd_send(&d, RXQ, (struct vd_seg[]){ { buf, HDR, true }, { buf + 2048, 1500, true } }, 2);
	assert_int_equal(send(peer, f, flen, 0), (ssize_t)flen);
	assert_true(vd_used(&d, RXQ, &id, &len, 2000));
	assert_int_equal(id, head);
	assert_int_equal(len, flen);
	assert_memory_equal(vd_ptr(&d, buf, HDR), f, HDR);
	assert_memory_equal(vd_ptr(&d, buf + 2048, 60), f + HDR, 60);
	assert_int_equal(counter(&net.rx_frames), 2);
}

static void test_tx_chain_reaches_backend(void **state)
{
	uint64_t buf = vd_alloc(&d, 4096);
	uint8_t f[HDR + 100], got[256];
	size_t flen = make_frame(f, 100, 0x11);
	uint16_t head, id;
	uint32_t len;

	(void)state;
	memcpy(vd_ptr(&d, buf, HDR), f, HDR);
	memcpy(vd_ptr(&d, buf + 1024, 100), f + HDR, 100);
	head = vd_send(&d, TXQ, (struct vd_seg[]){ { buf, HDR, false }, { buf + 1024, 100, false } }, 2);
	assert_true(vd_used(&d, TXQ, &id, &len, 2000));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(recv(peer, got, sizeof(got), MSG_DONTWAIT), (ssize_t)flen);
	assert_memory_equal(got, f, flen);
	assert_int_equal(counter(&net.tx_frames), 1);
	assert_true(vd_eventfd_wait(net.t.irqfd, 2000) >= 1);
}

static void test_bad_chains_refused(void **state)
{
	uint64_t buf = vd_alloc(&d, 4096);
	uint8_t got[64];
	uint16_t id;
	uint32_t len;

	(void)state;
	/* Transmit: shorter than the header, or writable. */
	vd_send(&d, TXQ, (struct vd_seg[]){ { buf, HDR - 1, false } }, 1);
	assert_true(vd_used(&d, TXQ, &id, &len, 2000));
	assert_int_equal(len, 0);
	vd_send(&d, TXQ, (struct vd_seg[]){ { buf, 64, true } }, 1);
	assert_true(vd_used(&d, TXQ, &id, &len, 2000));
	assert_int_equal(len, 0);
	assert_int_equal(recv(peer, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(counter(&net.tx_frames), 0);
	/* Receive: a readable buffer is handed back unused. */
	vd_send(&d, RXQ, (struct vd_seg[]){ { buf, 2048, false } }, 1);
	assert_true(vd_used(&d, RXQ, &id, &len, 2000));
	assert_int_equal(len, 0);
	/* The device is not failed by them. */
	assert_false(vd_read(&d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Pausing cancels a receive that waits for a frame; its buffer goes back to
 * the ring and takes the first frame after the resume. */
static void test_pause_cancels_waiting_receive(void **state)
{
	uint64_t buf = vd_alloc(&d, 2048);
	uint8_t f[HDR + 40];
	size_t flen = make_frame(f, 40, 0x70);
	uint16_t head, id, taken;
	uint32_t len;

	(void)state;
	head = vd_send(&d, RXQ, (struct vd_seg[]){ { buf, 2048, true } }, 1);
	assert_false(vd_used(&d, RXQ, &id, &len, 50));
	assert_int_equal(virtio_mmio_quiesce(&net.t, 2000), 0);
	pthread_mutex_lock(&net.t.lock);
	taken = net.t.vqs[RXQ].last_avail;
	pthread_mutex_unlock(&net.t.lock);
	assert_int_equal(taken, 0); /* the buffer is back in the ring */
	assert_int_equal(send(peer, f, flen, 0), (ssize_t)flen);
	assert_false(vd_used(&d, RXQ, &id, &len, 100)); /* paused: not taken */
	virtio_mmio_resume(&net.t);
	assert_true(vd_used(&d, RXQ, &id, &len, 2000));
	assert_int_equal(id, head);
	assert_int_equal(len, flen);
	assert_memory_equal(vd_ptr(&d, buf, flen), f, flen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_frame_reaches_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_chain_reaches_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chains_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_cancels_waiting_receive, setup, teardown),
	};

	return cmocka_run_group_tests(tests, vd_group_setup, vd_group_teardown);
}
