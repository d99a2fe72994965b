/* Running code and commands: /execute (python, javascript, bash, go; on a
 * warm worker when one is free, warm.c), /execute/background,
 * /execute/async (result to a signed callback, callback.c),
 * /execute/processes, /execute/kill/{id},
 * /commands/run, /commands/background, and /processes (the system's).
 *
 * Each run is its own process group (so a timeout or a kill takes every
 * child with it), gets the environment request > /env > agent, a working
 * directory, /dev/null as stdin, and is waited for without blocking the
 * server (its exit through a child watch, its output spliced into memory;
 * the HTTP reply is paused until all three are in). Failing or timed-out code is a 200 with success:false, never a 5xx
 * (hopx-api.md §4: the SDK re-runs anything that got a 5xx). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <sys/wait.h>

#include "agent.h"
#include "harness_python.h"

#define MAX_BACKGROUND 256
#define MAX_OUTPUT (8u << 20) /* bytes kept of each stream */

struct run {
	SoupServerMessage *msg;  /* NULL for background runs */
	GPid pid;
	int wait_status;
	int pending;             /* outstanding: the exit and the two output streams */
	GOutputStream *out, *err; /* GMemoryOutputStream collecting stdout/stderr */
	GCancellable *cancel;     /* stops collecting output a run's leftovers hold open */
	guint grace;
	guint timer;
	bool timed_out;
	gint64 started;
	char *rich_path;         /* python rich outputs, or NULL */
	char *tmpdir;            /* go sources, or NULL */
	char language[16];
	char *command;
	/* /execute/async: where the result goes */
	char *callback, *callback_secret;
	json_t *callback_headers;
	/* background bookkeeping */
	char id[32];
	char name[64];
	char started_at[32];
	char *stdout_s, *stderr_s;
	int exit_code;
	double duration;
	bool done, background, is_command;
};

static GPtrArray *background; /* struct run * */
static uint64_t run_seq;

static void iso_now(char *buf, size_t size)
{
	time_t now = time(NULL);

	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
}

static void child_setup(gpointer data)
{
	(void)data;
	setpgid(0, 0); /* its own process group: kill(-pid) reaches all of it */
}

static void run_free(struct run *r)
{
	if (r->rich_path) {
		unlink(r->rich_path);
		g_free(r->rich_path);
	}
	if (r->tmpdir) {
		char *main_go = g_build_filename(r->tmpdir, "main.go", NULL);

		unlink(main_go);
		rmdir(r->tmpdir);
		g_free(main_go);
		g_free(r->tmpdir);
	}
	if (r->cancel)
		g_object_unref(r->cancel);
	if (r->out)
		g_object_unref(r->out);
	if (r->err)
		g_object_unref(r->err);
	g_free(r->command);
	g_free(r->callback);
	g_free(r->callback_secret);
	json_decref(r->callback_headers);
	g_free(r->stdout_s);
	g_free(r->stderr_s);
	g_free(r);
}

static gboolean on_timeout(gpointer data)
{
	struct run *r = data;

	r->timer = 0;
	r->timed_out = true;
	if (r->pid > 0)
		kill(-r->pid, SIGKILL); /* the whole process group */
	if (r->pending < 3) /* the leader was already gone: stop waiting for its leftovers' output */
		g_cancellable_cancel(r->cancel);
	return G_SOURCE_REMOVE;
}

/* A JSON string of possibly-not-UTF-8 output: invalid bytes become U+FFFD. */
static json_t *text(const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);
	json_t *j = json_string(valid);

	g_free(valid);
	return j;
}

void add_rich(json_t *o, const char *path)
{
	json_error_t je;
	json_t *rich = path ? json_load_file(path, 0, &je) : NULL;
	const char *k;
	json_t *v;

	if (!json_is_object(rich)) {
		json_decref(rich);
		return;
	}
	json_object_foreach(rich, k, v) {
		if (strcmp(k, "result") == 0 && json_is_string(v) &&
		    strcmp(json_string_value(v), json_string_value(json_object_get(o, "stdout"))) == 0)
			continue;
		json_object_set(o, k, v);
	}
	json_decref(rich);
}

static char *stream_str(GOutputStream *o)
{
	GMemoryOutputStream *m = G_MEMORY_OUTPUT_STREAM(o);
	gsize n = g_memory_output_stream_get_data_size(m);

	if (n > MAX_OUTPUT)
		n = MAX_OUTPUT;
	return n ? g_strndup(g_memory_output_stream_get_data(m), n) : g_strdup("");
}

