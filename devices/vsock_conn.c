/* vsock stream bookkeeping (see vsock_conn.h). */
#include "vsock_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtqueue.h"

int vsock_conn_buf_put(struct vsock_conn *c, const struct iovec *iov, unsigned int n, size_t off, uint32_t len)
{
	uint32_t tail, first;

	if (len > VSOCK_BUF_ALLOC - c->buf_len)
		return -ENOSPC;
	if (!c->buf) {
		c->buf = malloc(VSOCK_BUF_ALLOC);
		if (!c->buf)
			return -ENOMEM;
	}
	tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
	first = VSOCK_BUF_ALLOC - tail < len ? VSOCK_BUF_ALLOC - tail : len;
	iov_to_buf(iov, n, off, c->buf + tail, first);
	if (first < len)
		iov_to_buf(iov, n, off + first, c->buf, len - first);
	c->buf_len += len;
	return 0;
}

const uint8_t *vsock_conn_buf_peek(const struct vsock_conn *c, uint32_t *len)
{
	uint32_t run = VSOCK_BUF_ALLOC - c->buf_head;

	*len = c->buf_len < run ? c->buf_len : run;
	return c->buf ? c->buf + c->buf_head : NULL;
}

void vsock_conn_buf_consume(struct vsock_conn *c, uint32_t len)
{
	if (len > c->buf_len)
		len = c->buf_len;
	c->buf_head = (c->buf_head + len) % VSOCK_BUF_ALLOC;
	c->buf_len -= len;
	c->fwd_cnt += len;
}

int vsock_conn_line_feed(struct vsock_conn *c, char ch, uint32_t *port)
{
	static const char prefix[] = "CONNECT ";
	char *end;
	unsigned long v;

	if (ch != '\n') {
		if (c->line_len + 1 >= sizeof(c->line))
			return -EINVAL;
		c->line[c->line_len++] = ch;
		return 0;
	}
	c->line[c->line_len] = '\0';
	if (c->line_len > 0 && c->line[c->line_len - 1] == '\r')
		c->line[--c->line_len] = '\0';
	if (strncmp(c->line, prefix, sizeof(prefix) - 1) != 0)
		return -EINVAL;
	if (c->line[sizeof(prefix) - 1] < '0' || c->line[sizeof(prefix) - 1] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(c->line + sizeof(prefix) - 1, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)v;
	return 1;
}

void vsock_conn_free(struct vsock_conn *c)
{
	free(c->buf);
	free(c);
}
