/* hopxd's log: one JSON object per line on stderr (see event.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <glib.h>
#include <jansson.h>

#include "event.h"

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void iso_time(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
}

void log_event(enum log_level level, const char *event, const char *id, const char *fmt, ...)
{
	char ts[32], text[2048], *valid;
	time_t now = time(NULL);
	va_list ap;
	json_t *o;
	char *line;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	iso_time((long long)now, ts, sizeof(ts));
	/* JSON strings are UTF-8: a child's log tail or an error text may not be */
	valid = g_utf8_make_valid(text, -1);
	o = json_pack("{s:s,s:s,s:s,s:s?,s:s}", "ts", ts, "level", level_names[level], "event", event, "sandbox", id,
		      "msg", valid);
	line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (line)
		fprintf(stderr, "%s\n", line);
	free(line);
	json_decref(o);
	g_free(valid);
}
