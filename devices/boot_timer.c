/* Boot-timer register (see boot_timer.h). Reads return 0. */
#include "boot_timer.h"

#include <string.h>

static void boot_timer_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void boot_timer_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct boot_timer *bt = opaque;
	uint64_t v = 0;

	if (offset != 0)
		return;
	memcpy(&v, data, len > sizeof(v) ? sizeof(v) : len);
	bt->signal(bt->ctx, v);
}

const struct bus_ops boot_timer_bus_ops = {
	.name = "boot-timer",
	.read = boot_timer_read,
	.write = boot_timer_write,
};
