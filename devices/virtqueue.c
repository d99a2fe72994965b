/* Split virtqueue, device side (virtio 1.x §2.7). Every read of guest memory
 * copies the value once before checking it, so a guest changing a descriptor
 * under us can only make its own request fail. Expected load: one vq_pop and
 * one vq_push per I/O request, on the device's thread. */
#include "virtqueue.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "../lib/log.h"

#define RING_HDR 4 /* flags + idx */

static inline uint16_t load16_acquire(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static inline uint16_t load16(const void *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static inline void store16_release(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

static uint8_t *avail_ring(const struct virtqueue *vq, uint64_t extra_off, uint64_t len)
{
	return guest_mem_ptr(vq->mem, vq->avail_gpa + extra_off, len);
}

int vq_activate(struct virtqueue *vq, const struct guest_mem *mem, const char *name)
{
	uint64_t s = vq->size;

	if (s == 0 || s > VQ_MAX_SIZE) {
		pr_warn("%s: queue size %u is not 1..%d", name, vq->size, VQ_MAX_SIZE);
		return -EINVAL;
	}
	/* Alignment from virtio 1.x §2.7: descriptors 16, available 2, used 4. */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3)) {
		pr_warn("%s: misaligned ring (desc %#llx avail %#llx used %#llx)", name,
			(unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			(unsigned long long)vq->used_gpa);
		return -EINVAL;
	}
	if (!guest_mem_ptr(mem, vq->desc_gpa, 16 * s) || !guest_mem_ptr(mem, vq->avail_gpa, 6 + 2 * s) ||
	    !guest_mem_ptr(mem, vq->used_gpa, 6 + 8 * s)) {
		pr_warn("%s: ring outside guest RAM (desc %#llx avail %#llx used %#llx, size %u)", name,
			(unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			(unsigned long long)vq->used_gpa, vq->size);
		return -EINVAL;
	}
	vq->mem = mem;
	vq->last_avail = 0;
	vq->next_used = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->error = NULL;
	vq->active = true;
	return 0;
}

void vq_reset(struct virtqueue *vq)
{
	memset(vq, 0, sizeof(*vq));
}

bool vq_has_avail(struct virtqueue *vq)
{
	return vq->active && load16_acquire(avail_ring(vq, 2, 2)) != vq->last_avail;
}

static int chain_fail(struct virtqueue *vq, const char *why)
{
	vq->error = why;
	return -EINVAL;
}

/* Append descriptor D to C, enforcing "readable before writable". */
static int chain_add(struct virtqueue *vq, struct vq_chain *c, const struct vring_desc *d)
{
	void *p;
	uint32_t *total;

	if (c->nr_out + c->nr_in >= VQ_MAX_SIZE)
		return chain_fail(vq, "chain longer than the queue");
	p = d->len ? guest_mem_ptr(vq->mem, d->addr, d->len) : NULL;
	if (d->len && !p)
		return chain_fail(vq, "descriptor outside guest RAM");
	if (d->flags & VRING_DESC_F_WRITE) {
		total = &c->in_len;
		c->nr_in++;
	} else {
		if (c->nr_in)
			return chain_fail(vq, "readable descriptor after a writable one");
		total = &c->out_len;
		c->nr_out++;
	}
	if (*total + d->len < *total)
		return chain_fail(vq, "chain length overflows 32 bits");
	*total += d->len;
	c->iov[c->nr_out + c->nr_in - 1] = (struct iovec){ p, d->len };
	return 0;
}

static int walk_chain(struct virtqueue *vq, struct vq_chain *c)
{
	const uint8_t *table = guest_mem_ptr(vq->mem, vq->desc_gpa, 16ULL * vq->size);
	uint32_t tsize = vq->size, idx = c->head, steps = 0;
	bool nested = false;
	struct vring_desc d;

	for (;;) {
		if (idx >= tsize)
			return chain_fail(vq, "descriptor index beyond the table");
		if (++steps > tsize)
			return chain_fail(vq, "descriptor chain loops");
		memcpy(&d, table + 16 * idx, sizeof(d)); /* one read: the guest may change it */
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return chain_fail(vq, "indirect descriptor not negotiated");
			if (nested)
				return chain_fail(vq, "indirect table inside an indirect table");
			if (d.flags & VRING_DESC_F_NEXT)
				return chain_fail(vq, "indirect descriptor with NEXT set");
			if (d.len == 0 || d.len % 16 || d.len / 16 > VQ_MAX_SIZE)
				return chain_fail(vq, "indirect table of a bad length");
			table = guest_mem_ptr(vq->mem, d.addr, d.len);
			if (!table)
				return chain_fail(vq, "indirect table outside guest RAM");
			tsize = d.len / 16;
			idx = 0;
			steps = 0;
			nested = true;
			continue;
		}
		if (chain_add(vq, c, &d))
			return -EINVAL;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t avail_idx, head;

	if (!vq->active)
		return 0;
	avail_idx = load16_acquire(avail_ring(vq, 2, 2));
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq->error = "available index ran ahead of the queue size";
		return -EPROTO;
	}
	if (avail_idx == vq->last_avail)
		return 0;
	head = load16(avail_ring(vq, RING_HDR + 2ULL * (vq->last_avail % vq->size), 2));
	if (head >= vq->size) {
		vq->error = "available ring names a descriptor beyond the table";
		return -EPROTO;
	}
	vq->last_avail++;
	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	return walk_chain(vq, c) ? -EINVAL : 1;
}

void vq_unpop(struct virtqueue *vq)
{
	vq->last_avail--;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	uint8_t *used = guest_mem_ptr(vq->mem, vq->used_gpa, 6 + 8ULL * vq->size);
	struct vring_used_elem e = { .id = head, .len = len };

	memcpy(used + RING_HDR + 8 * (vq->next_used % vq->size), &e, sizeof(e));
	vq->next_used++;
	/* The element must be visible before the index that publishes it. */
	store16_release(used + 2, vq->next_used);
}

bool vq_should_signal(struct virtqueue *vq)
{
	uint16_t old, new_idx = vq->next_used, event;
	bool valid;

	/* Our used-index store must be visible before we read the driver's
	 * used_event / flags, or we can miss its request for an interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(avail_ring(vq, 0, 2)) & VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = load16(avail_ring(vq, RING_HDR + 2ULL * vq->size, 2));
	return vq_need_event(event, new_idx, old);
}

bool vq_enable_notify(struct virtqueue *vq)
{
	uint8_t *used;

	if (!vq->active)
		return false;
	if (vq->event_idx) {
		used = guest_mem_ptr(vq->mem, vq->used_gpa, 6 + 8ULL * vq->size);
		/* avail_event lives after the used ring's entries. */
		__atomic_store_n((uint16_t *)(used + RING_HDR + 8 * vq->size), vq->last_avail, __ATOMIC_RELAXED);
	}
	/* Publish avail_event before re-reading avail->idx (the driver does the
	 * mirror image: writes idx, then reads avail_event). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_has_avail(vq);
}

/* The walker both copies share: bytes [OFF, OFF+LEN) of IOV[0..N) go to
 * TO, or come from FROM (exactly one is set), as far as the segments go.
 * Returns the bytes copied. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off, void *to, const void *from, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		uint8_t *seg;

		if (off >= l) {
			off -= l;
			continue;
		}
		l = l - off < len - done ? l - off : len - done;
		seg = (uint8_t *)iov[i].iov_base + off;
		if (to)
			memcpy((uint8_t *)to + done, seg, l);
		else
			memcpy(seg, (const uint8_t *)from + done, l);
		done += l;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len)
{
	return iov_copy(iov, n, off, buf, NULL, len);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off, const void *buf, size_t len)
{
	return iov_copy(iov, n, off, NULL, buf, len);
}

int iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len, struct iovec *out, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		if (k == max)
			return -EINVAL;
		out[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + off, l };
		len -= l;
		off = 0;
	}
	return len ? -EINVAL : (int)k;
}
