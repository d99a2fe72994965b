/* hopxd's small helpers: random ids and tokens, token hashes, times. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <time.h>

#include <glib.h>

#include "event.h"
#include "util.h"

static void reaped(GPid pid, gint status, gpointer data)
{
	(void)status;
	(void)data;
	g_spawn_close_pid(pid); /* the sweep notices the sandbox is gone */
}

char *random_token(const char *prefix, size_t bytes)
{
	unsigned char buf[64];
	GString *s = g_string_new(prefix);

	if (bytes > sizeof(buf))
		bytes = sizeof(buf);
	if (getrandom(buf, bytes, 0) != (ssize_t)bytes) /* blocks only before the pool is ready */
		g_error("getrandom failed");
	for (size_t i = 0; i < bytes; i++)
		g_string_append_printf(s, "%02x", buf[i]);
	return g_string_free(s, FALSE);
}

char *token_hash(const char *token)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
}

long long now_s(void)
{
	return (long long)(g_get_real_time() / G_USEC_PER_SEC);
}

bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return diff == 0;
}

unsigned long long proc_start_time(int pid)
{
	char path[64], *text = NULL, *p;
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (pid <= 0 || !g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	p = strrchr(text, ')'); /* the command may hold spaces and parentheses */
	/* after ") ": the state, then starttime is the 20th field on */
	if (!p || p[2] == 'Z' ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) != 1)
		start = 0;
	g_free(text);
	return start;
}

void stop_process(int pid, unsigned long long start, int wait_ms)
{
	if (pid <= 0 || !start || proc_start_time(pid) != start)
		return; /* gone, or the pid is someone else's now */
	kill(pid, SIGTERM);
	for (int i = 0; i < wait_ms / 10 && proc_start_time(pid) == start; i++)
		g_usleep(10000);
	if (proc_start_time(pid) == start)
		kill(pid, SIGKILL);
}

static void detach(gpointer data)
{
	(void)data;
	setsid(); /* its own session: it outlives a hopxd restart */
}

int spawn_detached(char **argv, char **envp, const char *log_path, int *pid, unsigned long long *start)
{
	int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	GError *e = NULL;
	GPid p;

	if (!g_spawn_async_with_fds(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, detach, NULL, &p, -1, logfd, logfd, &e)) {
		log_event(LOG_ERROR, "process.spawn_failed", NULL, "start %s: %s", argv[0], e->message);
		g_error_free(e);
		if (logfd >= 0)
			close(logfd);
		return -ENOEXEC;
	}
	if (logfd >= 0)
		close(logfd);
	g_child_watch_add(p, reaped, NULL);
	*pid = p;
	*start = proc_start_time(p);
	return 0;
}