char *timed_out_note(char *err)
{
	char *s = g_strconcat(err, err[0] ? "\n" : "", "execution timed out", NULL);

	g_free(err);
	return s;
}

char *read_output(const char *path)
{
	GString *out = g_string_new(NULL);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	char chunk[65536];

	while (fd >= 0 && out->len < MAX_OUTPUT) {
		ssize_t n = read(fd, chunk, MIN(sizeof(chunk), MAX_OUTPUT - out->len));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		g_string_append_len(out, chunk, n);
	}
	if (fd >= 0)
		close(fd);
	return g_string_free(out, FALSE);
}

json_t *result_json(int exit_code, bool timed_out, const char *out, const char *err, double seconds)
{
	char ts[32];
	json_t *o;

	iso_now(ts, sizeof(ts));
	o = json_pack("{s:b,s:o,s:o,s:i,s:f,s:s}", "success", exit_code == 0 && !timed_out, "stdout", text(out), "stderr",
		      text(err), "exit_code", exit_code, "execution_time", seconds, "timestamp", ts);
	if (timed_out)
		json_object_set_new(o, "error", json_string("timeout"));
	return o;
}

static const char *run_status(const struct run *r)
{
	return !r->done ? "running" : r->timed_out ? "timeout" : r->exit_code ? "failed" : "completed";
}

/* An /execute/async run is done: its result to the caller's callback. */
static void callback_send(struct run *r)
{
	json_t *o = result_json(r->exit_code, r->timed_out, r->stdout_s, r->stderr_s, r->duration);

	json_object_set_new(o, "execution_id", json_string(r->id));
	json_object_set_new(o, "status", json_string(run_status(r)));
	json_object_set_new(o, "language", json_string(r->language));
	add_rich(o, r->rich_path);
	callback_post(r->callback, r->callback_headers, r->callback_secret, o);
}

/* The exit and both output streams are in: reply (or keep it for listing). */
static void finish(struct run *r)
{
	json_t *o;

	if (--r->pending > 0)
		return;
	if (r->timer)
		g_source_remove(r->timer);
	r->timer = 0;
	if (r->grace)
		g_source_remove(r->grace);
	r->grace = 0;
	r->duration = (double)(g_get_monotonic_time() - r->started) / 1e6;
	r->exit_code = WIFEXITED(r->wait_status) ? WEXITSTATUS(r->wait_status) : 128 + WTERMSIG(r->wait_status);
	if (r->timed_out)
		r->exit_code = 124;
	r->stdout_s = stream_str(r->out);
	r->stderr_s = stream_str(r->err);
	if (r->timed_out)
		r->stderr_s = timed_out_note(r->stderr_s);
	r->done = true;
	agent.active_executions--;
	agent.exec_seconds_total += r->duration;
	if (r->background) { /* stays listed until the table needs room */
		if (r->callback)
			callback_send(r);
		return;
	}
	o = result_json(r->exit_code, r->timed_out, r->stdout_s, r->stderr_s, r->duration);
	if (r->is_command) {
		json_object_set_new(o, "command", json_string(r->command));
		json_object_set_new(o, "pid", json_integer(r->pid));
	} else {
		json_object_set_new(o, "language", json_string(r->language));
		add_rich(o, r->rich_path);
	}
	reply_later(r->msg, 200, o);
	r->msg = NULL;
	run_free(r);
}

static gboolean stop_collecting(gpointer data)
{
	struct run *r = data;

	r->grace = 0;
	g_cancellable_cancel(r->cancel);
	return G_SOURCE_REMOVE;
}

static void exited(GPid pid, gint status, gpointer data)
{
	struct run *r = data;

	r->wait_status = status;
	g_spawn_close_pid(pid);
	/* Something the run started in the background (a server, `sleep &`)
	 * may keep the output pipes open: it keeps running, but the result
	 * does not wait for it beyond a moment. */
	if (r->pending > 1 && !r->timed_out)
		r->grace = g_timeout_add(200, stop_collecting, r);
	finish(r);
}

static void spliced(GObject *src, GAsyncResult *res, gpointer data)
{
	g_output_stream_splice_finish(G_OUTPUT_STREAM(src), res, NULL);
	finish(data);
}

