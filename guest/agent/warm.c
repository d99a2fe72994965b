/* Warm interpreters for /execute: one long-running worker per language
 * (python, javascript, bash), started with the agent (so a template's
 * snapshot has them already running) and fed one request at a time. A
 * request a worker cannot take (busy, absent, dead) runs one-shot instead.
 *
 * Protocol: the worker reads one request line on fd 3 and answers one line
 * {"exit_code":N} on fd 4; its fds 0-2 are /dev/null. The run's stdout and
 * stderr go to two files the agent names in the request and reads back, so
 * the output of the code's own children is caught too. A timeout kills the
 * worker's process group (the code's children with it) and a fresh worker
 * is started. The scripts: warm_python.h, warm_node.h, warm_bash.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib-unix.h>

#include "agent.h"
#include "warm_bash.h"
#include "warm_node.h"
#include "warm_python.h"

struct worker;
/* The request line for CODE (ends in '\n'); NULL if it cannot be made. */
typedef char *(*request_fn)(struct worker *w, const char *code, char **env, const char *cwd);

struct worker {
	const char *language;
	const char *const *argv;
	request_fn request;
	char **base_env;   /* the worker's own environment (bash unsets what a request drops) */
	GPid pid;          /* 0: not running */
	GPid killed;       /* the last worker we killed (its end is not news) */
	GPid orphan;       /* a worker whose answers ended, not yet reaped (see orphan_check) */
	GPid serving;      /* the worker the request went to */
	gint64 started_at; /* when it was last started (a crashing worker is not restarted in a loop) */
	int req_fd;
	GDataInputStream *resp;
	bool busy, timed_out;
	/* the request being served */
	SoupServerMessage *msg;
	gint64 started;
	guint timer;
	char *files[5];    /* out, err, rich, code, env: temporary files of the run */
};

enum { F_OUT, F_ERR, F_RICH, F_CODE, F_ENV, F_N };
static const char *const file_suffix[F_N] = { "out", "err", "rich.json", "code", "env" };

static uint64_t warm_seq;
static bool enabled; /* warm_start() was called (not with --no-warm) */

static json_t *env_object(char **env)
{
	json_t *o = json_object();

	for (char **e = env; *e; e++) {
		char *eq = strchr(*e, '=');

		if (eq) {
			char *k = g_strndup(*e, (gsize)(eq - *e));

			json_object_set_new(o, k, json_string(eq + 1));
			g_free(k);
		}
	}
	return o;
}

static char *json_line(json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	char *line = s ? g_strconcat(s, "\n", NULL) : NULL;

	free(s);
	json_decref(req);
	return line;
}

static char *python_request(struct worker *w, const char *code, char **env, const char *cwd)
{
	return json_line(json_pack("{s:s,s:s,s:o,s:s,s:s,s:s}", "code", code, "cwd", cwd, "env", env_object(env), "out",
				   w->files[F_OUT], "err", w->files[F_ERR], "rich", w->files[F_RICH]));
}

static char *node_request(struct worker *w, const char *code, char **env, const char *cwd)
{
	return json_line(json_pack("{s:s,s:s,s:o,s:s,s:s}", "code", code, "cwd", cwd, "env", env_object(env), "out",
				   w->files[F_OUT], "err", w->files[F_ERR]));
}

