/* virtio-net's backend: a Linux TAP device carrying virtio_net_hdr_v1
 * (IFF_VNET_HDR), so guest frames pass to and from the kernel untouched. */
#ifndef HOPX_DEVICES_TAP_H
#define HOPX_DEVICES_TAP_H

#include <stddef.h>

/* Size of the header in front of every frame on both sides (v1, 12 bytes). */
#define TAP_VNET_HDR_LEN 12

/* Attach to TAP interface NAME (created, non-persistent, if it does not
 * exist). Returns the fd (blocking: io_uring arms its own poll) or -errno. */
int tap_open(const char *name);

#endif
