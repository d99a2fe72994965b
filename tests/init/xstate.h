/* The extended-state check (xstate.c): PROCS processes on one CPU, ROUNDS
 * rounds each; FORCE runs AVX even where the kernel has not enabled it (to
 * show what goes wrong there). Returns the number of failures. */
#ifndef HOPX_TEST_XSTATE_H
#define HOPX_TEST_XSTATE_H

#include <stdbool.h>

int xstate_check(int procs, int rounds, bool force);

#endif
