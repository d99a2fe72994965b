/* hopxd's one logging path: every line it logs is a JSON object on stderr,
 * {"ts","level","event","sandbox"?,"msg"}, without secrets. */
#ifndef HOPXD_EVENT_H
#define HOPXD_EVENT_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* One JSON log line at LEVEL: EVENT (a dotted name, e.g. "sandbox.created")
 * about sandbox ID (may be NULL), and a message. */
void log_event(enum log_level level, const char *event, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Unix time T as ISO 8601 UTC ("2026-11-30T12:00:00Z"): the one timestamp
 * format hopxd writes, in its log and in its API. */
void iso_time(long long t, char *buf, size_t size);

#endif
