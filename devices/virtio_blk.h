/* virtio-blk (virtio 1.x §5.2) over a raw image file (devices/disk.c):
 * read, write, flush, get-id, discard and write-zeroes, each request one
 * io_uring operation on the device's thread. Read-only drives answer writes
 * with VIRTIO_BLK_S_IOERR and never touch the file. */
#ifndef HOPX_DEVICES_VIRTIO_BLK_H
#define HOPX_DEVICES_VIRTIO_BLK_H

#include <linux/virtio_blk.h>

#include "disk.h"
#include "virtio_mmio.h"

/* Segments per request the device accepts (advertised as seg_max). */
#define BLK_SEG_MAX 126

struct blk_req;

struct virtio_blk {
	struct virtio_mmio t;
	struct disk disk;
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;
	struct blk_req *reqs;     /* VQ_MAX_SIZE of them */
	struct blk_req *free_reqs;
	unsigned int inflight;    /* requests taken from the ring, not yet returned */
	uint64_t reads, writes, flushes, errors; /* counters (device thread) */
};

extern const struct virtio_dev_ops virtio_blk_ops;

/* Open the image and set up the device; ID (up to 20 bytes) is what the
 * guest's get-id returns (e.g. /dev/disk/by-id/virtio-ID). */
int virtio_blk_init(struct virtio_blk *b, const char *path, bool read_only, bool direct, const char *id,
		    const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq);
void virtio_blk_destroy(struct virtio_blk *b);

#endif
