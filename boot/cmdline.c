/* Kernel command line additions (see cmdline.h). */
#include "cmdline.h"

#include <errno.h>
#include <string.h>

int cmdline_add(char *cmdline, size_t size, const char *arg)
{
	size_t len = strlen(cmdline), alen = strlen(arg), at;
	char *init_args = strstr(cmdline, " -- ");

	if (len + alen + 1 >= size)
		return -E2BIG;
	if (len == 0) {
		memcpy(cmdline, arg, alen + 1);
		return 0;
	}
	if (strncmp(cmdline, "-- ", 3) == 0 || strcmp(cmdline, "--") == 0) {
		/* All of it is for init: "ARG " goes first. */
		memmove(cmdline + alen + 1, cmdline, len + 1);
		memcpy(cmdline, arg, alen);
		cmdline[alen] = ' ';
		return 0;
	}
	/* " ARG" at the end, or just before " -- ". */
	at = init_args ? (size_t)(init_args - cmdline) : len;
	memmove(cmdline + at + 1 + alen, cmdline + at, len - at + 1);
	cmdline[at] = ' ';
	memcpy(cmdline + at + 1, arg, alen);
	return 0;
}
