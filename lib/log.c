/* Logging for hopx-vmm (see log.h). Thread-safe: each message is one write(2).
 * The level is process-wide; the last error is per thread. */
#include "log.h"

#include <stdio.h>
#include <unistd.h>

static enum log_level current_level = LOG_WARN;
/* The last error logged on each thread, for hopx_last_error(). */
static __thread char last_error[512];

const char *log_last_error(void)
{
	return last_error;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_ERROR] = "error: ",
		[LOG_WARN] = "warning: ",
		[LOG_INFO] = "",
		[LOG_DEBUG] = "debug: ",
	};
	char line[1024];
	va_list ap;
	int n;

	if (level == LOG_ERROR) {
		va_start(ap, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
	}
	if (level > current_level || level < LOG_ERROR)
		return;
	n = snprintf(line, sizeof(line), "hopx-vmm: %s", prefix[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so concurrent threads never interleave mid-line. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
