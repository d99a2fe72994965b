/* hopxd's one logging path: every line it logs is a JSON object on stderr,
 * {"ts","level","event","sandbox"?,"msg"}, without secrets. */
#ifndef HOPXD_EVENT_H
#define HOPXD_EVENT_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* One JSON log line at LEVEL: EVENT (a dotted name, e.g. "sandbox.created")
 * about sandbox ID (may be NULL), and a message. */
void log_event(enum log_level level, const char *event, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