static void collect(struct run *r, int fd, GOutputStream **dst)
{
	GInputStream *in = g_unix_input_stream_new(fd, TRUE);

	*dst = g_memory_output_stream_new_resizable();
	g_output_stream_splice_async(*dst, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
				     G_PRIORITY_DEFAULT, r->cancel, spliced, r);
	g_object_unref(in);
}

/* Build argv for LANGUAGE and CODE; NULL (and a reply) when unsupported. */
static char **language_argv(SoupServerMessage *msg, struct run *r, const char *language, const char *code)
{
	if (strcmp(language, "python") == 0 || strcmp(language, "python3") == 0) {
		r->rich_path = g_strdup_printf("/tmp/hopx-rich-%d-%llu.json", (int)getpid(), (unsigned long long)run_seq);
		return g_strdupv((char *[]){ "python3", "-c", (char *)harness_python, (char *)code, NULL });
	}
	if (strcmp(language, "javascript") == 0 || strcmp(language, "js") == 0 || strcmp(language, "node") == 0)
		return g_strdupv((char *[]){ "node", "-e", (char *)code, NULL });
	if (strcmp(language, "bash") == 0 || strcmp(language, "shell") == 0 || strcmp(language, "sh") == 0)
		return g_strdupv((char *[]){ "bash", "-c", (char *)code, NULL });
	if (strcmp(language, "go") == 0) {
		char *main_go;
		GError *e = NULL;

		r->tmpdir = g_dir_make_tmp("hopx-go-XXXXXX", &e);
		if (!r->tmpdir) {
			reply_error(msg, 500, "EXECUTION_FAILED", NULL, "temporary directory: %s", e->message);
			g_error_free(e);
			return NULL;
		}
		main_go = g_build_filename(r->tmpdir, "main.go", NULL);
		if (!g_file_set_contents(main_go, code, -1, NULL)) {
			reply_error(msg, 500, "EXECUTION_FAILED", NULL, "could not write the Go source");
			g_free(main_go);
			return NULL;
		}
		return g_strdupv((char *[]){ "go", "run", main_go, NULL });
	}
	reply_error(msg, 400, "UNSUPPORTED_LANGUAGE", NULL,
		    "language '%s': use python, javascript, bash or go", language);
	return NULL;
}

/* Start R with ARGV; exited/spliced finish it. */
static bool start(SoupServerMessage *msg, struct run *r, char **argv, json_t *body, long long timeout,
		  const char *workdir)
{
	char **env = env_for_child(json_object_get(body, "env"));
	char *cwd = workdir ? resolve_path(msg, workdir) : g_strdup(agent.root);
	struct stat st;
	GError *e = NULL;
	int out_fd, err_fd;
	gboolean ok;

	if (!cwd) {
		g_strfreev(env);
		return false;
	}
	if (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode))
		g_mkdir_with_parents(cwd, 0755); /* /workspace may not exist yet */
	if (r->rich_path)
		env = g_environ_setenv(env, "HOPX_RICH_OUT", r->rich_path, TRUE);
	ok = g_spawn_async_with_pipes(cwd, argv, env,
				      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH_FROM_ENVP |
					      G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_CLOEXEC_PIPES,
				      child_setup, NULL, &r->pid, NULL, &out_fd, &err_fd, &e);
	g_strfreev(env);
	g_free(cwd);
	if (!ok) {
		/* The interpreter is missing: the code did not run; say so as a result. */
		char ts[32];

		iso_now(ts, sizeof(ts));
		if (msg)
			reply_json(msg, 200, json_pack("{s:b,s:s,s:s,s:i,s:f,s:s}", "success", 0, "stdout", "", "stderr",
						       e->message, "exit_code", 127, "execution_time", 0.0, "timestamp", ts));
		g_error_free(e);
		return false;
	}
	r->started = g_get_monotonic_time();
	iso_now(r->started_at, sizeof(r->started_at));
	agent.executions++;
	agent.active_executions++;
	r->pending = 3;
	r->cancel = g_cancellable_new();
	if (timeout > 0)
		r->timer = g_timeout_add((guint)(timeout * 1000), on_timeout, r);
	collect(r, out_fd, &r->out);
	collect(r, err_fd, &r->err);
	g_child_watch_add(r->pid, exited, r);
	return true;
}

