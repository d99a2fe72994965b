/* Hostile chains against virtio-blk: each must fail only its own request
 * (returned with length 0) or, for a corrupt ring, put the device in
 * NEEDS_RESET; after each, a valid read must still work. */
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "guest.h"
#include "irq.h"
#include "lib.h"
#include "virtio.h"

static struct blk_hdr_raw {
	struct virtio_blk_outhdr h;
	uint8_t status;
	uint8_t data[512];
} *req;

/* Descriptors 40.. of queue 0 are ours here (the free list is reset after). */
static void put(struct gvq *q, unsigned int i, void *addr, uint32_t len, uint16_t flags, uint16_t next)
{
	q->desc[i] = (struct vring_desc){ .addr = (uint64_t)addr, .len = len, .flags = flags, .next = next };
}

/* Publish HEAD, and expect it back with used length 0. */
static bool refused(struct gdev *d, uint16_t head)
{
	uint16_t id = 0xffff;
	uint32_t len = 1;

	vq_publish(&d->q[0], head);
	vq_kick(d, 0);
	return vq_wait(d, 0, 10000) && vq_used_raw(d, 0, &id, &len) && id == head && len == 0;
}

static bool still_works(struct gdev *d)
{
	uint64_t *buf = page_alloc(512);

	return blk_req(d, VIRTIO_BLK_T_IN, 0, buf, 512, 1, -1, NULL) == VIRTIO_BLK_S_OK && buf[0] == blk_pattern(0);
}

void hostile_tests(struct gdev *d)
{
	struct gvq *q = &d->q[0];
	struct vring_desc *table;
	uint16_t H = 40;

	if (!check(virtio_setup(d, 1ULL << VIRTIO_RING_F_INDIRECT_DESC, 1), "hostile-setup", "status %x",
		   virtio_status(d)))
		return;
	req = page_alloc(sizeof(*req));
	req->h.type = VIRTIO_BLK_T_IN;
	/* Keep vq_add away from our descriptors: only 40 of 64 are its. */
	q->nfree = 40;

	put(q, H, &req->h, 16, VRING_DESC_F_NEXT, H + 1);
	put(q, H + 1, req->data, 512, VRING_DESC_F_NEXT, H); /* both readable: only the loop is wrong */
	check(refused(d, H) && still_works(d), "hostile-loop", "looping chain not refused cleanly");

	put(q, H, &req->h, 16, VRING_DESC_F_NEXT, H + 1);
	put(q, H + 1, (void *)(1ULL << 40), 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, H + 2);
	put(q, H + 2, &req->status, 1, VRING_DESC_F_WRITE, 0);
	check(refused(d, H) && still_works(d), "hostile-outside-ram", "chain outside RAM not refused");

	put(q, H, &req->h, 16, VRING_DESC_F_NEXT, H + 1);
	put(q, H + 1, req->data, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, H + 2);
	put(q, H + 2, req->data, 16, 0, 0);
	check(refused(d, H) && still_works(d), "hostile-readable-after-writable", "not refused");

	put(q, H, &req->h, 16, VRING_DESC_F_NEXT, 200); /* beyond the 64-entry table */
	check(refused(d, H) && still_works(d), "hostile-next-beyond-table", "not refused");

	/* Longer than the queue: an indirect table of 257 entries. */
	table = page_alloc(16 * 257);
	for (unsigned int i = 0; i < 257; i++)
		table[i] = (struct vring_desc){ .addr = (uint64_t)req->data, .len = 1,
						.flags = i < 256 ? VRING_DESC_F_NEXT : 0, .next = (uint16_t)(i + 1) };
	put(q, H, table, 16 * 257, VRING_DESC_F_INDIRECT, 0);
	check(refused(d, H) && still_works(d), "hostile-chain-longer-than-queue", "not refused");

	/* Nested indirect tables. */
	table[0] = (struct vring_desc){ .addr = (uint64_t)table, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	put(q, H, table, 16, VRING_DESC_F_INDIRECT, 0);
	check(refused(d, H) && still_works(d), "hostile-nested-indirect", "not refused");

	/* A corrupt ring: the available index runs a whole queue ahead. */
	q->avail->idx = (uint16_t)(q->avail_idx + q->size + 1);
	barrier();
	vq_kick(d, 0);
	{
		uint64_t end = ticks() + 1000 / TICK_MS;

		while (!(virtio_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET) && ticks() < end)
			__asm__ volatile("hlt");
	}
	check(virtio_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET, "hostile-corrupt-ring-needs-reset", "status %x",
	      virtio_status(d));
	check(virtio_setup(d, 0, 1) && still_works(d), "hostile-device-works-after-reset", "status %x",
	      virtio_status(d));
}
