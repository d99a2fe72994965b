/* Boot-timer MMIO register (as Firecracker's boot-time device): a guest
 * write marks "userspace ready". Our /init and the agent write it through
 * /dev/mem at BOOT_TIMER_MMIO_ADDR. */
#ifndef HOPX_DEVICES_BOOT_TIMER_H
#define HOPX_DEVICES_BOOT_TIMER_H

#include <stdint.h>

#include "bus.h"

struct boot_timer {
	void (*signal)(void *ctx, uint64_t value); /* each write, with the value written */
	void *ctx;
};

extern const struct bus_ops boot_timer_bus_ops;

#endif
