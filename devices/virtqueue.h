/* Split virtqueues (virtio 1.x §2.7) seen from the device side: take
 * descriptor chains the driver made available, hand them back as used, and
 * decide whether the driver wants an interrupt (EVENT_IDX).
 *
 * Everything in guest memory is hostile input. A chain that loops, leaves
 * guest RAM, is longer than the queue, nests indirect tables or puts a
 * readable descriptor after a writable one is refused (vq_pop returns
 * -EINVAL after consuming it, so the caller fails that one request); an
 * available index that runs ahead of the queue size is a broken driver
 * (-EPROTO: the device should be marked as needing a reset).
 *
 * Not thread-safe: one thread (the device's) owns a queue while it is live. */
#ifndef HOPX_DEVICES_VIRTQUEUE_H
#define HOPX_DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../lib/memory.h"

/* Queue size offered to drivers (QueueNumMax); also the longest chain. */
#define VQ_MAX_SIZE 256

struct vq_chain {
	uint16_t head;
	uint16_t nr_out, nr_in;     /* readable (driver -> device) segments first, then writable */
	uint32_t out_len, in_len;   /* total bytes of each kind */
	struct iovec iov[VQ_MAX_SIZE];
};

struct virtqueue {
	/* Set by the transport before vq_activate(). */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Live state. */
	const struct guest_mem *mem;
	bool active;
	uint16_t last_avail; /* next available entry to take */
	uint16_t next_used;  /* next used entry to fill */
	uint16_t signalled_used; /* next_used at the last interrupt */
	bool signalled_valid;
	/* Why the last vq_pop failed (a static string), for the device's log. */
	const char *error;
};

/* Check the ring addresses and size against guest RAM and make the queue
 * live from index 0. 0, or -EINVAL (logged with the device NAME). */
int vq_activate(struct virtqueue *vq, const struct guest_mem *mem, const char *name);
void vq_reset(struct virtqueue *vq);

/* Take the next available chain into C. 1 if one was taken, 0 if none is
 * available, -EINVAL if the chain was malformed (it is consumed: return it
 * with vq_push(vq, c->head, 0)), -EPROTO if the ring itself is corrupt. */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* Give back the last chain vq_pop returned, unused (e.g. no room for it yet). */
void vq_unpop(struct virtqueue *vq);
/* Whether a chain is available, without taking it. */
bool vq_has_avail(struct virtqueue *vq);

/* Return chain HEAD with LEN bytes written into its writable part. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* After pushes: whether the driver asked to be interrupted (EVENT_IDX or the
 * NO_INTERRUPT flag). Updates the signalled mark when it returns true. */
bool vq_should_signal(struct virtqueue *vq);
/* Before sleeping: ask for a notification at the next available entry.
 * Returns true when entries arrived meanwhile (process them instead). */
bool vq_enable_notify(struct virtqueue *vq);

/* virtio 1.x §2.7.7.2: true when NEW crossed EVENT since OLD (mod 2^16). */
static inline bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* iovec helpers over a chain's segments. */
/* Copy up to LEN bytes starting OFF bytes into IOV[0..N) to BUF; returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off, const void *buf, size_t len);
/* Point OUT at the bytes [OFF, OFF+LEN) of IOV[0..N) (at most MAX segments);
 * returns the number of segments, or -EINVAL if the range is not inside. */
int iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len, struct iovec *out, unsigned int max);

#endif
