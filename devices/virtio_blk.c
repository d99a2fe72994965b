/* virtio-blk: parse each request's header, check it against the image, and
 * hand the data segments straight to io_uring (guest RAM is the I/O buffer:
 * no copies). Completions write the status byte and return the chain. */
#include "virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>

#include "../lib/log.h"

struct blk_req {
	struct devloop_op op;
	struct virtio_blk *b;
	struct blk_req *next_free;
	uint64_t generation;
	uint16_t head;
	uint32_t type;
	uint8_t *status;
	struct iovec iov[BLK_SEG_MAX];
	unsigned int niov;
	uint64_t off;       /* file offset of the next byte */
	uint64_t done;      /* bytes transferred so far */
	uint64_t total;     /* bytes to transfer */
};

#define BLK_REQ_HDR 16

static struct blk_req *req_get(struct virtio_blk *b)
{
	struct blk_req *r = b->free_reqs;

	if (r) {
		b->free_reqs = r->next_free;
		b->inflight++;
	}
	return r;
}

static void req_put(struct virtio_blk *b, struct blk_req *r)
{
	r->next_free = b->free_reqs;
	b->free_reqs = r;
	b->inflight--;
}

/* Finish request R (data bytes written into guest buffers: IN_DATA). */
static void req_complete(struct virtio_blk *b, struct blk_req *r, uint8_t status, uint32_t in_data)
{
	struct virtio_mmio *t = &b->t;

	if (r->generation == t->generation && t->vqs[0].active) {
		*r->status = status;
		if (status != VIRTIO_BLK_S_OK)
			b->errors++;
		vq_push(&t->vqs[0], r->head, in_data + 1);
		virtio_mmio_signal_used(t, 0);
	}
	req_put(b, r);
}

/* Skip the first N bytes of R's remaining iovec (after a short transfer). */
static void iov_advance(struct blk_req *r, uint64_t n)
{
	unsigned int i = 0;

	while (i < r->niov && n >= r->iov[i].iov_len)
		n -= r->iov[i++].iov_len;
	memmove(r->iov, r->iov + i, (r->niov - i) * sizeof(r->iov[0]));
	r->niov -= i;
	if (r->niov) {
		r->iov[0].iov_base = (uint8_t *)r->iov[0].iov_base + n;
		r->iov[0].iov_len -= n;
	}
}

static int req_submit(struct virtio_blk *b, struct blk_req *r);

static void req_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct blk_req *r = container_of(op, struct blk_req, op);
	struct virtio_blk *b = r->b;
	struct virtio_mmio *t = &b->t;

	(void)flags;
	pthread_mutex_lock(&t->lock);
	if (r->generation != t->generation) { /* the driver reset the device meanwhile */
		req_put(b, r);
		goto out;
	}
	if (res < 0) {
		virtio_mmio_warn_once(t, "%s at offset %llu: %s", r->type == VIRTIO_BLK_T_IN ? "read" : "write",
				      (unsigned long long)r->off, strerror(-res));
		req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
		goto out;
	}
	if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) && (uint64_t)res < r->total - r->done) {
		if (res == 0) { /* end of file: the image shrank under us */
			virtio_mmio_warn_once(t, "short %s at offset %llu: image %s shrank?",
					      r->type == VIRTIO_BLK_T_IN ? "read" : "write",
					      (unsigned long long)r->off, b->disk.path);
			req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			goto out;
		}
		r->done += (uint64_t)res;
		r->off += (uint64_t)res;
		iov_advance(r, (uint64_t)res);
		if (req_submit(b, r))
			req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
		goto out;
	}
	if (r->type == VIRTIO_BLK_T_IN)
		b->reads++;
	else if (r->type == VIRTIO_BLK_T_OUT)
		b->writes++;
	else if (r->type == VIRTIO_BLK_T_FLUSH)
		b->flushes++;
	req_complete(b, r, VIRTIO_BLK_S_OK, r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->total : 0);
out:
	pthread_mutex_unlock(&t->lock);
}

