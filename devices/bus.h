/* Port-I/O and MMIO buses: address ranges mapped to device handlers. vCPU
 * threads look devices up here on KVM_EXIT_IO / KVM_EXIT_MMIO. Devices are
 * `const struct bus_ops` vtables; wiring happens in one place (vmm/vm.c). */
#ifndef HOPX_DEVICES_BUS_H
#define HOPX_DEVICES_BUS_H

#include <stdint.h>

struct bus_ops {
	const char *name;
	/* OFFSET is relative to the device's base; LEN is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_dev {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
};

#define BUS_MAX_DEVS 16

struct bus {
	struct bus_dev devs[BUS_MAX_DEVS];
	unsigned int count;
};

/* 0, or -EEXIST (overlap) / -ENOSPC. Registration happens before vCPUs run. */
int bus_add(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque);

/* The device covering [addr, addr+len), or NULL. Sets *offset. */
const struct bus_dev *bus_find(const struct bus *bus, uint64_t addr, uint32_t len, uint64_t *offset);

#endif
