/* Split virtqueue, device side, against a synthetic guest: chain walking,
 * indirect tables, every malformed-chain case, EVENT_IDX arithmetic across
 * wrap-around, and the iovec helpers. */
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "../../devices/virtqueue.h"
#include "test_helpers.h"

#define DESC 0x1000ULL
#define AVAIL 0x3000ULL
#define USED 0x4000ULL
#define BUF 0x10000ULL
#define QSIZE 8

struct fixture {
	struct guest_mem *m;
	struct virtqueue vq;
	struct vq_chain c;
};

static struct vring_desc *desc(struct guest_mem *m, uint64_t table, unsigned int i)
{
	return guest_mem_ptr(m, table + 16 * i, 16);
}

static void set_desc(struct guest_mem *m, uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	*desc(m, table, i) = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static uint16_t *avail_idx(struct guest_mem *m)
{
	return guest_mem_ptr(m, AVAIL + 2, 2);
}

/* The driver makes HEAD available. */
static void offer(struct fixture *f, uint16_t head)
{
	uint16_t *ring = guest_mem_ptr(f->m, AVAIL + 4, 2 * QSIZE);

	ring[*avail_idx(f->m) % QSIZE] = head;
	(*avail_idx(f->m))++;
}

static int setup(void **state)
{
	static struct fixture f;

	if (mem_setup(state))
		return -1;
	memset(&f.vq, 0, sizeof(f.vq));
	f.m = *state;
	memset(f.m->host, 0, 0x20000);
	f.vq.size = QSIZE;
	f.vq.desc_gpa = DESC;
	f.vq.avail_gpa = AVAIL;
	f.vq.used_gpa = USED;
	f.vq.indirect = true;
	if (vq_activate(&f.vq, f.m, "test"))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	guest_mem_free(f->m);
	return 0;
}

static void test_simple_chain_and_push(void **state)
{
	struct fixture *f = *state;
	struct vring_used *used = guest_mem_ptr(f->m, USED, sizeof(*used) + 8 * QSIZE);

	assert_int_equal(vq_pop(&f->vq, &f->c), 0); /* nothing yet */
	set_desc(f->m, DESC, 3, BUF, 16, VRING_DESC_F_NEXT, 5);
	set_desc(f->m, DESC, 5, BUF + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 6);
	set_desc(f->m, DESC, 6, BUF + 0x400, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_true(vq_has_avail(&f->vq));
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(f->c.nr_out, 1);
	assert_int_equal(f->c.nr_in, 2);
	assert_int_equal(f->c.out_len, 16);
	assert_int_equal(f->c.in_len, 513);
	assert_ptr_equal(f->c.iov[0].iov_base, f->m->host + BUF);
	assert_ptr_equal(f->c.iov[2].iov_base, f->m->host + BUF + 0x400);
	vq_push(&f->vq, 3, 513);
	assert_int_equal(used->idx, 1);
	assert_int_equal(used->ring[0].id, 3);
	assert_int_equal(used->ring[0].len, 513);
	assert_false(vq_has_avail(&f->vq));
}

static void test_indirect_table(void **state)
{
	struct fixture *f = *state;
	uint64_t table = BUF + 0x1000;

	set_desc(f->m, table, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f->m, table, 1, BUF + 16, 100, VRING_DESC_F_NEXT, 2);
	set_desc(f->m, table, 2, BUF + 200, 1, VRING_DESC_F_WRITE, 0);
	set_desc(f->m, DESC, 0, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_out, 2);
	assert_int_equal(f->c.nr_in, 1);
	assert_int_equal(f->c.out_len, 116);
}

/* Offer chain HEAD and expect it refused with a message containing WHY. */
static void expect_bad(struct fixture *f, uint16_t head, const char *why)
{
	uint16_t before = f->vq.last_avail;

	offer(f, head);
	assert_int_equal(vq_pop(&f->vq, &f->c), -EINVAL);
	assert_non_null(f->vq.error);
	assert_non_null(strstr(f->vq.error, why));
	/* Consumed, so the caller can return it and go on. */
	assert_int_equal(f->vq.last_avail, (uint16_t)(before + 1));
	assert_int_equal(f->c.head, head);
}

static void test_malformed_chains(void **state)
{
	struct fixture *f = *state;
	uint64_t table = BUF + 0x1000, table2 = BUF + 0x2000;

	set_desc(f->m, DESC, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f->m, DESC, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
	expect_bad(f, 0, "loops");

	set_desc(f->m, DESC, 0, BUF, 16, VRING_DESC_F_NEXT, QSIZE);
	expect_bad(f, 0, "beyond the table");

	set_desc(f->m, DESC, 0, f->m->size - 8, 16, 0, 0); /* straddles the end of RAM */
	expect_bad(f, 0, "outside guest RAM");
	set_desc(f->m, DESC, 0, 0xd0000000ULL, 16, 0, 0); /* MMIO gap */
	expect_bad(f, 0, "outside guest RAM");

	set_desc(f->m, DESC, 0, BUF, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(f->m, DESC, 1, BUF, 16, 0, 0);
	expect_bad(f, 0, "readable descriptor after a writable");

	set_desc(f->m, table, 0, table2, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(f->m, DESC, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "inside an indirect");

	set_desc(f->m, DESC, 0, table, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	expect_bad(f, 0, "NEXT");

	set_desc(f->m, DESC, 0, table, 15, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "bad length");
	set_desc(f->m, DESC, 0, table, 16 * (VQ_MAX_SIZE + 1), VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "bad length");
	set_desc(f->m, DESC, 0, f->m->size - 16, 32, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "outside guest RAM");

	/* A loop inside an indirect table. */
	set_desc(f->m, table, 0, BUF, 4, VRING_DESC_F_NEXT, 1);
	set_desc(f->m, table, 1, BUF, 4, VRING_DESC_F_NEXT, 0);
	set_desc(f->m, DESC, 0, table, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "loops");

	/* A 256-entry indirect chain is fine; the queue is only 8 long. */
	for (unsigned int i = 0; i < VQ_MAX_SIZE; i++)
		set_desc(f->m, table, i, BUF, 4, i + 1 < VQ_MAX_SIZE ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	set_desc(f->m, DESC, 0, table, 16 * VQ_MAX_SIZE, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.nr_out, VQ_MAX_SIZE);

	f->vq.indirect = false;
	set_desc(f->m, DESC, 0, table, 16, VRING_DESC_F_INDIRECT, 0);
	expect_bad(f, 0, "not negotiated");
	f->vq.indirect = true;

	/* Still works afterwards. */
	set_desc(f->m, DESC, 2, BUF, 8, 0, 0);
	offer(f, 2);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
}

static void test_corrupt_ring(void **state)
{
	struct fixture *f = *state;

	*avail_idx(f->m) = QSIZE + 1; /* more entries than the queue holds */
	assert_int_equal(vq_pop(&f->vq, &f->c), -EPROTO);
	*avail_idx(f->m) = 0;
	offer(f, QSIZE); /* a head beyond the table */
	assert_int_equal(vq_pop(&f->vq, &f->c), -EPROTO);
}

static void test_need_event_wraparound(void **state)
{
	(void)state;
	/* Driver wants an interrupt when used idx passes EVENT. */
	assert_true(vq_need_event(5, 6, 5));
	assert_false(vq_need_event(5, 5, 4));
	assert_true(vq_need_event(5, 9, 2));
	assert_true(vq_need_event(8, 9, 2));
	assert_false(vq_need_event(10, 9, 2));
	/* Across the 16-bit wrap. */
	assert_true(vq_need_event(0xffff, 0x0001, 0xfffe));
	assert_true(vq_need_event(0x0000, 0x0002, 0xfff0));
	assert_false(vq_need_event(0x0005, 0x0002, 0xfff0));
	assert_false(vq_need_event(0xfff0, 0x0002, 0xfff1));
}

static void test_event_idx_signalling(void **state)
{
	struct fixture *f = *state;
	uint16_t *used_event = guest_mem_ptr(f->m, AVAIL + 4 + 2 * QSIZE, 2);
	uint16_t *avail_event = guest_mem_ptr(f->m, USED + 4 + 8 * QSIZE, 2);

	f->vq.event_idx = true;
	set_desc(f->m, DESC, 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++)
		offer(f, 0);
	*used_event = 1; /* interrupt me once the used index passes 1 */
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	vq_push(&f->vq, 0, 8);
	assert_true(vq_should_signal(&f->vq)); /* first signal is always sent */
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	vq_push(&f->vq, 0, 8); /* used idx 2: crosses 1 */
	assert_true(vq_should_signal(&f->vq));
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	vq_push(&f->vq, 0, 8); /* used idx 3: event still 1 */
	assert_false(vq_should_signal(&f->vq));
	/* Sleeping: we publish where we are, and see nothing new. */
	assert_false(vq_enable_notify(&f->vq));
	assert_int_equal(*avail_event, 3);
	offer(f, 0);
	assert_true(vq_enable_notify(&f->vq)); /* raced with the driver: go round again */
}

static void test_no_interrupt_flag(void **state)
{
	struct fixture *f = *state;
	uint16_t *flags = guest_mem_ptr(f->m, AVAIL, 2);

	set_desc(f->m, DESC, 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	vq_push(&f->vq, 0, 0);
	*flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_should_signal(&f->vq));
	*flags = 0;
	assert_true(vq_should_signal(&f->vq));
}

static void test_activate_checks(void **state)
{
	struct fixture *f = *state;
	struct virtqueue vq = { .size = QSIZE, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };

	log_set_level(LOG_SILENT);
	vq.desc_gpa = DESC + 8;
	assert_int_equal(vq_activate(&vq, f->m, "t"), -EINVAL);
	vq.desc_gpa = f->m->size - 16;
	assert_int_equal(vq_activate(&vq, f->m, "t"), -EINVAL);
	vq.desc_gpa = DESC;
	vq.used_gpa = USED + 2;
	assert_int_equal(vq_activate(&vq, f->m, "t"), -EINVAL);
	vq.used_gpa = USED;
	vq.size = 0;
	assert_int_equal(vq_activate(&vq, f->m, "t"), -EINVAL);
	vq.size = VQ_MAX_SIZE + 1;
	assert_int_equal(vq_activate(&vq, f->m, "t"), -EINVAL);
	vq.size = QSIZE;
	assert_int_equal(vq_activate(&vq, f->m, "t"), 0);
	log_set_level(LOG_WARN);
}

static void test_iov_helpers(void **state)
{
	uint8_t a[4] = { 1, 2, 3, 4 }, b[3] = { 5, 6, 7 }, out[8] = { 0 };
	struct iovec iov[2] = { { a, 4 }, { b, 3 } }, s[2];

	(void)state;
	assert_int_equal(iov_to_buf(iov, 2, 2, out, 4), 4);
	assert_memory_equal(out, ((uint8_t[]){ 3, 4, 5, 6 }), 4);
	assert_int_equal(iov_to_buf(iov, 2, 6, out, 4), 1); /* only one byte left */
	assert_int_equal(iov_slice(iov, 2, 3, 2, s, 2), 2);
	assert_ptr_equal(s[0].iov_base, a + 3);
	assert_int_equal(s[0].iov_len, 1);
	assert_int_equal(s[1].iov_len, 1);
	assert_int_equal(iov_slice(iov, 2, 3, 2, s, 1), -EINVAL); /* needs two segments */
	assert_int_equal(iov_slice(iov, 2, 5, 3, s, 2), -EINVAL); /* past the end */
	assert_int_equal(iov_from_buf(iov, 2, 3, ((uint8_t[]){ 9, 9 }), 2), 2);
	assert_int_equal(a[3], 9);
	assert_int_equal(b[0], 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_simple_chain_and_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_ring, setup, teardown),
		cmocka_unit_test(test_need_event_wraparound),
		cmocka_unit_test_setup_teardown(test_event_idx_signalling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activate_checks, setup, teardown),
		cmocka_unit_test(test_iov_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
