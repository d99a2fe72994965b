/* Logging for hopx-vmm: one line per message on stderr, prefixed "hopx-vmm: ".
 * Functions below main() log at the failure site and return -errno; the log
 * line says what failed and, where we know it, what to do about it. */
#ifndef HOPX_LOG_H
#define HOPX_LOG_H

#include <stdarg.h>

enum log_level { LOG_SILENT = -1, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped (default LOG_WARN; --verbose raises it). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* The last LOG_ERROR message logged on the calling thread ("" if none). */
const char *log_last_error(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
