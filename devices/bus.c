/* Address-range lookup for the PIO and MMIO buses (see bus.h). A handful of
 * devices: a linear scan beats anything cleverer. */
#include "bus.h"

#include <errno.h>

#include "../lib/log.h"
#include "../lib/util.h"

int bus_add(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque)
{
	if (bus->count == BUS_MAX_DEVS) {
		pr_err("bus: no room for device %s", ops->name);
		return -ENOSPC;
	}
	for (unsigned int i = 0; i < bus->count; i++) {
		const struct bus_dev *d = &bus->devs[i];

		if (base < d->base + d->len && d->base < base + len) {
			pr_err("bus: %s at 0x%llx overlaps %s at 0x%llx", ops->name,
			       (unsigned long long)base, d->ops->name, (unsigned long long)d->base);
			return -EEXIST;
		}
	}
	bus->devs[bus->count++] = (struct bus_dev){ base, len, ops, opaque };
	return 0;
}

const struct bus_dev *bus_find(const struct bus *bus, uint64_t addr, uint32_t len, uint64_t *offset)
{
	for (unsigned int i = 0; i < bus->count; i++) {
		const struct bus_dev *d = &bus->devs[i];

		if (addr >= d->base && range_within(addr - d->base, len, d->len)) {
			*offset = addr - d->base;
			return d;
		}
	}
	return NULL;
}
