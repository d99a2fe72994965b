/* The snapshot scenario of the test guest: count to N, about ten a second,
 * and on each step write the count to the disk, read it back and check it;
 * print "COUNTER <i>" after each step. Pauses, snapshots and restores in
 * between must lose nothing: the host checks the printed sequence has no
 * gaps, and every step's disk check must pass. */
#include <linux/virtio_blk.h>

#include "guest.h"
#include "irq.h"
#include "lib.h"
#include "virtio.h"

#define COUNTER_SECTOR 64

static bool tick_passed(void *arg)
{
	return ticks() >= *(uint64_t *)arg;
}

void counter_run(struct gdev *blk, uint64_t n)
{
	uint64_t *buf = page_alloc(4096), *back = page_alloc(4096);
	uint64_t bad = 0;

	if (blk && !check(virtio_setup(blk, 0, 1), "counter-blk-setup", "status %x", virtio_status(blk)))
		return;
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t until = ticks() + 100 / TICK_MS;

		if (blk) {
			for (int k = 0; k < 64; k++)
				buf[k] = i * 1000 + (uint64_t)k;
			back[0] = back[63] = 0;
			if (blk_req(blk, VIRTIO_BLK_T_OUT, COUNTER_SECTOR + i % 8, buf, 512, 1, -1, NULL) != 0 ||
			    blk_req(blk, VIRTIO_BLK_T_IN, COUNTER_SECTOR + i % 8, back, 512, 1, -1, NULL) != 0 ||
			    back[0] != i * 1000 || back[63] != i * 1000 + 63)
				bad++;
		}
		gprintf("COUNTER %lu\n", i);
		irq_wait(tick_passed, &until, 5000);
	}
	check(bad == 0, "counter-disk-checks", "%lu of %lu steps read back something else", bad, n);
	gprintf("hopx-test-guest: counted to %lu\n", n);
}
