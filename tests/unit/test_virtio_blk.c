/* virtio-blk over a temporary raw image, driven as the guest's driver would
 * (tests/unit/virtio_driver.h; no KVM): read, write, flush, get-id, requests
 * that must fail with IOERR or UNSUPP, and a read-only drive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/virtio_blk.h"
#include "virtio_driver.h"

#define IMAGE_SIZE (1 << 20)
#define DRIVE_ID "hopx-test-drive"

static struct virtio_blk blk;
static struct vd d;
static char image[64];

/* Byte I of the image as first written. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 512);
}

static int image_create(void)
{
	uint8_t *buf = malloc(IMAGE_SIZE);
	int fd;

	snprintf(image, sizeof(image), "/tmp/hopx-test-blk-XXXXXX");
	fd = mkstemp(image);
	if (fd < 0 || !buf)
		return -1;
	for (size_t i = 0; i < IMAGE_SIZE; i++)
		buf[i] = pattern(i);
	if (write(fd, buf, IMAGE_SIZE) != IMAGE_SIZE)
		return -1;
	free(buf);
	close(fd);
	return 0;
}

static int drive_up(bool read_only)
{
	uint32_t st;

	if (virtio_blk_init(&blk, image, read_only, false, DRIVE_ID, NULL, &vd_mem, 0xd0001000, 5) ||
	    virtio_mmio_start(&blk.t))
		return -1;
	st = vd_init(&d, &blk.t, &vd_mem, 1ULL << VIRTIO_F_VERSION_1, 1);
	return st & VIRTIO_CONFIG_S_DRIVER_OK && !(st & VIRTIO_CONFIG_S_NEEDS_RESET) ? 0 : -1;
}

static int setup_rw(void **state)
{
	(void)state;
	return image_create() || drive_up(false) ? -1 : 0;
}

static int setup_ro(void **state)
{
	(void)state;
	return image_create() || drive_up(true) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	virtio_blk_destroy(&blk);
	unlink(image);
	return 0;
}

/* One request: header (TYPE, SECTOR), then DATA (LEN bytes, writable when
 * the device fills it, none if LEN is 0), then the status byte. Waits for
 * the device to return it; the status, and the used length in *USED. */
static uint8_t request(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool data_writable,
		       uint32_t *used)
{
	uint64_t hdr = vd_alloc(&d, 512), status = vd_alloc(&d, 1);
	struct virtio_blk_outhdr *h = vd_ptr(&d, hdr, sizeof(*h));
	struct vd_seg segs[3];
	unsigned int n = 0;
	uint16_t head, id;
	uint32_t ulen = 0;

	*h = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	*(uint8_t *)vd_ptr(&d, status, 1) = 0xaa;
	segs[n++] = (struct vd_seg){ hdr, sizeof(*h), false };
	if (len)
		segs[n++] = (struct vd_seg){ data, len, data_writable };
	segs[n++] = (struct vd_seg){ status, 1, true };
	head = vd_send(&d, 0, segs, n);
	assert_true(vd_used(&d, 0, &id, &ulen, 2000));
	assert_int_equal(id, head);
	if (used)
		*used = ulen;
	return *(uint8_t *)vd_ptr(&d, status, 1);
}

static uint64_t counter(const uint64_t *c)
{
	uint64_t v;

	pthread_mutex_lock(&blk.t.lock);
	v = *c;
	pthread_mutex_unlock(&blk.t.lock);
	return v;
}

