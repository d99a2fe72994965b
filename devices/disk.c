/* Raw image files for virtio-blk (see disk.h). */
#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"

int disk_open(struct disk *d, const char *path, bool read_only, bool direct)
{
	struct stat st;
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (d->fd < 0) {
		ret = -errno;
		pr_err("open drive %s: %s: pass --drive path=IMAGE (a raw disk image)%s", path, strerror(errno),
		       ret == -EACCES || ret == -EROFS ? ", or add ,ro" : "");
		return ret;
	}
	if (fstat(d->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		pr_err("drive %s: not a regular file or block device", path);
		ret = -EINVAL;
		goto err;
	}
	if (flock(d->fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		ret = -errno;
		pr_err("drive %s: %s: another process holds it%s", path, strerror(errno),
		       read_only ? " for writing" : " (share it read-only with ,ro in every user)");
		goto err;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(d->fd, 0, SEEK_END);

		d->size = end > 0 ? (uint64_t)end : 0;
	} else {
		d->size = (uint64_t)st.st_size;
	}
	if (d->size % 512)
		pr_warn("drive %s: size %llu is not a multiple of 512: the last %llu bytes are not visible", path,
			(unsigned long long)d->size, (unsigned long long)(d->size % 512));
	d->path = strdup(path);
	d->read_only = read_only;
	d->direct = direct;
	if (!d->path) {
		ret = -ENOMEM;
		goto err;
	}
	return 0;
err:
	close(d->fd);
	d->fd = -1;
	return ret;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	free(d->path);
	d->path = NULL;
}

static struct io_uring_sqe *sqe_for(struct devloop *l, struct devloop_op *op)
{
	struct io_uring_sqe *sqe = devloop_sqe(l);

	if (sqe)
		io_uring_sqe_set_data(sqe, op);
	return sqe;
}

/* An SQE for OP, an operation that changes the image: -EROFS on a read-only
 * drive (the file is never touched), -EBUSY when the ring is full. */
static int sqe_for_write(struct disk *d, struct devloop *l, struct devloop_op *op, struct io_uring_sqe **sqe)
{
	if (d->read_only)
		return -EROFS;
	*sqe = sqe_for(l, op);
	return *sqe ? 0 : -EBUSY;
}

int disk_readv(struct disk *d, struct devloop *l, struct devloop_op *op, const struct iovec *iov,
	       unsigned int n, uint64_t off)
{
	struct io_uring_sqe *sqe = sqe_for(l, op);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_readv(sqe, d->fd, iov, n, off);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

int disk_writev(struct disk *d, struct devloop *l, struct devloop_op *op, const struct iovec *iov,
		unsigned int n, uint64_t off)
{
	struct io_uring_sqe *sqe;
	int ret = sqe_for_write(d, l, op, &sqe);

	if (ret)
		return ret;
	io_uring_prep_writev(sqe, d->fd, iov, n, off);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

int disk_flush(struct disk *d, struct devloop *l, struct devloop_op *op)
{
	struct io_uring_sqe *sqe = sqe_for(l, op);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

static int falloc(struct disk *d, struct devloop *l, struct devloop_op *op, int mode, uint64_t off, uint64_t len)
{
	struct io_uring_sqe *sqe;
	int ret = sqe_for_write(d, l, op, &sqe);

	if (ret)
		return ret;
	io_uring_prep_fallocate(sqe, d->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

int disk_discard(struct disk *d, struct devloop *l, struct devloop_op *op, uint64_t off, uint64_t len)
{
	return falloc(d, l, op, FALLOC_FL_PUNCH_HOLE, off, len);
}

int disk_write_zeroes(struct disk *d, struct devloop *l, struct devloop_op *op, uint64_t off, uint64_t len,
		      bool unmap)
{
	return falloc(d, l, op, unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE, off, len);
}