static int req_submit(struct virtio_blk *b, struct blk_req *r)
{
	struct devloop *l = &b->t.loop;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		return disk_readv(&b->disk, l, &r->op, r->iov, r->niov, r->off);
	case VIRTIO_BLK_T_OUT:
		return disk_writev(&b->disk, l, &r->op, r->iov, r->niov, r->off);
	case VIRTIO_BLK_T_FLUSH:
		return disk_flush(&b->disk, l, &r->op);
	case VIRTIO_BLK_T_DISCARD:
		return disk_discard(&b->disk, l, &r->op, r->off, r->total);
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return disk_write_zeroes(&b->disk, l, &r->op, r->off, r->total, r->done);
	default:
		return -ENOTSUP;
	}
}

/* A request whose sectors lie outside the image, or that is not whole sectors. */
static bool bad_range(struct virtio_blk *b, uint64_t sector, uint64_t len)
{
	uint64_t cap = b->disk.size / 512;

	return len % 512 || sector > cap || len / 512 > cap - sector;
}

/* Parse chain C and start its I/O, or finish it at once with a status. */
static void handle_chain(struct virtio_blk *b, struct vq_chain *c)
{
	struct virtio_mmio *t = &b->t;
	struct virtio_blk_outhdr hdr;
	struct blk_req *r;
	struct iovec *in = c->iov + c->nr_out;
	int n;

	if (c->out_len < BLK_REQ_HDR || c->in_len < 1 || !in[c->nr_in - 1].iov_len) {
		virtio_mmio_warn_once(t, "request without a header or status byte");
		vq_push(&t->vqs[0], c->head, 0);
		virtio_mmio_signal_used(t, 0);
		return;
	}
	r = req_get(b);
	if (!r) { /* cannot happen: at most queue-size chains are in flight */
		vq_push(&t->vqs[0], c->head, 0);
		virtio_mmio_signal_used(t, 0);
		return;
	}
	iov_to_buf(c->iov, c->nr_out, 0, &hdr, sizeof(hdr));
	r->generation = t->generation;
	r->head = c->head;
	r->type = hdr.type;
	r->status = (uint8_t *)in[c->nr_in - 1].iov_base + in[c->nr_in - 1].iov_len - 1;
	r->off = hdr.sector * 512;
	r->done = 0;
	r->niov = 0;

	/* Data the device must write has to be writable, and the other way round. */
	if ((hdr.type == VIRTIO_BLK_T_IN && c->out_len != BLK_REQ_HDR) ||
	    (hdr.type == VIRTIO_BLK_T_OUT && c->in_len != 1)) {
		virtio_mmio_warn_once(t, "%s request with its data in the wrong direction",
				      hdr.type == VIRTIO_BLK_T_IN ? "read" : "write");
		req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		r->total = c->in_len - 1;
		n = iov_slice(in, c->nr_in, 0, r->total, r->iov, BLK_SEG_MAX);
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->disk.read_only) {
			virtio_mmio_warn_once(t, "write to read-only drive %s refused", b->disk.path);
			req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		r->total = c->out_len - BLK_REQ_HDR;
		n = iov_slice(c->iov, c->nr_out, BLK_REQ_HDR, r->total, r->iov, BLK_SEG_MAX);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->total = 0;
		n = 0;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint32_t len = c->in_len - 1 < VIRTIO_BLK_ID_BYTES ? c->in_len - 1 : VIRTIO_BLK_ID_BYTES;

		iov_from_buf(in, c->nr_in, 0, b->id, len);
		req_complete(b, r, VIRTIO_BLK_S_OK, len);
		return;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		struct virtio_blk_discard_write_zeroes seg;

		if (b->disk.read_only) {
			req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		if (c->out_len - BLK_REQ_HDR != sizeof(seg)) { /* max_discard_seg = 1 */
			req_complete(b, r, VIRTIO_BLK_S_UNSUPP, 0);
			return;
		}
		iov_to_buf(c->iov, c->nr_out, BLK_REQ_HDR, &seg, sizeof(seg));
		r->off = seg.sector * 512;
		r->total = (uint64_t)seg.num_sectors * 512;
		r->done = hdr.type == VIRTIO_BLK_T_WRITE_ZEROES && (seg.flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		n = 0;
		if (seg.sector > UINT64_MAX / 512 || bad_range(b, seg.sector, r->total)) {
			req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		break;
	}
	default:
		req_complete(b, r, VIRTIO_BLK_S_UNSUPP, 0);
		return;
	}
	if (n < 0) {
		virtio_mmio_warn_once(t, "request with more than %d data segments", BLK_SEG_MAX);
		req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	r->niov = (unsigned int)n;
	if ((hdr.type == VIRTIO_BLK_T_IN || hdr.type == VIRTIO_BLK_T_OUT) &&
	    (hdr.sector > UINT64_MAX / 512 || bad_range(b, hdr.sector, r->total))) {
		virtio_mmio_warn_once(t, "%s of %llu bytes at sector %llu: outside the %llu-sector image",
				      hdr.type == VIRTIO_BLK_T_IN ? "read" : "write", (unsigned long long)r->total,
				      (unsigned long long)hdr.sector, (unsigned long long)(b->disk.size / 512));
		req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	if (req_submit(b, r))
		req_complete(b, r, VIRTIO_BLK_S_IOERR, 0);
}

static void blk_notify(struct virtio_mmio *t, unsigned int q)
{
	struct virtio_blk *b = t->dev;
	struct vq_chain c;

	/* handle_chain checks each request itself, answering with a status. */
	while (virtio_mmio_pop(t, q, &c, "malformed request", NULL))
		handle_chain(b, &c);
}

static void blk_activate(struct virtio_mmio *t)
{
	blk_notify(t, 0); /* requests queued before DRIVER_OK */
}

static void blk_reset(struct virtio_mmio *t)
{
	(void)t; /* in-flight requests see the new generation and drop their result */
}

/* Requests in flight complete by themselves: pausing waits for them. */
static bool blk_idle(struct virtio_mmio *t)
{
	return ((struct virtio_blk *)t->dev)->inflight == 0;
}

const struct virtio_dev_ops virtio_blk_ops = {
	.type = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.activate = blk_activate,
	.reset = blk_reset,
	.notify = blk_notify,
	.idle = blk_idle,
};

int virtio_blk_init(struct virtio_blk *b, const char *path, bool read_only, bool direct, const char *id,
		    const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq)
{
	struct virtio_blk_config *cfg = &b->config;
	int ret;

	memset(b, 0, sizeof(*b));
	b->disk.fd = -1;
	ret = disk_open(&b->disk, path, read_only, direct);
	if (ret)
		return ret;
	/* Not NUL-terminated when 20 bytes long, as the spec allows. */
	memcpy(b->id, id, strnlen(id, sizeof(b->id)));
	b->reqs = calloc(VQ_MAX_SIZE, sizeof(*b->reqs));
	if (!b->reqs)
		return -ENOMEM;
	for (unsigned int i = 0; i < VQ_MAX_SIZE; i++) {
		b->reqs[i].b = b;
		b->reqs[i].op.done = req_done;
		b->reqs[i].next_free = b->free_reqs;
		b->free_reqs = &b->reqs[i];
	}
	cfg->capacity = b->disk.size / 512;
	cfg->seg_max = BLK_SEG_MAX;
	cfg->max_discard_sectors = UINT32_MAX;
	cfg->max_discard_seg = 1;
	cfg->discard_sector_alignment = 1;
	cfg->max_write_zeroes_sectors = UINT32_MAX;
	cfg->max_write_zeroes_seg = 1;
	cfg->write_zeroes_may_unmap = 1;
	ret = virtio_mmio_init(&b->t, &virtio_blk_ops, b, id, host, mem, base, irq);
	if (ret)
		return ret;
	b->t.config = (const uint8_t *)cfg;
	b->t.config_len = sizeof(*cfg);
	b->t.device_features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_FLUSH) |
			       (read_only ? 1ULL << VIRTIO_BLK_F_RO
					  : (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES));
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	virtio_mmio_destroy(&b->t);
	disk_close(&b->disk);
	free(b->reqs);
	b->reqs = NULL;
}
