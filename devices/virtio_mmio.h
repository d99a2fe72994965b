/* virtio-mmio transport (virtio 1.x §4.2, version 2 "modern" registers) and
 * the interface between it and a device (blk, net, vsock).
 *
 * Threads: register accesses arrive on vCPU threads (KVM_EXIT_MMIO), except
 * QueueNotify, which KVM turns into a write on that queue's ioeventfd. Queue
 * work runs on the device's own thread (devloop). One mutex per device
 * serialises the two; device callbacks below are all called with it held,
 * on the device thread. Interrupts leave through an irqfd.
 *
 * The transport makes its eventfds; the VMM connects them to its hypervisor
 * through struct virtio_mmio_host (vmm/vm.c: KVM_IRQFD, KVM_IOEVENTFD).
 * Nothing here calls KVM, so tests drive a device with no VM at all. */
#ifndef HOPX_DEVICES_VIRTIO_MMIO_H
#define HOPX_DEVICES_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "devloop.h"
#include "virtqueue.h"

#define VIRTIO_MMIO_SLOT_SIZE 0x1000ULL
#define VIRTIO_MAX_QUEUES 3

struct virtio_mmio;

/* How the transport's eventfds reach the guest, supplied by the VMM. With
 * no host (NULL, as in unit tests) the eventfds stay unconnected: the
 * transport still writes irqfd on every interrupt and notify_fd[q] on a
 * QueueNotify register write, and whoever holds them can watch them. */
struct virtio_mmio_host {
	/* A write to FD raises guest interrupt GSI (ASSIGN), or no longer does.
	 * 0 or -errno. */
	int (*irqfd)(void *ctx, int fd, uint32_t gsi, bool assign);
	/* The guest's 4-byte write of DATA at guest-physical ADDR signals FD
	 * without a vCPU exit (ASSIGN), or no longer does. 0 or -errno. */
	int (*ioeventfd)(void *ctx, int fd, uint64_t addr, uint32_t data, bool assign);
	void *ctx;
};

/* What a device supplies: a const vtable, one per device type. */
struct virtio_dev_ops {
	const char *type;     /* "virtio-blk" */
	uint32_t device_id;   /* VIRTIO_ID_* */
	uint16_t num_queues;
	/* The driver set DRIVER_OK: queues are live. */
	void (*activate)(struct virtio_mmio *t);
	/* The driver reset the device: drop all state; in-flight operations
	 * must find out (virtio_mmio.generation) and not touch the rings. */
	void (*reset)(struct virtio_mmio *t);
	/* The driver notified queue Q. */
	void (*notify)(struct virtio_mmio *t, unsigned int q);
	/* Config-space write (most devices ignore them). */
	void (*config_write)(struct virtio_mmio *t, uint32_t off, const uint8_t *data, uint32_t len);
	/* Pausing: cancel what can be cancelled and will not finish by itself
	 * (a receive waiting for a packet), keeping the rings consistent. */
	void (*quiesce)(struct virtio_mmio *t);
	/* Whether nothing is in flight that would still write guest memory. */
	bool (*idle)(struct virtio_mmio *t);
};

struct virtio_mmio {
	const struct virtio_dev_ops *ops;
	void *dev;          /* the device's own state */
	char name[64];      /* "virtio-blk vda" (for logs) */
	uint64_t base;
	uint32_t irq;
	const struct virtio_mmio_host *host; /* NULL: eventfds not connected */
	const struct guest_mem *mem;

	uint64_t device_features; /* the device's own bits; the transport adds VERSION_1 etc. */
	const uint8_t *config;    /* device config space, read-only to the driver */
	uint32_t config_len;

