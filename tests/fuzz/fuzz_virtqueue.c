/* libFuzzer target: the device side of a split virtqueue fed by rings the
 * fuzzer builds. Input: a small header (queue size, features, how far the
 * available index runs), then raw bytes for the descriptor table, the
 * available ring and an area indirect tables may point into. Every chain
 * vq_pop accepts must lie inside guest RAM, have readable segments first and
 * no more than VQ_MAX_SIZE segments; nothing may crash or read out of bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtqueue.h"
#include "../../lib/log.h"

#define MEM_SIZE (32ULL << 20)
#define DESC 0x1000ULL
#define AVAIL 0x3000ULL
#define USED 0x4000ULL
#define AREA 0x10000ULL
#define AREA_SIZE 0x10000ULL

static struct guest_mem mem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_chain(const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;

	if (c->nr_out + c->nr_in > VQ_MAX_SIZE)
		abort();
	for (unsigned int i = 0; i < (unsigned int)(c->nr_out + c->nr_in); i++) {
		const uint8_t *p = c->iov[i].iov_base;

		if (c->iov[i].iov_len && (p < mem.host || p + c->iov[i].iov_len > mem.host + mem.size))
			abort();
		if (c->iov[i].iov_len) /* touch both ends: ASan checks the mapping */
			(void)*(volatile const uint8_t *)p, (void)*(volatile const uint8_t *)(p + c->iov[i].iov_len - 1);
		if (i < c->nr_out)
			out += c->iov[i].iov_len;
		else
			in += c->iov[i].iov_len;
	}
	if (out != c->out_len || in != c->in_len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtqueue vq = { 0 };
	struct vq_chain *c;
	size_t n;

	if (!mem.host) {
		log_set_level(LOG_SILENT);
		if (guest_mem_init(&mem, MEM_SIZE))
			abort();
	}
	if (size < 4)
		return 0;
	memset(mem.host, 0, AREA + AREA_SIZE);
	vq.size = (uint16_t)(data[0] | ((data[1] & 1) << 8));
	vq.event_idx = data[1] & 2;
	vq.indirect = data[1] & 4;
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	data += 2;
	size -= 2;
	if (vq_activate(&vq, &mem, "fuzz"))
		return 0;
	/* Descriptor table, then available ring, then the indirect area. */
	n = size < 16ULL * vq.size ? size : 16ULL * vq.size;
	memcpy(mem.host + DESC, data, n);
	data += n;
	size -= n;
	n = size < 6ULL + 2 * vq.size ? size : 6ULL + 2 * vq.size;
	memcpy(mem.host + AVAIL, data, n);
	data += n;
	size -= n;
	n = size < AREA_SIZE ? size : AREA_SIZE;
	memcpy(mem.host + AREA, data, n);

	c = malloc(sizeof(*c));
	for (int i = 0; i < 2 * VQ_MAX_SIZE; i++) {
		int ret = vq_pop(&vq, c);

		if (ret == 0 || ret == -EPROTO)
			break;
		if (ret == 1)
			check_chain(c);
		vq_push(&vq, c->head, ret == 1 ? c->in_len : 0);
		vq_should_signal(&vq);
	}
	vq_enable_notify(&vq);
	free(c);
	return 0;
}