/* Room in the background table: drop the oldest finished run, or refuse. */
static bool background_room(SoupServerMessage *msg)
{
	if (!background)
		background = g_ptr_array_new();
	if (background->len < MAX_BACKGROUND)
		return true;
	for (guint i = 0; i < background->len; i++) {
		struct run *r = g_ptr_array_index(background, i);

		if (r->done) {
			g_ptr_array_remove_index(background, i);
			run_free(r);
			return true;
		}
	}
	reply_error(msg, 429, "TOO_MANY_PROCESSES", NULL, "%d background processes are running: kill some first",
		    MAX_BACKGROUND);
	return false;
}

static bool header_ok(const char *name, const char *value)
{
	if (!name[0] || strlen(name) > 256 || strlen(value) > 8192)
		return false;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p))
			return false;
	return strpbrk(value, "\r\n") == NULL;
}

/* /execute/async's callback_url, callback_headers, callback_signature_secret into R. */
static bool callback_fields(SoupServerMessage *msg, json_t *body, struct run *r)
{
	const char *url = NULL, *secret = NULL, *k;
	json_t *headers = json_object_get(body, "callback_headers"), *v;

	if (!body_str(msg, body, "callback_url", false, &url) ||
	    !body_str(msg, body, "callback_signature_secret", false, &secret))
		return false;
	if (url && !callback_url_ok(url)) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'callback_url' must be an absolute http(s) URL");
		return false;
	}
	if (headers && !json_is_null(headers)) {
		if (!json_is_object(headers)) {
			reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'callback_headers' must be an object of strings");
			return false;
		}
		json_object_foreach(headers, k, v) {
			if (!json_is_string(v) || !header_ok(k, json_string_value(v))) {
				reply_error(msg, 400, "INVALID_REQUEST", NULL,
					    "callback header '%.64s': a token name and a one-line string value", k);
				return false;
			}
		}
		r->callback_headers = json_incref(headers);
	}
	r->callback = g_strdup(url);
	r->callback_secret = g_strdup(secret && secret[0] ? secret : NULL);
	return true;
}

static void run_request(SoupServerMessage *msg, json_t *body, bool is_command, bool bg, bool async)
{
	const char *code = NULL, *language = "python", *workdir = "/workspace", *name = NULL, *command = NULL;
	long long timeout;
	char **argv = NULL;
	struct run *r;

	if (!body) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "the body must be a JSON object");
		return;
	}
	if (!body_int(msg, body, "timeout", async ? 1800 : bg ? (is_command ? 120 : 300) : (is_command ? 30 : 120), 0,
		      86400, &timeout) ||
	    !body_str(msg, body, "workdir", false, &workdir) || !body_str(msg, body, "name", false, &name))
		return;
	if (json_object_get(body, "env") && !json_is_object(json_object_get(body, "env"))) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'env' must be an object of strings");
		return;
	}
	if (bg && !background_room(msg))
		return;
	r = g_new0(struct run, 1);
	run_seq++;
	r->is_command = is_command;
	r->background = bg;
	if (async && !callback_fields(msg, body, r)) {
		run_free(r);
		return;
	}
	if (is_command) {
		json_t *args = json_object_get(body, "args");
		size_t i;
		json_t *a;

		if (!body_str(msg, body, "command", true, &command)) {
			run_free(r);
			return;
		}
		if (args && !json_is_array(args)) {
			reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'args' must be an array of strings");
			run_free(r);
			return;
		}
		argv = g_new0(char *, json_array_size(args) + 2);
		argv[0] = g_strdup(command);
		json_array_foreach(args, i, a) {
			if (!json_is_string(a)) {
				reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'args' must be an array of strings");
				g_strfreev(argv);
				run_free(r);
				return;
			}
			argv[i + 1] = g_strdup(json_string_value(a));
		}
		r->command = g_strjoinv(" ", argv);
	} else {
		if (!body_str(msg, body, "code", true, &code) || !body_str(msg, body, "language", false, &language)) {
			run_free(r);
			return;
		}
		if (!bg && warm_execute(msg, body, language, code, timeout, workdir)) {
			run_free(r);
			return;
		}
		snprintf(r->language, sizeof(r->language), "%s", language);
		argv = language_argv(msg, r, language, code);
		if (!argv) {
			run_free(r);
			return;
		}
	}
	snprintf(r->id, sizeof(r->id), "proc_%llu", (unsigned long long)run_seq);
	snprintf(r->name, sizeof(r->name), "%s", name ? name : r->id);
	if (!start(msg, r, argv, body, timeout, workdir)) {
		g_strfreev(argv);
		run_free(r);
		return;
	}
	g_strfreev(argv);
	if (!bg)
		r->msg = hold(msg);
	if (async) {
		g_ptr_array_add(background, r);
		reply_json(msg, 202, json_pack("{s:s,s:s,s:s?,s:i}", "execution_id", r->id, "status", "running",
					       "callback_url", r->callback, "pid", r->pid));
	} else if (bg) {
		g_ptr_array_add(background, r);
		reply_json(msg, 200, json_pack("{s:s,s:s,s:s,s:i}", "process_id", r->id, "execution_id", r->id,
					       "status", "running", "pid", r->pid));
	}
}

