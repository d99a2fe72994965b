/* A minimal virtio 1.x MMIO driver for the test guest: finds devices on the
 * command line, negotiates, sets up split queues, and submits chains. It also
 * exposes the raw rings so hostile tests can build malformed chains. */
#ifndef HOPX_GUEST_VIRTIO_H
#define HOPX_GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#define MAX_DEVS 8
#define QUEUE_SIZE 64

struct gvq {
	uint16_t size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx; /* next available index we publish */
	uint16_t last_used;
	uint16_t free_head, nfree;
};

struct gdev {
	uint64_t base;
	unsigned int irq;
	uint32_t device_id;
	uint64_t features;
	unsigned int nq;
	struct gvq q[3];
};

struct seg {
	void *addr;
	uint32_t len;
	bool write; /* device writes it */
};

/* Devices from "virtio_mmio.device=SIZE@ADDR:IRQ" words; returns how many. */
int virtio_find(struct gdev *devs, int max);
/* The first device of type ID at or after index *FROM (advanced past it). */
struct gdev *virtio_next(struct gdev *devs, int n, uint32_t id, int *from);
/* Reset, negotiate WANT (plus VERSION_1), set up NQ queues, DRIVER_OK. */
bool virtio_setup(struct gdev *d, uint64_t want, unsigned int nq);
void virtio_reset(struct gdev *d);
uint32_t virtio_status(struct gdev *d);
uint8_t virtio_config8(struct gdev *d, unsigned int off);
uint32_t virtio_config32(struct gdev *d, unsigned int off);

/* Queue a chain of N segments (readable ones first); returns its head, or -1. */
int vq_add(struct gvq *q, const struct seg *segs, unsigned int n);
void vq_kick(struct gdev *d, unsigned int qi);
/* Take one used entry; false if none. */
bool vq_used(struct gdev *d, unsigned int qi, uint16_t *id, uint32_t *len);
/* The same without returning descriptors to the free list (hostile chains). */
bool vq_used_raw(struct gdev *d, unsigned int qi, uint16_t *id, uint32_t *len);
/* Wait (with interrupts) until queue QI has a used entry; false on timeout. */
bool vq_wait(struct gdev *d, unsigned int qi, uint64_t timeout_ms);
/* Raw access for hostile chains: publish HEAD as available without checks. */
void vq_publish(struct gvq *q, uint16_t head);

#endif
