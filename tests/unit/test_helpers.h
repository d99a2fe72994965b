/* Shared by the cmocka unit tests: a small guest memory. */
#ifndef HOPX_TEST_HELPERS_H
#define HOPX_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../lib/log.h"
#include "../../lib/memory.h"

#define TEST_MEM_MIB 64

static inline int mem_setup(void **state)
{
	static struct guest_mem m;

	if (guest_mem_init(&m, (uint64_t)TEST_MEM_MIB << 20))
		return -1;
	*state = &m;
	return 0;
}

static inline int mem_teardown(void **state)
{
	guest_mem_free(*state);
	return 0;
}

/* True if every byte of [p, p+n) is zero. */
static inline int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

#endif