static json_t *process_json(const struct run *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "process_id", r->id, "execution_id", r->id, "name", r->name,
			      "status", run_status(r),
			      "started_at", r->started_at, "pid", r->pid);

	if (!r->is_command)
		json_object_set_new(o, "language", json_string(r->language));
	if (r->done) {
		json_object_set_new(o, "exit_code", json_integer(r->exit_code));
		json_object_set_new(o, "duration", json_real(r->duration));
		json_object_set_new(o, "execution_time", json_real(r->duration));
		json_object_set_new(o, "stdout", text(r->stdout_s));
		json_object_set_new(o, "stderr", text(r->stderr_s));
	}
	return o;
}

void route_execute(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest)
{
	const char *method = soup_server_message_get_method(msg);

	(void)query;
	if (strcmp(rest, "") == 0 && strcmp(method, "POST") == 0) {
		run_request(msg, body, false, false, false);
	} else if (strcmp(rest, "background") == 0 && strcmp(method, "POST") == 0) {
		run_request(msg, body, false, true, false);
	} else if (strcmp(rest, "async") == 0 && strcmp(method, "POST") == 0) {
		run_request(msg, body, false, true, true);
	} else if (strcmp(rest, "processes") == 0 && strcmp(method, "GET") == 0) {
		json_t *list = json_array();

		for (guint i = 0; background && i < background->len; i++)
			json_array_append_new(list, process_json(g_ptr_array_index(background, i)));
		reply_json(msg, 200, json_pack("{s:o}", "processes", list));
	} else if (strncmp(rest, "kill/", 5) == 0 && strcmp(method, "POST") == 0) {
		for (guint i = 0; background && i < background->len; i++) {
			struct run *r = g_ptr_array_index(background, i);

			if (strcmp(r->id, rest + 5) == 0) {
				if (!r->done)
					kill(-r->pid, SIGKILL);
				reply_json(msg, 200, json_pack("{s:b,s:s,s:s}", "success", 1, "process_id", r->id,
							       "status", r->done ? "already finished" : "killed"));
				return;
			}
		}
		reply_error(msg, 404, "PROCESS_NOT_FOUND", NULL, "no background process '%s'", rest + 5);
	} else {
		reply_error(msg, 404, "NOT_FOUND", NULL, "no such endpoint: %s /execute%s%s", method, *rest ? "/" : "",
			    rest);
	}
}

void route_commands(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest)
{
	const char *method = soup_server_message_get_method(msg);

	(void)query;
	if (strcmp(method, "POST") != 0)
		reply_error(msg, 405, "METHOD_NOT_ALLOWED", NULL, "use POST");
	else if (strcmp(rest, "run") == 0)
		run_request(msg, body, true, false, false);
	else if (strcmp(rest, "background") == 0)
		run_request(msg, body, true, true, false);
	else
		reply_error(msg, 404, "NOT_FOUND", NULL, "no such endpoint: /commands/%s", rest);
}

void route_processes(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	json_t *list = json_array();

	(void)query;
	(void)body;
	(void)rest;
	while (d && (e = readdir(d))) {
		char path[300], name[256] = "", state = '?';
		FILE *f;
		int pid;

		if (sscanf(e->d_name, "%d", &pid) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (f && fscanf(f, "%*d (%255[^)]) %c", name, &state) == 2)
			json_array_append_new(list, json_pack("{s:i,s:s,s:s%}", "pid", pid, "name", name, "status",
							      &state, (size_t)1));
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	reply_json(msg, 200, json_pack("{s:o}", "processes", list));
}
