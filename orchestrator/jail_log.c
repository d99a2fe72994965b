/* hopx-jail's log line (jail_log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "jail_log.h"

void jail_log(const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hopx-jail: %s\n", text);
}
