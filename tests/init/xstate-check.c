/* xstate-check [ROUNDS [PROCS]] [--force]: the extended-state check
 * (xstate.c) as a program of its own, for sandboxes and bare hosts. Exit 0
 * when every process got its registers back unchanged in every round. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xstate.h"

int main(int argc, char **argv)
{
	int rounds = 200, procs = 3, n = 0;
	bool force = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (n++ == 0)
			rounds = atoi(argv[i]);
		else
			procs = atoi(argv[i]);
	}
	if (rounds <= 0 || procs <= 0)
		return 2;
	return xstate_check(procs, rounds, force) ? 1 : 0;
}
