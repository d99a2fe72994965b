/* Test-guest virtio driver (see virtio.h). */
#include "virtio.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "irq.h"
#include "lib.h"

static uint32_t rd(struct gdev *d, unsigned int off)
{
	return mmio_read32(d->base + off);
}

static void wr(struct gdev *d, unsigned int off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}

int virtio_find(struct gdev *devs, int max)
{
	extern const char *guest_cmdline;
	const char *p = guest_cmdline, *key = "virtio_mmio.device=";
	int n = 0;

	while (p && *p && n < max) {
		if (strncmp(p, key, strlen(key)) == 0) {
			struct gdev *d = &devs[n];

			p += strlen(key);
			parse_u64(&p); /* size, then an optional K */
			if (*p == 'K' || *p == 'k')
				p++;
			if (*p++ != '@')
				continue;
			memset(d, 0, sizeof(*d));
			d->base = parse_u64(&p);
			if (*p++ != ':')
				continue;
			d->irq = (unsigned int)parse_u64(&p);
			if (rd(d, VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976 && rd(d, VIRTIO_MMIO_VERSION) == 2) {
				d->device_id = rd(d, VIRTIO_MMIO_DEVICE_ID);
				n++;
			}
			continue;
		}
		p++;
	}
	return n;
}

struct gdev *virtio_next(struct gdev *devs, int n, uint32_t id, int *from)
{
	for (int i = *from; i < n; i++) {
		if (devs[i].device_id == id) {
			*from = i + 1;
			return &devs[i];
		}
	}
	return NULL;
}

void virtio_reset(struct gdev *d)
{
	wr(d, VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < 1000000 && rd(d, VIRTIO_MMIO_STATUS); i++)
		;
}

uint32_t virtio_status(struct gdev *d)
{
	return rd(d, VIRTIO_MMIO_STATUS);
}

uint8_t virtio_config8(struct gdev *d, unsigned int off)
{
	return *(volatile uint8_t *)(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint32_t virtio_config32(struct gdev *d, unsigned int off)
{
	return rd(d, VIRTIO_MMIO_CONFIG + off);
}

static void set_addr(struct gdev *d, unsigned int lo, uint64_t a)
{
	wr(d, lo, (uint32_t)a);
	wr(d, lo + 4, (uint32_t)(a >> 32));
}

bool virtio_setup(struct gdev *d, uint64_t want, unsigned int nq)
{
	uint64_t offered;
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	virtio_reset(d);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS, st);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	d->features = offered & (want | (1ULL << VIRTIO_F_VERSION_1));
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	wr(d, VIRTIO_MMIO_STATUS, st);
	if (!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	d->nq = nq;
	for (unsigned int i = 0; i < nq; i++) {
		struct gvq *q = &d->q[i];
		uint32_t max;

		wr(d, VIRTIO_MMIO_QUEUE_SEL, i);
		max = rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
		if (!max)
			return false;
		q->size = (uint16_t)(max < QUEUE_SIZE ? max : QUEUE_SIZE);
		/* Reuse the rings across resets of the same device. */
		if (!q->desc) {
			q->desc = page_alloc(16 * QUEUE_SIZE);
			q->avail = page_alloc(6 + 2 * QUEUE_SIZE);
			q->used = page_alloc(6 + 8 * QUEUE_SIZE);
		}
		memset(q->desc, 0, 16 * QUEUE_SIZE);
		memset(q->avail, 0, 6 + 2 * QUEUE_SIZE);
		memset(q->used, 0, 6 + 8 * QUEUE_SIZE);
		q->avail_idx = q->last_used = 0;
		for (uint16_t k = 0; k < q->size; k++)
			q->desc[k].next = (uint16_t)(k + 1);
		q->free_head = 0;
		q->nfree = q->size;
		wr(d, VIRTIO_MMIO_QUEUE_NUM, q->size);
		set_addr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint64_t)q->desc);
		set_addr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint64_t)q->avail);
		set_addr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint64_t)q->used);
		wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	irq_route(d->irq);
	wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	return !(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void vq_publish(struct gvq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->size] = head;
	barrier(); /* the entry before the index */
	q->avail_idx++;
	*(volatile uint16_t *)&q->avail->idx = q->avail_idx;
	barrier();
}

int vq_add(struct gvq *q, const struct seg *segs, unsigned int n)
{
	uint16_t head = q->free_head, idx = head;

	if (n == 0 || n > q->nfree)
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		struct vring_desc *dsc = &q->desc[idx];

		dsc->addr = (uint64_t)segs[i].addr;
		dsc->len = segs[i].len;
		dsc->flags = (uint16_t)((segs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		if (i + 1 < n)
			idx = dsc->next;
	}
	q->free_head = q->desc[idx].next;
	q->nfree -= (uint16_t)n;
	vq_publish(q, head);
	return head;
}

void vq_kick(struct gdev *d, unsigned int qi)
{
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, qi);
}

bool vq_used_raw(struct gdev *d, unsigned int qi, uint16_t *id, uint32_t *len)
{
	struct gvq *q = &d->q[qi];

	if (*(volatile uint16_t *)&q->used->idx == q->last_used)
		return false;
	barrier();
	*id = (uint16_t)q->used->ring[q->last_used % q->size].id;
	*len = q->used->ring[q->last_used % q->size].len;
	q->last_used++;
	return true;
}

bool vq_used(struct gdev *d, unsigned int qi, uint16_t *id, uint32_t *len)
{
	struct gvq *q = &d->q[qi];
	uint16_t n = 1, i;

	if (!vq_used_raw(d, qi, id, len))
		return false;
	/* Put the chain back on the free list. */
	if (*id < q->size) {
		for (i = *id; q->desc[i].flags & VRING_DESC_F_NEXT && n < q->size; i = q->desc[i].next)
			n++;
		q->desc[i].next = q->free_head;
		q->free_head = *id;
		q->nfree += n;
	}
	return true;
}

struct wait_arg {
	struct gdev *d;
	unsigned int qi;
};

static bool has_used(void *p)
{
	struct wait_arg *a = p;
	struct gvq *q = &a->d->q[a->qi];
	uint32_t isr = rd(a->d, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		wr(a->d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return *(volatile uint16_t *)&q->used->idx != q->last_used;
}

bool vq_wait(struct gdev *d, unsigned int qi, uint64_t timeout_ms)
{
	struct wait_arg a = { d, qi };

	return irq_wait(has_used, &a, timeout_ms);
}