	pthread_mutex_t lock;
	struct devloop loop;
	/* Registers. */
	uint32_t status, dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t driver_features;
	atomic_uint isr;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	/* Bumped on every reset; an operation started before a reset must not
	 * complete into the rings after it. */
	uint64_t generation;
	bool activated;       /* device's activate() ran for this generation */
	bool reset_pending;   /* device's reset() still to run on its thread */
	bool warned;          /* one log line per misbehaving driver */
	unsigned int signal_pending; /* queues with used entries not yet signalled */
	/* Quiesce (pause, snapshot): no new work while paused; quiesced once
	 * the device thread has seen nothing left in flight. */
	bool paused, quiesced, resume_pending;
	pthread_cond_t quiesce_cond;

	int irqfd;
	int ctl_fd; /* eventfd: vCPU -> device thread (activate/reset) */
	struct devloop_watch ctl_watch;
	int notify_fd[VIRTIO_MAX_QUEUES];
	struct virtio_notify {
		struct devloop_watch watch;
		struct virtio_mmio *t;
		unsigned int q;
	} notify[VIRTIO_MAX_QUEUES];
	bool ioeventfd_registered[VIRTIO_MAX_QUEUES];
	bool irqfd_registered;
};

extern const struct bus_ops virtio_mmio_bus_ops;

/* Set up the transport for device DEV at BASE/IRQ: its loop and eventfds,
 * connected through HOST (may be NULL; must outlive T). Returns 0 or -errno
 * (logged). */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev, const char *name,
		     const struct virtio_mmio_host *host, const struct guest_mem *mem, uint64_t base, uint32_t irq);
int virtio_mmio_start(struct virtio_mmio *t);
/* Stop the device thread and release everything (safe on a failed init). */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Device side, with t->lock held on the device thread: */
/* Queue Q has new used entries: the interrupt goes out (if the driver wants
 * it) once per batch of completions, after the batch. */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned int q);
/* The driver broke the protocol beyond one request: set DEVICE_NEEDS_RESET,
 * raise a config interrupt, stop the queues, and log WHY once. */
void virtio_mmio_fail(struct virtio_mmio *t, const char *why);
/* Whether a chain suits the queue it came from: NULL, or why not (a static
 * string for the log). */
typedef const char *(*virtio_chain_check)(const struct vq_chain *c);
/* Take queue Q's next chain the device can use into C. False when there is
 * none: the queue is empty (the driver's notifications are re-enabled first
 * and the ring checked again, so a chain made available meanwhile is taken,
 * not slept through) or the ring is corrupt (the device is failed, see
 * virtio_mmio_fail). A malformed chain, or one CHECK (may be NULL) refuses,
 * is logged once as "WHAT: why", returned to the driver with length 0 and
 * skipped. */
bool virtio_mmio_pop(struct virtio_mmio *t, unsigned int q, struct vq_chain *c, const char *what,
		     virtio_chain_check check);
/* Log a per-request problem once per device generation. */
void virtio_mmio_warn_once(struct virtio_mmio *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether the device may take new work (activated, not failed, not paused). */
bool virtio_mmio_live(const struct virtio_mmio *t);

/* From any thread but the device's: stop taking new work and wait until
 * nothing is in flight (0, or -ETIMEDOUT after TIMEOUT_MS); resume. */
int virtio_mmio_quiesce(struct virtio_mmio *t, unsigned int timeout_ms);
void virtio_mmio_resume(struct virtio_mmio *t);

/* Transport state for snapshots (fixed layout: stored as is). */
struct virtio_mmio_state {
	uint32_t device_id, status, dev_feat_sel, drv_feat_sel, queue_sel, isr, irq, pad;
	uint64_t base, driver_features;
	struct virtio_mmio_queue_state {
		uint64_t desc, avail, used;
		uint16_t size, last_avail, next_used, signalled_used;
		uint8_t ready, signalled_valid, pad[6];
	} q[VIRTIO_MAX_QUEUES];
};

/* Save: the device must be quiesced. */
void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *st);
/* Load into a freshly initialised transport whose device thread has not
 * started: checks the state against this device (type, slot, features,
 * rings inside guest RAM) and makes the queues live as they were.
 * -EINVAL (logged) if the state does not fit. */
int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *st);

/* The `virtio_mmio.device=` argument for the guest command line. */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t size);

#endif
