/* virtio-blk's backend: a raw image file, read and written through the
 * device's io_uring. The file is locked (shared for read-only drives,
 * exclusive otherwise) so two VMMs never write one image at once. */
#ifndef HOPX_DEVICES_DISK_H
#define HOPX_DEVICES_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devloop.h"

struct disk {
	int fd;
	char *path;
	uint64_t size;  /* bytes */
	bool read_only;
	bool direct;    /* O_DIRECT: guest buffers must be 512-byte aligned */
};

int disk_open(struct disk *d, const char *path, bool read_only, bool direct);
void disk_close(struct disk *d);

/* Queue one operation on L; OP->done gets the result (bytes or -errno). */
int disk_readv(struct disk *d, struct devloop *l, struct devloop_op *op, const struct iovec *iov,
	       unsigned int n, uint64_t off);
int disk_writev(struct disk *d, struct devloop *l, struct devloop_op *op, const struct iovec *iov,
		unsigned int n, uint64_t off);
int disk_flush(struct disk *d, struct devloop *l, struct devloop_op *op);
/* Deallocate (discard) or zero LEN bytes at OFF; the size never changes. */
int disk_discard(struct disk *d, struct devloop *l, struct devloop_op *op, uint64_t off, uint64_t len);
int disk_write_zeroes(struct disk *d, struct devloop *l, struct devloop_op *op, uint64_t off, uint64_t len,
		      bool unmap);

#endif
