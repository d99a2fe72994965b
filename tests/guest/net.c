/* virtio-net scenario of the test guest: transmit a frame the host sees on
 * the TAP (ethertype 0x88b5, "hopx-net-tx"), then receive the frame the host
 * sends back to our MAC ("hopx-net-rx"). Other frames (the host's own
 * traffic) are skipped. */
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "guest.h"
#include "irq.h"
#include "lib.h"
#include "virtio.h"

#define VNET_HDR 12
#define RXBUF 2048
#define NRX 8
#define ETHERTYPE_HOPX 0x88b5

void net_tests(struct gdev *d)
{
	uint8_t *rx = page_alloc(NRX * RXBUF), *tx = page_alloc(RXBUF), mac[6];
	uint16_t id;
	uint32_t len;
	bool got = false;
	uint64_t end;
	int n;

	if (!check(virtio_setup(d, (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS), 2), "net-setup",
		   "status %x", virtio_status(d)))
		return;
	for (int i = 0; i < 6; i++)
		mac[i] = virtio_config8(d, (unsigned int)i);
	check((d->features & (1ULL << VIRTIO_NET_F_STATUS)) && (virtio_config8(d, 6) & VIRTIO_NET_S_LINK_UP),
	      "net-link-up", "status %x", virtio_config8(d, 6));
	gprintf("hopx-test-guest: net mac %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3], mac[4],
		mac[5]);
	for (int i = 0; i < NRX; i++)
		vq_add(&d->q[0], &(struct seg){ rx + i * RXBUF, RXBUF, true }, 1);
	vq_kick(d, 0);

	memset(tx, 0, VNET_HDR);
	memset(tx + VNET_HDR, 0xff, 6); /* broadcast */
	memcpy(tx + VNET_HDR + 6, mac, 6);
	tx[VNET_HDR + 12] = ETHERTYPE_HOPX >> 8;
	tx[VNET_HDR + 13] = ETHERTYPE_HOPX & 0xff;
	memcpy(tx + VNET_HDR + 14, "hopx-net-tx", 11);
	n = vq_add(&d->q[1], &(struct seg){ tx, VNET_HDR + 60, false }, 1);
	vq_kick(d, 1);
	check(n >= 0 && vq_wait(d, 1, 10000) && vq_used(d, 1, &id, &len), "net-tx", "frame not sent back");

	end = ticks() + 30000 / TICK_MS;
	while (!got && ticks() < end) {
		if (!vq_wait(d, 0, 1000))
			continue;
		while (vq_used(d, 0, &id, &len)) {
			uint8_t *f = (uint8_t *)d->q[0].desc[id].addr; /* still set after reclaim */

			if (len >= VNET_HDR + 14 + 11 && f[VNET_HDR + 12] == (ETHERTYPE_HOPX >> 8) &&
			    f[VNET_HDR + 13] == (ETHERTYPE_HOPX & 0xff) && memcmp(f + VNET_HDR, mac, 6) == 0 &&
			    memcmp(f + VNET_HDR + 14, "hopx-net-rx", 11) == 0)
				got = true;
			vq_add(&d->q[0], &(struct seg){ f, RXBUF, true }, 1); /* give it back */
		}
		vq_kick(d, 0);
	}
	check(got, "net-rx", "no frame from the host within 30 s");
}
