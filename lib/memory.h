/* Guest RAM: one anonymous host mapping, presented to the guest as up to two
 * regions (below the MMIO gap, and from 4 GiB on). Every guest-physical access
 * in the VMM goes through guest_mem_ptr(), which checks bounds. */
#ifndef HOPX_MEMORY_H
#define HOPX_MEMORY_H

#include <stdint.h>

struct guest_mem {
	uint8_t *host;     /* whole of RAM, low region first */
	uint64_t size;     /* bytes of RAM */
	uint64_t low_size; /* bytes at guest-physical 0 (the rest at 4 GiB) */
};

/* Map SIZE bytes of zeroed RAM. Returns 0 or -errno. */
int guest_mem_init(struct guest_mem *m, uint64_t size);
void guest_mem_free(struct guest_mem *m);
/* Map SIZE bytes of a snapshot's memory file, MAP_PRIVATE. 0 or -errno. */
int guest_mem_map_file(struct guest_mem *m, int fd, uint64_t size);
/* Write all of RAM to FD as a sparse file (zero pages left as holes);
 * *WRITTEN gets the bytes actually written. 0 or -errno. */
int guest_mem_save(const struct guest_mem *m, int fd, uint64_t *written);

/* Host pointer to [gpa, gpa+len) if the whole range is RAM in one region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Guest-physical end of RAM (highest RAM address + 1). */
uint64_t guest_mem_end(const struct guest_mem *m);

#endif
