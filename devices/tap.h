/* virtio-net's backend: a Linux TAP device carrying virtio_net_hdr_v1
 * (IFF_VNET_HDR), so guest frames pass to and from the kernel untouched,
 * read and written through the device's io_uring. One read or write is one
 * whole frame, header first. */
#ifndef HOPX_DEVICES_TAP_H
#define HOPX_DEVICES_TAP_H

#include <net/if.h>
#include <stddef.h>
#include <sys/uio.h>

#include "devloop.h"

/* Size of the header in front of every frame on both sides (v1, 12 bytes). */
#define TAP_VNET_HDR_LEN 12

struct tap {
	int fd;
	char name[IFNAMSIZ];
};

/* Attach to TAP interface NAME (created, non-persistent, if it does not
 * exist). 0 or -errno (logged). The fd is blocking: io_uring arms its own
 * poll. */
int tap_open(struct tap *tap, const char *name);
/* Use FD, which already carries one frame per read and write, in place of
 * a TAP (tests: an AF_UNIX SOCK_DGRAM socket); tap_close closes it. */
void tap_adopt(struct tap *tap, int fd, const char *name);
void tap_close(struct tap *tap);

/* Queue one operation on L; OP->done gets the result (bytes or -errno).
 * 0, or -EBUSY (ring full). A receive waits for the next frame (cancel it
 * with devloop_cancel). */
int tap_readv(struct tap *tap, struct devloop *l, struct devloop_op *op, const struct iovec *iov, unsigned int n);
int tap_writev(struct tap *tap, struct devloop *l, struct devloop_op *op, const struct iovec *iov, unsigned int n);

#endif
