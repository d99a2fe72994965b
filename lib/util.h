/* Small helpers shared by every layer: cleanup attributes, array size,
 * alignment and overflow-checked range tests. */
#ifndef HOPX_UTIL_H
#define HOPX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void close_fd_ptr(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void free_ptr(void *p)
{
	free(*(void **)p);
}

/* Function-local temporaries that release themselves (crun style). */
#define cleanup_close __attribute__((cleanup(close_fd_ptr)))
#define cleanup_free __attribute__((cleanup(free_ptr)))

/* True when [off, off+len) lies inside [0, size), with no overflow. */
static inline bool range_within(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

#endif