static bool shell_name(const char *s, size_t n)
{
	if (n == 0 || g_ascii_isdigit(s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '_')
			return false;
	return true;
}

/* bash: the code and an environment script in files, the line quoted. */
static char *bash_request(struct worker *w, const char *code, char **env, const char *cwd)
{
	GString *script = g_string_new(NULL);
	char *q[5], *line = NULL;
	bool ok;

	for (char **e = w->base_env; *e; e++) {
		size_t n = strcspn(*e, "=");
		char *name = g_strndup(*e, n);

		if (shell_name(name, n) && !g_environ_getenv(env, name))
			g_string_append_printf(script, "unset %s\n", name);
		g_free(name);
	}
	for (char **e = env; *e; e++) {
		size_t n = strcspn(*e, "=");
		char *value;

		if (!(*e)[n] || !shell_name(*e, n))
			continue; /* not a shell variable: bash -c would not see it either */
		value = g_shell_quote(*e + n + 1);
		g_string_append_printf(script, "export %.*s=%s\n", (int)n, *e, value);
		g_free(value);
	}
	ok = g_file_set_contents(w->files[F_ENV], script->str, (gssize)script->len, NULL) &&
	     g_file_set_contents(w->files[F_CODE], code, -1, NULL);
	g_string_free(script, TRUE);
	if (!ok)
		return NULL;
	q[0] = g_shell_quote(w->files[F_CODE]);
	q[1] = g_shell_quote(w->files[F_ENV]);
	q[2] = g_shell_quote(cwd);
	q[3] = g_shell_quote(w->files[F_OUT]);
	q[4] = g_shell_quote(w->files[F_ERR]);
	line = g_strdup_printf("__hopx_run %s %s %s %s %s\n", q[0], q[1], q[2], q[3], q[4]);
	for (int i = 0; i < 5; i++)
		g_free(q[i]);
	return line;
}

static const char *const python_argv[] = { "python3", "-c", warm_python, NULL };
static const char *const node_argv[] = { "node", "-e", warm_node, NULL };
static const char *const bash_argv[] = { "bash", "--norc", "--noprofile", "-c", warm_bash, NULL };

static struct worker workers[] = {
	{ .language = "python", .argv = python_argv, .request = python_request, .req_fd = -1 },
	{ .language = "javascript", .argv = node_argv, .request = node_request, .req_fd = -1 },
	{ .language = "bash", .argv = bash_argv, .request = bash_request, .req_fd = -1 },
};

static void worker_stop(struct worker *w)
{
	if (w->pid > 0) {
		kill(-w->pid, SIGKILL); /* and whatever the code left running in its group */
		w->killed = w->pid;
	}
	if (w->req_fd >= 0)
		close(w->req_fd);
	if (w->resp)
		g_object_unref(w->resp);
	w->pid = 0;
	w->req_fd = -1;
	w->resp = NULL;
}

static void worker_reaped(GPid pid, gint status, gpointer data)
{
	struct worker *w = data;

	g_spawn_close_pid(pid);
	if (pid == w->orphan)
		w->orphan = 0;
	if (pid != w->killed && !(w->pid == pid && w->timed_out)) /* not ended by us: say how, on the console */
		fprintf(stderr, "hopx-agent: the %s worker (pid %d) ended: %s %d\n", w->language, (int)pid,
			WIFSIGNALED(status) ? "killed by signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (w->pid == pid && !w->busy) /* died idle: started again on the next request for it */
		worker_stop(w);
	else if (w->pid == pid)
		w->pid = 0; /* worker_answered sees the end of its answers */
}

static void own_group(gpointer data)
{
	(void)data;
	setpgid(0, 0); /* kill(-pid) reaches the worker and what the code started */
}

static void worker_start(struct worker *w)
{
	int req[2], resp[2];
	const int targets[2] = { 3, 4 };
	GInputStream *in;
	GError *e = NULL;
	gboolean ok;

	if (w->pid > 0)
		return;
	w->started_at = g_get_monotonic_time();
	if (!g_unix_open_pipe(req, FD_CLOEXEC, NULL))
		return;
	if (!g_unix_open_pipe(resp, FD_CLOEXEC, NULL)) {
		close(req[0]);
		close(req[1]);
		return;
	}
	if (!w->base_env)
		w->base_env = g_get_environ();
	ok = g_spawn_async_with_pipes_and_fds("/", w->argv, (const char *const *)w->base_env,
					      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH_FROM_ENVP |
						      G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL |
						      G_SPAWN_STDERR_TO_DEV_NULL,
					      own_group, NULL, -1, -1, -1, (const int[]){ req[0], resp[1] }, targets, 2,
					      &w->pid, NULL, NULL, NULL, &e);
	close(req[0]);
	close(resp[1]);
	if (!ok) { /* no such interpreter here: its /execute runs one-shot (and says so if it is missing) */
		g_error_free(e);
		close(req[1]);
		close(resp[0]);
		w->pid = 0;
		return;
	}
	g_child_watch_add(w->pid, worker_reaped, w);
	w->req_fd = req[1];
	in = g_unix_input_stream_new(resp[0], TRUE);
	w->resp = g_data_input_stream_new(in);
	g_object_unref(in);
}

void warm_start(void)
{
	enabled = true;
	for (size_t i = 0; i < G_N_ELEMENTS(workers); i++)
		worker_start(&workers[i]);
}

static gboolean worker_timeout(gpointer data)
{
	struct worker *w = data;

	w->timer = 0;
	w->timed_out = true;
	kill(-w->pid, SIGKILL); /* the worker and everything the code started */
	return G_SOURCE_REMOVE;
}

static void files_drop(struct worker *w)
{
	for (int i = 0; i < F_N; i++) {
		if (w->files[i])
			unlink(w->files[i]);
		g_free(w->files[i]);
		w->files[i] = NULL;
	}
}

struct orphan {
	struct worker *w;
	GPid pid;
};

/* A worker's answers ended without our asking, ORPHAN_GRACE_S ago. A worker
 * that is dying closes its fds before it becomes reapable, so at the end of
 * its answers it may still look alive; by now worker_reaped has said how it
 * ended, unless it really is still running without its answer pipe: then
 * say so, and stop it. */
#define ORPHAN_GRACE_S 2

static gboolean orphan_check(gpointer data)
{
	struct orphan *o = data;
	struct worker *w = o->w;

	if (w->orphan == o->pid) {
		fprintf(stderr, "hopx-agent: the %s worker (pid %d) still ran %d s after its answers ended: stopped\n",
			w->language, (int)o->pid, ORPHAN_GRACE_S);
		w->killed = o->pid;
		w->orphan = 0;
		kill(-o->pid, SIGKILL);
	}
	g_free(o);
	return G_SOURCE_REMOVE;
}

static void worker_answered(GObject *src, GAsyncResult *res, gpointer data)
{
	struct worker *w = data;
	GError *e = NULL;
	char *line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(src), res, NULL, &e);
	json_t *ans = line ? json_loads(line, 0, NULL) : NULL;

	if (!line && !w->timed_out)
		fprintf(stderr, "hopx-agent: no answer from the %s worker (pid %d): %s\n", w->language, (int)w->serving,
			e ? e->message : "end of its answers");
	else if (line && !ans)
		fprintf(stderr, "hopx-agent: the %s worker answered %.200s\n", w->language, line);
	g_clear_error(&e);
	double secs = (double)(g_get_monotonic_time() - w->started) / 1e6;
	int code = json_is_integer(json_object_get(ans, "exit_code"))
			   ? (int)json_integer_value(json_object_get(ans, "exit_code"))
		   : w->timed_out ? 124
				  : 1;
	char *out = read_output(w->files[F_OUT]), *err = read_output(w->files[F_ERR]);
	json_t *o;

	if (w->timer)
		g_source_remove(w->timer);
	w->timer = 0;
	if (w->timed_out) {
		err = timed_out_note(err);
	} else if (!ans) {
		char *s = g_strdup_printf("%s%sthe %s worker died", err, err[0] ? "\n" : "", w->language);

		g_free(err);
		err = s;
	}
	o = result_json(code, w->timed_out, out, err, secs);
	json_object_set_new(o, "language", json_string(w->language));
	if (ans)
		add_rich(o, w->files[F_RICH]);
	reply_later(w->msg, 200, o);
	agent.active_executions--;
	agent.exec_seconds_total += secs;
	files_drop(w);
	g_free(out);
	g_free(err);
	json_decref(ans);
	w->busy = false;
	w->msg = NULL;
	if (!line) { /* the worker is gone (timeout, crash): a fresh one for the next run */
		if (!w->timed_out && w->pid > 0) { /* not ours to end: let its reaping say how it ended */
			struct orphan *orphan = g_new(struct orphan, 1);

			orphan->w = w;
			orphan->pid = w->orphan = w->pid;
			w->pid = 0;
			g_timeout_add_seconds(ORPHAN_GRACE_S, orphan_check, orphan);
		}
		worker_stop(w);
		worker_start(w);
	}
	g_free(line);
}

static struct worker *worker_for(const char *language)
{
	if (strcmp(language, "python3") == 0)
		language = "python";
	else if (strcmp(language, "js") == 0 || strcmp(language, "node") == 0)
		language = "javascript";
	else if (strcmp(language, "shell") == 0 || strcmp(language, "sh") == 0)
		language = "bash";
	for (size_t i = 0; i < G_N_ELEMENTS(workers); i++)
		if (strcmp(workers[i].language, language) == 0)
			return &workers[i];
	return NULL;
}

static bool write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

bool warm_execute(SoupServerMessage *msg, json_t *body, const char *language, const char *code, long long timeout,
		  const char *workdir)
{
	struct worker *w = worker_for(language);
	char **env, *cwd, *line;
	uint64_t seq;

	if (!enabled || !w || w->busy)
		return false;
	if (w->pid <= 0 || !w->resp) {
		/* Not running (its interpreter is missing, or it died): this run
		 * is one-shot; try a new worker for the next, unless one crashed
		 * moments ago. */
		if (g_get_monotonic_time() - w->started_at > 10 * G_USEC_PER_SEC) {
			worker_stop(w);
			worker_start(w);
		}
		return false;
	}
	cwd = resolve_path(msg, workdir ? workdir : "/workspace");
	if (!cwd)
		return true; /* replied */
	g_mkdir_with_parents(cwd, 0755);
	seq = ++warm_seq;
	for (int i = 0; i < F_N; i++)
		w->files[i] = g_strdup_printf("%s/hopx-warm-%d-%llu.%s", g_get_tmp_dir(), (int)getpid(),
					      (unsigned long long)seq, file_suffix[i]);
	env = env_for_child(json_object_get(body, "env"));
	line = w->request(w, code, env, cwd);
	g_strfreev(env);
	g_free(cwd);
	if (!line || !write_all(w->req_fd, line, strlen(line))) {
		g_free(line);
		files_drop(w);
		worker_stop(w);
		worker_start(w);
		return false;
	}
	g_free(line);
	w->busy = true;
	w->serving = w->pid;
	w->timed_out = false;
	w->msg = hold(msg);
	w->started = g_get_monotonic_time();
	agent.executions++;
	agent.active_executions++;
	if (timeout > 0)
		w->timer = g_timeout_add((guint)(timeout * 1000), worker_timeout, w);
	g_data_input_stream_read_line_async(w->resp, G_PRIORITY_DEFAULT, NULL, worker_answered, w);
	return true;
}
