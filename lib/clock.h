/* Time for every layer: CLOCK_MONOTONIC in nanoseconds. Any thread. */
#ifndef HOPX_CLOCK_H
#define HOPX_CLOCK_H

#include <stdint.h>

uint64_t now_ns(void);

#endif
