/* The VM generation device: 32 random bytes the guest can read at
 * GENID_MMIO_ADDR, replaced on every snapshot restore, with an interrupt
 * (GENID_IRQ) telling the guest to mix them into its RNG and reseed. Our
 * guest kernel's driver is declared by hopx.genid=ADDR:IRQ on its command
 * line (guest-kernel-config/patches/0002-...). */
#ifndef HOPX_DEVICES_GENID_H
#define HOPX_DEVICES_GENID_H

#include <pthread.h>
#include <stdint.h>

#include "bus.h"

#define GENID_LEN 32

struct genid {
	pthread_mutex_t lock;
	uint8_t id[GENID_LEN];
};

/* Fill the ID with fresh host entropy. 0 or -errno. */
int genid_init(struct genid *g);
int genid_refresh(struct genid *g);
void genid_destroy(struct genid *g);

extern const struct bus_ops genid_bus_ops;

#endif
