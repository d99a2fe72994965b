/* /health, /info, /metrics/snapshot (real figures from /proc and statvfs)
 * and /cache/... (the agent caches nothing yet: empty, but well-formed). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static double uptime_s(void)
{
	return (double)(g_get_monotonic_time() - (gint64)agent.started_us) / 1e6;
}

static json_t *features(void)
{
	return json_pack("{s:b,s:b,s:b,s:b,s:b,s:b,s:b}", "execute", 1, "commands", 1, "files", 1, "env", 1,
			 "terminal", 0, "desktop", 0, "rich_outputs", 1);
}

void route_health(SoupServerMessage *msg, GHashTable *q, json_t *b, const char *rest)
{
	(void)q;
	(void)b;
	(void)rest;
	reply_json(msg, 200, json_pack("{s:s,s:s,s:f,s:o}", "status", "ok", "version", AGENT_VERSION,
				       "uptime_seconds", uptime_s(), "features", features()));
}

void route_info(SoupServerMessage *msg, GHashTable *q, json_t *b, const char *rest)
{
	struct utsname u;

	(void)q;
	(void)b;
	(void)rest;
	uname(&u);
	reply_json(msg, 200, json_pack("{s:s,s:s,s:f,s:s,s:s,s:s,s:o,s:[sssssss]}", "version", AGENT_VERSION,
				       "agent_version", AGENT_VERSION, "uptime_seconds", uptime_s(), "os", u.sysname,
				       "kernel", u.release, "arch", u.machine, "features", features(), "endpoints",
				       "/execute", "/commands/run", "/files/...", "/env", "/health", "/info",
				       "/metrics/snapshot"));
}

/* CPU busy fraction since the previous call (since boot the first time). */
static double cpu_usage(void)
{
	static unsigned long long last_busy, last_total;
	unsigned long long v[8] = { 0 }, busy, total;
	FILE *f = fopen("/proc/stat", "r");
	double pct = 0;

	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &v[6], &v[7]) == 8) {
		total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		busy = total - v[3] - v[4];
		if (total > last_total)
			pct = 100.0 * (double)(busy - last_busy) / (double)(total - last_total);
		last_busy = busy;
		last_total = total;
	}
	fclose(f);
	return pct;
}

static unsigned long long meminfo(const char *key)
{
	char line[256];
	unsigned long long v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			sscanf(line + n + 1, "%llu", &v);
	if (f)
		fclose(f);
	return v * 1024;
}

static void process_counts(long *count, long *running)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	*count = *running = 0;
	while (d && (e = readdir(d))) {
		char path[300], state = 0;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		(*count)++;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%*d (%*[^)]) %c", &state) == 1 && state == 'R')
			(*running)++;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

void route_metrics(SoupServerMessage *msg, GHashTable *q, json_t *b, const char *rest)
{
	struct statvfs fs;
	unsigned long long total = meminfo("MemTotal"), avail = meminfo("MemAvailable");
	unsigned long long dtotal = 0, dfree = 0;
	long procs, running;

	(void)q;
	(void)b;
	(void)rest;
	if (statvfs(agent.root, &fs) == 0) {
		dtotal = (unsigned long long)fs.f_blocks * fs.f_frsize;
		dfree = (unsigned long long)fs.f_bavail * fs.f_frsize;
	}
	process_counts(&procs, &running);
	reply_json(msg, 200,
		   json_pack("{s:f,s:I,s:I,s:I,s:I,s:f,s:{s:{s:f,s:i},s:{s:I,s:I,s:I,s:f},s:{s:I,s:I,s:I,s:f}},"
			     "s:{s:i,s:i},s:{s:i,s:i,s:i,s:f}}",
			     "uptime_seconds", uptime_s(), "total_executions", (json_int_t)agent.executions,
			     "active_executions", (json_int_t)agent.active_executions, "requests_total",
			     (json_int_t)agent.requests, "error_count", (json_int_t)agent.errors, "avg_duration_ms",
			     agent.executions ? 1e3 * agent.exec_seconds_total / (double)agent.executions : 0.0,
			     "system", "cpu", "usage_percent", cpu_usage(), "cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
			     "memory", "total", (json_int_t)total, "used", (json_int_t)(total - avail), "free",
			     (json_int_t)avail, "usage_percent", total ? 100.0 * (double)(total - avail) / (double)total : 0.0,
			     "disk", "total", (json_int_t)dtotal, "used", (json_int_t)(dtotal - dfree), "free",
			     (json_int_t)dfree, "usage_percent", dtotal ? 100.0 * (double)(dtotal - dfree) / (double)dtotal : 0.0,
			     "process", "count", (int)procs, "running", (int)running, "cache", "size", 0, "hits", 0,
			     "misses", 0, "hit_rate", 0.0));
}

void route_cache(SoupServerMessage *msg, GHashTable *q, json_t *b, const char *rest)
{
	char ts[32];
	time_t now = time(NULL);

	(void)q;
	(void)b;
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (strcmp(rest, "stats") == 0)
		reply_json(msg, 200, json_pack("{s:{s:i,s:i,s:i,s:i},s:s}", "cache", "size", 0, "max_size", 0,
					       "total_hits", 0, "ttl", 0, "timestamp", ts));
	else if (strcmp(rest, "clear") == 0)
		reply_json(msg, 200, json_pack("{s:s,s:i}", "message", "cache cleared", "entries_removed", 0));
	else
		reply_error(msg, 404, "NOT_FOUND", NULL, "no such endpoint: /cache/%s", rest);
}
