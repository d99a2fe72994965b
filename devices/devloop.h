/* The device loop: one thread and one io_uring per device. The thread waits
 * for completions (ioeventfd polls, backend reads and writes, timers) and
 * calls each one's handler; nothing else ever touches the ring, so handlers
 * may queue new operations with devloop_sqe() freely. A slow backend stalls
 * only the device that owns the loop. */
#ifndef HOPX_DEVICES_DEVLOOP_H
#define HOPX_DEVICES_DEVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include "../lib/util.h"

struct devloop_op;
typedef void (*devloop_fn)(struct devloop_op *op, int res, uint32_t cqe_flags);

/* One outstanding operation; its address is the SQE's user_data. Embed it in
 * the request it belongs to and use container_of in the handler. */
struct devloop_op {
	devloop_fn done;
};

struct devloop {
	struct io_uring ring;
	bool ring_ok;
	pthread_t thread;
	bool running;
	int stop_fd; /* eventfd: ask the thread to leave */
	struct devloop_op stop_op;
	bool stopping;
	const char *name;
	/* Called after each batch of completions (e.g. to send interrupts once). */
	void (*after_batch)(void *ctx);
	void *ctx;
};


int devloop_init(struct devloop *l, const char *name, unsigned int entries);
/* A free SQE (submitting queued ones first if the ring is full), or NULL. */
struct io_uring_sqe *devloop_sqe(struct devloop *l);
/* A file descriptor watched for POLLIN for as long as the loop runs. */
struct devloop_watch {
	struct devloop_op op; /* internal */
	struct devloop *loop;
	int fd;
	void (*ready)(struct devloop_watch *w);
};

/* Watch W->fd with a multishot POLLIN; W->ready runs on every wake-up (the
 * poll is re-armed when the kernel ends the multishot). */
int devloop_watch(struct devloop *l, struct devloop_watch *w, int fd, void (*ready)(struct devloop_watch *w));
/* Ask the kernel to cancel OP, in flight on L: OP->done then gets
 * -ECANCELED unless it completed first. 0, or -EBUSY (ring full). */
int devloop_cancel(struct devloop *l, struct devloop_op *op);
/* Read an eventfd's counter without blocking (0 if none). */
uint64_t devloop_eventfd_read(int fd);
int devloop_start(struct devloop *l);
/* Stop and join the thread; in-flight operations are cancelled and reaped. */
void devloop_stop(struct devloop *l);
void devloop_destroy(struct devloop *l);

#endif
