/* The per-device io_uring thread (see devloop.h). The ring is private to its
 * thread once started; devloop_init/poll before start run on the creator. */
#include "devloop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../lib/log.h"

int devloop_init(struct devloop *l, const char *name, unsigned int entries)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->name = name;
	l->stop_fd = -1;
	ret = io_uring_queue_init(entries, &l->ring, 0);
	if (ret < 0) {
		pr_err("%s: io_uring_queue_init: %s: the kernel needs io_uring (and it must not be "
		       "disabled by kernel.io_uring_disabled)", name, strerror(-ret));
		return ret;
	}
	l->ring_ok = true;
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0) {
		ret = -errno;
		pr_err("%s: eventfd: %s", name, strerror(errno));
		return ret;
	}
	return 0;
}

struct io_uring_sqe *devloop_sqe(struct devloop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
		if (!sqe)
			pr_warn("%s: io_uring submission queue full", l->name);
	}
	return sqe;
}

static int watch_arm(struct devloop_watch *w)
{
	struct io_uring_sqe *sqe = devloop_sqe(w->loop);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_multishot(sqe, w->fd, POLLIN);
	io_uring_sqe_set_data(sqe, &w->op);
	return 0;
}

static void watch_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct devloop_watch *w = container_of(op, struct devloop_watch, op);

	if (res == -ECANCELED)
		return;
	if (res < 0) {
		pr_err("%s: poll on fd %d: %s: no longer watched", w->loop->name, w->fd, strerror(-res));
		return;
	}
	w->ready(w);
	if (!(flags & IORING_CQE_F_MORE) && !w->loop->stopping && watch_arm(w))
		pr_err("%s: could not re-arm the poll on fd %d: device stalls", w->loop->name, w->fd);
}

int devloop_watch(struct devloop *l, struct devloop_watch *w, int fd, void (*ready)(struct devloop_watch *w))
{
	w->op.done = watch_done;
	w->loop = l;
	w->fd = fd;
	w->ready = ready;
	return watch_arm(w);
}

int devloop_cancel(struct devloop *l, struct devloop_op *op)
{
	struct io_uring_sqe *sqe = devloop_sqe(l);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel(sqe, op, 0);
	io_uring_sqe_set_data(sqe, NULL); /* the cancel's own completion: nothing to do */
	return 0;
}

uint64_t devloop_eventfd_read(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

static void stop_done(struct devloop_op *op, int res, uint32_t flags)
{
	struct devloop *l = container_of(op, struct devloop, stop_op);

	(void)res;
	(void)flags;
	l->stopping = true;
}

static void *devloop_thread(void *arg)
{
	struct devloop *l = arg;
	sigset_t all;

	/* Signals belong to the vCPU and main threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!l->stopping) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int ret = io_uring_submit_and_wait(&l->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			pr_err("%s: io_uring_submit_and_wait: %s: device stopped", l->name, strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(&l->ring, head, cqe) {
			struct devloop_op *op = io_uring_cqe_get_data(cqe);

			n++;
			if (op && op->done)
				op->done(op, cqe->res, cqe->flags);
		}
		io_uring_cq_advance(&l->ring, n);
		if (l->after_batch)
			l->after_batch(l->ctx);
	}
	return NULL;
}

int devloop_start(struct devloop *l)
{
	struct io_uring_sqe *sqe;
	int ret;

	l->stop_op.done = stop_done;
	sqe = devloop_sqe(l);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, l->stop_fd, POLLIN);
	io_uring_sqe_set_data(sqe, &l->stop_op);
	ret = pthread_create(&l->thread, NULL, devloop_thread, l);
	if (ret) {
		pr_err("%s: device thread: %s", l->name, strerror(ret));
		return -ret;
	}
	l->running = true;
	return 0;
}

void devloop_stop(struct devloop *l)
{
	uint64_t one = 1;

	if (!l->running)
		return;
	if (write(l->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn("%s: could not signal the device thread to stop: %s", l->name, strerror(errno));
	pthread_join(l->thread, NULL);
	l->running = false;
}

void devloop_destroy(struct devloop *l)
{
	devloop_stop(l);
	if (l->ring_ok)
		io_uring_queue_exit(&l->ring); /* cancels and reaps what is still in flight */
	l->ring_ok = false;
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	l->stop_fd = -1;
}
