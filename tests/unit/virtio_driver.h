/* A minimal virtio-mmio guest driver for unit tests: it drives a transport
 * through its bus ops as a vCPU would, keeps split rings in a synthetic
 * guest memory, and watches the transport's interrupt eventfd (no KVM: the
 * transport is initialised without a struct virtio_mmio_host).
 *
 * Layout in guest memory: queue Q's descriptor table at VD_RING(Q), its
 * available ring 0x1000 above, its used ring 0x2000 above; buffers from
 * VD_BUFS up, handed out by vd_alloc. */
#ifndef HOPX_TEST_VIRTIO_DRIVER_H
#define HOPX_TEST_VIRTIO_DRIVER_H

#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "../../devices/virtio_mmio.h"
#include "test_helpers.h"

#define VD_RING(q) (0x10000ULL + (q) * 0x4000ULL)
#define VD_BUFS 0x100000ULL
#define VD_QSZ 16

struct vd {
	struct virtio_mmio *t;
	struct guest_mem *mem;
	uint64_t next_buf;
	uint16_t avail_idx[VIRTIO_MAX_QUEUES], used_seen[VIRTIO_MAX_QUEUES], next_desc[VIRTIO_MAX_QUEUES];
};

/* One descriptor of a chain: LEN bytes at guest address ADDR. */
struct vd_seg {
	uint64_t addr;
	uint32_t len;
	bool writable; /* device writes it */
};

/* The guest memory of a test program, made and freed by its group. */
static struct guest_mem vd_mem;

static inline int vd_group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	return guest_mem_init(&vd_mem, (uint64_t)TEST_MEM_MIB << 20) ? -1 : 0;
}

static inline int vd_group_teardown(void **state)
{
	(void)state;
	guest_mem_free(&vd_mem);
	return 0;
}

static inline void vd_write(struct vd *d, uint32_t off, uint32_t v)
{
	virtio_mmio_bus_ops.write(d->t, off, (uint8_t *)&v, 4);
}

static inline uint32_t vd_read(struct vd *d, uint32_t off)
{
	uint32_t v;

	virtio_mmio_bus_ops.read(d->t, off, (uint8_t *)&v, 4);
	return v;
}

/* LEN bytes of fresh, zeroed guest memory. */
static inline uint64_t vd_alloc(struct vd *d, uint32_t len)
{
	uint64_t a = d->next_buf ? d->next_buf : VD_BUFS;

	d->next_buf = a + ((len + 4095) & ~4095U);
	memset(guest_mem_ptr(d->mem, a, len), 0, len);
	return a;
}

static inline void *vd_ptr(struct vd *d, uint64_t addr, uint32_t len)
{
	return guest_mem_ptr(d->mem, addr, len);
}

/* Point queue Q at its rings (size VD_QSZ) and mark it ready. */
static inline void vd_queue_setup(struct vd *d, unsigned int q)
{
	vd_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	vd_write(d, VIRTIO_MMIO_QUEUE_NUM, VD_QSZ);
	vd_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)VD_RING(q));
	vd_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	vd_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(VD_RING(q) + 0x1000));
	vd_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	vd_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(VD_RING(q) + 0x2000));
	vd_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	vd_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The whole handshake with driver features FEATURES (VERSION_1 at least),
 * NQ queues set up; returns the status register read back at the end. */
static inline uint32_t vd_init(struct vd *d, struct virtio_mmio *t, struct guest_mem *mem, uint64_t features,
			       unsigned int nq)
{
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	memset(d, 0, sizeof(*d));
	d->t = t;
	d->mem = mem;
	memset(guest_mem_ptr(mem, VD_RING(0), 0x4000 * VIRTIO_MAX_QUEUES), 0, 0x4000 * VIRTIO_MAX_QUEUES);
	vd_write(d, VIRTIO_MMIO_STATUS, 0);
	vd_write(d, VIRTIO_MMIO_STATUS, st);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	vd_write(d, VIRTIO_MMIO_STATUS, st |= VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < nq; q++)
		vd_queue_setup(d, q);
	vd_write(d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	return vd_read(d, VIRTIO_MMIO_STATUS);
}

/* Make the chain SEGS[0..N) available on queue Q (no notify); its head. */
static inline uint16_t vd_publish(struct vd *d, unsigned int q, const struct vd_seg *segs, unsigned int n)
{
	struct vring_desc *table = vd_ptr(d, VD_RING(q), 16 * VD_QSZ);
	uint16_t *avail = vd_ptr(d, VD_RING(q) + 0x1000, 6 + 2 * VD_QSZ);
	uint16_t head = d->next_desc[q];

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % VD_QSZ);

		table[idx] = (struct vring_desc){
			.addr = segs[i].addr,
			.len = segs[i].len,
			.flags = (uint16_t)((segs[i].writable ? VRING_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			.next = (uint16_t)((idx + 1) % VD_QSZ),
		};
	}
	d->next_desc[q] = (uint16_t)((head + n) % VD_QSZ);
	avail[2 + d->avail_idx[q] % VD_QSZ] = head;
	__atomic_store_n(&avail[1], ++d->avail_idx[q], __ATOMIC_RELEASE);
	return head;
}

/* vd_publish, then notify the device through the QueueNotify register. */
static inline uint16_t vd_send(struct vd *d, unsigned int q, const struct vd_seg *segs, unsigned int n)
{
	uint16_t head = vd_publish(d, q, segs, n);

	vd_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	return head;
}

/* Wait up to MS for the next used entry of queue Q: its id and length. */
static inline bool vd_used(struct vd *d, unsigned int q, uint16_t *id, uint32_t *len, int ms)
{
	struct vring_used *u = vd_ptr(d, VD_RING(q) + 0x2000, 6 + 8 * VD_QSZ);

	for (int i = 0; i <= ms; i++) {
		if (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) != d->used_seen[q]) {
			*id = (uint16_t)u->ring[d->used_seen[q] % VD_QSZ].id;
			*len = u->ring[d->used_seen[q]++ % VD_QSZ].len;
			return true;
		}
		usleep(1000);
	}
	return false;
}

/* Wait up to MS for an eventfd to be signalled; its counter (0: never). */
static inline uint64_t vd_eventfd_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&p, 1, ms) == 1 && read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = 0;
	return v;
}

#endif