static void test_config(void **state)
{
	uint64_t cap = 0;

	(void)state;
	assert_int_equal(vd_read(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	virtio_mmio_bus_ops.read(&blk.t, VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8);
	assert_int_equal(cap, IMAGE_SIZE / 512);
	vd_write(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_false(vd_read(&d, VIRTIO_MMIO_DEVICE_FEATURES) & (1U << VIRTIO_BLK_F_RO));
	assert_true(vd_read(&d, VIRTIO_MMIO_DEVICE_FEATURES) & (1U << VIRTIO_BLK_F_FLUSH));
}

static void test_read(void **state)
{
	uint64_t buf = vd_alloc(&d, 2048);
	const uint8_t *p = vd_ptr(&d, buf, 2048);
	uint32_t used;

	(void)state;
	assert_int_equal(request(VIRTIO_BLK_T_IN, 3, buf, 2048, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 2048 + 1);
	for (size_t i = 0; i < 2048; i++)
		if (p[i] != pattern(3 * 512 + i))
			fail_msg("byte %zu of sector 3 on reads %#x, not %#x", i, p[i], pattern(3 * 512 + i));
	assert_int_equal(counter(&blk.reads), 1);
	assert_int_equal(counter(&blk.errors), 0);
}

static void test_write_then_read_back(void **state)
{
	uint64_t buf = vd_alloc(&d, 1024), back = vd_alloc(&d, 1024);
	uint8_t file[1024];
	uint32_t used;
	int fd;

	(void)state;
	memset(vd_ptr(&d, buf, 1024), 0x5a, 1024);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 10, buf, 1024, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1); /* only the status byte written */
	fd = open(image, O_RDONLY);
	assert_int_equal(pread(fd, file, sizeof(file), 10 * 512), sizeof(file));
	close(fd);
	for (size_t i = 0; i < sizeof(file); i++)
		assert_int_equal(file[i], 0x5a);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 10, back, 1024, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(vd_ptr(&d, back, 1024), vd_ptr(&d, buf, 1024), 1024);
	assert_int_equal(counter(&blk.writes), 1);
}

static void test_flush(void **state)
{
	(void)state;
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(counter(&blk.flushes), 1);
}

static void test_get_id(void **state)
{
	uint64_t buf = vd_alloc(&d, VIRTIO_BLK_ID_BYTES);
	uint32_t used;

	(void)state;
	memset(vd_ptr(&d, buf, VIRTIO_BLK_ID_BYTES), 0xee, VIRTIO_BLK_ID_BYTES);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, buf, VIRTIO_BLK_ID_BYTES, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(vd_ptr(&d, buf, sizeof(DRIVE_ID)), DRIVE_ID, sizeof(DRIVE_ID)); /* NUL included */
}

static void test_bad_requests(void **state)
{
	uint64_t buf = vd_alloc(&d, 1024);
	uint16_t id;
	uint32_t len;

	(void)state;
	/* An operation the device does not know. */
	assert_int_equal(request(99, 0, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	/* Past the end of the image, and straddling it. */
	assert_int_equal(request(VIRTIO_BLK_T_IN, IMAGE_SIZE / 512, buf, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, IMAGE_SIZE / 512 - 1, buf, 1024, true, NULL), VIRTIO_BLK_S_IOERR);
	/* Not whole sectors. */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, buf, 100, true, NULL), VIRTIO_BLK_S_IOERR);
	/* A read whose data buffer the device may not write. */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, buf, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(counter(&blk.errors), 5);
	assert_int_equal(counter(&blk.reads), 0);
	/* No room for a status byte: returned unanswered, with length 0. */
	vd_send(&d, 0, (struct vd_seg[]){ { buf, 16, false } }, 1);
	assert_true(vd_used(&d, 0, &id, &len, 2000));
	assert_int_equal(len, 0);
	/* The device goes on. */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, buf, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)vd_ptr(&d, buf + 511, 1), pattern(511));
}

static void test_read_only_refuses_writes(void **state)
{
	uint64_t buf = vd_alloc(&d, 512);
	uint8_t file[512];
	int fd;

	(void)state;
	vd_write(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_true(vd_read(&d, VIRTIO_MMIO_DEVICE_FEATURES) & (1U << VIRTIO_BLK_F_RO));
	memset(vd_ptr(&d, buf, 512), 0x11, 512);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, buf, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	fd = open(image, O_RDONLY);
	assert_int_equal(pread(fd, file, sizeof(file), 0), sizeof(file));
	close(fd);
	for (size_t i = 0; i < sizeof(file); i++)
		assert_int_equal(file[i], pattern(i));
	assert_int_equal(counter(&blk.writes), 0);
	/* Reads still work. */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, buf, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)vd_ptr(&d, buf, 1), pattern(512));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_write_then_read_back, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_get_id, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_refuses_writes, setup_ro, teardown),
	};

	return cmocka_run_group_tests(tests, vd_group_setup, vd_group_teardown);
}
