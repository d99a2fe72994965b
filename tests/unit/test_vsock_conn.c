/* vsock stream bookkeeping: credit accounting (with 32-bit wrap-around), the
 * guest-data ring buffer, and the host's CONNECT line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/vsock_conn.h"
#include "test_helpers.h"

static void test_peer_credit(void **state)
{
	struct vsock_conn c = { .peer_buf_alloc = 1000 };

	(void)state;
	assert_int_equal(vsock_peer_credit(&c), 1000);
	c.rx_cnt = 600; /* sent, none consumed by the guest yet */
	assert_int_equal(vsock_peer_credit(&c), 400);
	c.peer_fwd_cnt = 500;
	assert_int_equal(vsock_peer_credit(&c), 900);
	c.rx_cnt = 1500; /* a full window in flight */
	assert_int_equal(vsock_peer_credit(&c), 0);
	c.peer_buf_alloc = 200; /* the guest shrank its buffer below what is in flight */
	assert_int_equal(vsock_peer_credit(&c), 0);
	/* Counters wrap at 2^32, differences do not. */
	c.peer_buf_alloc = 1000;
	c.peer_fwd_cnt = 0xffffff00u;
	c.rx_cnt = 0x00000100u; /* 512 bytes in flight across the wrap */
	assert_int_equal(vsock_peer_credit(&c), 488);
}

static void test_credit_update_due(void **state)
{
	struct vsock_conn c = { 0 };

	(void)state;
	c.fwd_cnt = VSOCK_BUF_ALLOC / 4 - 1;
	assert_false(vsock_credit_update_due(&c));
	c.fwd_cnt++;
	assert_true(vsock_credit_update_due(&c));
	c.fwd_cnt_sent = 0xfffffff0u;
	c.fwd_cnt = 0x10;
	assert_false(vsock_credit_update_due(&c));
}

static void test_buffer_ring(void **state)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));
	static uint8_t data[VSOCK_BUF_ALLOC];
	struct iovec iov[2] = { { data, 100 }, { data + 100, VSOCK_BUF_ALLOC - 100 } };
	const uint8_t *p;
	uint32_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	/* Fill all but 10 bytes, across two segments, after a header offset of 3. */
	assert_int_equal(vsock_conn_buf_put(c, iov, 2, 3, VSOCK_BUF_ALLOC - 10), 0);
	assert_int_equal(vsock_conn_buf_put(c, iov, 2, 0, 11), -ENOSPC); /* beyond the window */
	p = vsock_conn_buf_peek(c, &len);
	assert_int_equal(len, VSOCK_BUF_ALLOC - 10);
	assert_memory_equal(p, data + 3, 1000);
	vsock_conn_buf_consume(c, 1000);
	assert_int_equal(c->fwd_cnt, 1000);
	/* Wraps: 1010 free now, written as 10 at the end and 1000 at the start. */
	assert_int_equal(vsock_conn_buf_put(c, iov, 2, 0, 1010), 0);
	p = vsock_conn_buf_peek(c, &len);
	assert_int_equal(len, VSOCK_BUF_ALLOC - 1000); /* up to the end of the ring */
	vsock_conn_buf_consume(c, len);
	p = vsock_conn_buf_peek(c, &len);
	assert_int_equal(len, 1000);
	assert_memory_equal(p, data + 10, 1000);
	vsock_conn_buf_consume(c, len);
	assert_int_equal(c->buf_len, 0);
	assert_int_equal(c->fwd_cnt, VSOCK_BUF_ALLOC + 1000); /* everything put, all consumed */
	vsock_conn_free(c);
}

/* Feed S; return the final result. */
static int feed(const char *s, uint32_t *port)
{
	struct vsock_conn c = { 0 };
	int ret = 0;

	for (; *s && ret == 0; s++)
		ret = vsock_conn_line_feed(&c, *s, port);
	return ret;
}

static void test_connect_line(void **state)
{
	uint32_t port = 0;

	(void)state;
	assert_int_equal(feed("CONNECT 7777\n", &port), 1);
	assert_int_equal(port, 7777);
	assert_int_equal(feed("CONNECT 52\r\n", &port), 1);
	assert_int_equal(port, 52);
	assert_int_equal(feed("CONNECT 4294967295\n", &port), 1);
	assert_int_equal(feed("CONNECT 7777", &port), 0); /* needs the newline */
	assert_int_equal(feed("CONNECT 4294967296\n", &port), -EINVAL);
	assert_int_equal(feed("CONNECT -1\n", &port), -EINVAL);
	assert_int_equal(feed("CONNECT \n", &port), -EINVAL);
	assert_int_equal(feed("CONNECT 12x\n", &port), -EINVAL);
	assert_int_equal(feed("connect 1\n", &port), -EINVAL);
	assert_int_equal(feed("GET / HTTP/1.1\n", &port), -EINVAL);
	assert_int_equal(feed("CONNECT 1111111111111111111111111111\n", &port), -EINVAL); /* too long */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_credit),
		cmocka_unit_test(test_credit_update_due),
		cmocka_unit_test(test_buffer_ring),
		cmocka_unit_test(test_connect_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
