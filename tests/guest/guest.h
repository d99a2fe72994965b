/* The test guest's scenarios, one file each (blk.c, hostile.c, net.c,
 * vsock.c), called from main.c as the command line asks. */
#ifndef HOPX_GUEST_GUEST_H
#define HOPX_GUEST_GUEST_H

#include <stdint.h>

#include "virtio.h"

uint64_t blk_pattern(uint64_t word);
int blk_req(struct gdev *d, uint32_t type, uint64_t sector, void *buf, uint32_t len, unsigned int nseg,
	    int data_writable, uint32_t *used_len);
void blk_tests(struct gdev *d, struct gdev *ro);
void blk_bench(struct gdev *d, uint64_t total_mib, uint64_t rand_ops);
void hostile_tests(struct gdev *d);
void net_tests(struct gdev *d);
void vsock_tests(struct gdev *d);
/* Ring-0 XSAVE family and VERW, good and hostile operands (cpu.c). */
void cpu_tests(void);
void vsock_bench(struct gdev *d, uint32_t mib);
void counter_run(struct gdev *blk, uint64_t n);

#endif
