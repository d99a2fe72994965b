/* The Agent API's WebSockets: /execute/stream, /terminal and /files/watch
 * (hopx-api.md §3.5). Frames are JSON text. The official SDK drops frames
 * that arrive together and never notices a close, so every frame is its own
 * send, at least 10 ms after the previous one (output coalesced meanwhile),
 * and the final frame ("complete", "exit") is sent again every 150 ms until
 * the client closes. */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define PACE_MS 10
#define FINAL_REPEAT_MS 150
#define MAX_FRAME_DATA (64 * 1024)

enum ws_kind { WS_STREAM, WS_TERMINAL, WS_WATCH };

struct ws {
	enum ws_kind kind;
	SoupWebsocketConnection *conn;
	GQueue frames;             /* char * JSON, sent one per tick */
	GString *out, *err;        /* output not yet framed */
	char *final;               /* re-sent until the client closes */
	gint64 last_send;
	guint pump;
	bool closed;
	/* a run (stream) or a shell (terminal) */
	GPid pid;
	int fds[2];                /* stdout/stderr pipes, or the PTY master in fds[0] */
	guint watches[2];
	int open_fds;
	bool exited;
	int status;
	gint64 started;
	guint timer;
	bool timed_out;
	/* file watch */
	int inotify_fd;
	guint inotify_watch;
	GHashTable *wd_paths;      /* wd -> path */
};

static void iso(char *buf, size_t n)
{
	time_t t = time(NULL);

	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
}

static void queue(struct ws *w, json_t *frame)
{
	g_queue_push_tail(&w->frames, json_dumps(frame, JSON_COMPACT));
	json_decref(frame);
}

/* Frame pending output of one kind ("stdout", "stderr", "output"). */
static void flush_text(struct ws *w, GString *s, const char *type)
{
	char ts[32], *valid;

	if (!s || !s->len)
		return;
	iso(ts, sizeof(ts));
	valid = g_utf8_make_valid(s->str, (gssize)s->len);
	queue(w, w->kind == WS_TERMINAL ? json_pack("{s:s,s:s}", "type", type, "data", valid)
					: json_pack("{s:s,s:s,s:s}", "type", type, "data", valid, "timestamp", ts));
	g_free(valid);
	g_string_truncate(s, 0);
}

static gboolean pump(gpointer data)
{
	struct ws *w = data;
	gint64 now = g_get_monotonic_time();
	char *f;

	if (w->closed)
		return G_SOURCE_CONTINUE;
	if (g_queue_is_empty(&w->frames)) {
		flush_text(w, w->out, w->kind == WS_TERMINAL ? "output" : "stdout");
		flush_text(w, w->err, "stderr");
	}
	f = g_queue_pop_head(&w->frames);
	if (f) {
		soup_websocket_connection_send_text(w->conn, f);
		g_free(f);
		w->last_send = now;
	} else if (w->final && now - w->last_send >= FINAL_REPEAT_MS * 1000) {
		soup_websocket_connection_send_text(w->conn, w->final);
		w->last_send = now;
	}
	return G_SOURCE_CONTINUE;
}

static void ws_free(struct ws *w)
{
	char *f;

	if (w->pump)
		g_source_remove(w->pump);
	if (w->timer)
		g_source_remove(w->timer);
	for (int i = 0; i < 2; i++) {
		if (w->watches[i])
			g_source_remove(w->watches[i]);
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	}
	if (w->inotify_watch)
		g_source_remove(w->inotify_watch);
	if (w->inotify_fd >= 0)
		close(w->inotify_fd);
	if (w->wd_paths)
		g_hash_table_destroy(w->wd_paths);
	while ((f = g_queue_pop_head(&w->frames)))
		g_free(f);
	if (w->out)
		g_string_free(w->out, TRUE);
	if (w->err)
		g_string_free(w->err, TRUE);
	g_free(w->final);
	g_signal_handlers_disconnect_by_data(w->conn, w);
	g_object_unref(w->conn);
	g_free(w);
}

/* The run or shell is over once it exited and its output drained. */
static void maybe_done(struct ws *w)
{
	char ts[32];
	int code;

	if (!w->exited || w->open_fds > 0 || w->final)
		return;
	code = WIFEXITED(w->status) ? WEXITSTATUS(w->status) : 128 + WTERMSIG(w->status);
	if (w->timed_out)
		code = 124;
	flush_text(w, w->out, w->kind == WS_TERMINAL ? "output" : "stdout");
	flush_text(w, w->err, "stderr");
	iso(ts, sizeof(ts));
	if (w->kind == WS_TERMINAL) {
		json_t *f = json_pack("{s:s,s:i}", "type", "exit", "code", code);

		w->final = json_dumps(f, JSON_COMPACT);
		json_decref(f);
	} else {
		json_t *f;

		if (w->timed_out)
			queue(w, json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "error", "execution timed out", "code",
					   "TIMEOUT", "timestamp", ts));
		queue(w, json_pack("{s:s,s:i,s:f,s:s}", "type", "result", "exit_code", code, "execution_time",
				   (double)(g_get_monotonic_time() - w->started) / 1e6, "timestamp", ts));
		f = json_pack("{s:s,s:b}", "type", "complete", "success", code == 0);
		w->final = json_dumps(f, JSON_COMPACT);
		queue(w, f); /* the first one in order, then repeats */
		w->last_send = g_get_monotonic_time();
	}
	agent.active_executions--;
}

static gboolean readable(GIOChannel *ch, GIOCondition cond, gpointer data)
{
	struct ws *w = data;
	int fd = g_io_channel_unix_get_fd(ch), i = fd == w->fds[0] ? 0 : 1;
	char buf[16384];
	ssize_t n = (cond & (G_IO_IN | G_IO_HUP)) ? read(fd, buf, sizeof(buf)) : -1;

	if (n > 0) {
		GString *s = i == 0 ? w->out : w->err;

		if (s->len < MAX_FRAME_DATA * 16) /* a client not reading: drop, do not grow without end */
			g_string_append_len(s, buf, n);
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && errno == EAGAIN)
		return G_SOURCE_CONTINUE;
	/* EOF (or EIO on a PTY whose shell exited) */
	w->watches[i] = 0;
	close(w->fds[i]);
	w->fds[i] = -1;
	w->open_fds--;
	maybe_done(w);
	return G_SOURCE_REMOVE;
}

static void child_exited(GPid pid, gint status, gpointer data)
{
	struct ws *w = data;

	g_spawn_close_pid(pid);
	w->exited = true;
	w->status = status;
	kill(-pid, SIGKILL); /* leftovers of a stream run, or the terminal's job group */
	maybe_done(w);
}

static void watch_fd(struct ws *w, int i)
{
	GIOChannel *ch = g_io_channel_unix_new(w->fds[i]);

	fcntl(w->fds[i], F_SETFL, fcntl(w->fds[i], F_GETFL) | O_NONBLOCK);
	w->watches[i] = g_io_add_watch(ch, G_IO_IN | G_IO_HUP | G_IO_ERR, readable, w);
	g_io_channel_unref(ch);
	w->open_fds++;
}

static gboolean stream_timeout(gpointer data)
{
	struct ws *w = data;

	w->timer = 0;
	w->timed_out = true;
	kill(-w->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

static void setpgid_child(gpointer data)
{
	(void)data;
	setpgid(0, 0);
}

static void start_stream(struct ws *w, json_t *req)
{
	const char *code = json_string_value(json_object_get(req, "code"));
	const char *lang = json_string_value(json_object_get(req, "language"));
	json_t *to = json_object_get(req, "timeout");
	long long timeout = json_is_number(to) ? (long long)json_number_value(to) : 60;
	char **env, *argv[5] = { 0 }, ts[32];
	GError *e = NULL;

	iso(ts, sizeof(ts));
	if (!code || w->pid) {
		queue(w, json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "error",
				   w->pid ? "one execution per connection" : "missing 'code'", "code", "INVALID_REQUEST",
				   "timestamp", ts));
		return;
	}
	if (!lang || strcmp(lang, "python") == 0) {
		argv[0] = "python3", argv[1] = "-u", argv[2] = "-c";
	} else if (strcmp(lang, "javascript") == 0) {
		argv[0] = "node", argv[1] = "-e";
	} else if (strcmp(lang, "bash") == 0) {
		argv[0] = "bash", argv[1] = "-c";
	} else {
		queue(w, json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "error", "language: python, javascript or bash",
				   "code", "UNSUPPORTED_LANGUAGE", "timestamp", ts));
		return;
	}
	argv[argv[2] ? 3 : 2] = (char *)code;
	env = env_for_child(json_object_get(req, "env"));
	mkdir("/workspace", 0755);
	if (!g_spawn_async_with_pipes("/workspace", argv, env,
				      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH_FROM_ENVP | G_SPAWN_STDIN_FROM_DEV_NULL |
					      G_SPAWN_CLOEXEC_PIPES,
				      setpgid_child, NULL, &w->pid, NULL, &w->fds[0], &w->fds[1], &e)) {
		queue(w, json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "error", e->message, "code", "EXECUTION_FAILED",
				   "timestamp", ts));
		g_error_free(e);
		g_strfreev(env);
		return;
	}
	g_strfreev(env);
	agent.executions++;
	agent.active_executions++;
	w->started = g_get_monotonic_time();
	watch_fd(w, 0);
	watch_fd(w, 1);
	g_child_watch_add(w->pid, child_exited, w);
	if (timeout > 0)
		w->timer = g_timeout_add((guint)(timeout * 1000), stream_timeout, w);
}

static void start_terminal(struct ws *w)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, &ws);

	if (pid < 0) {
		queue(w, json_pack("{s:s,s:s}", "type", "output", "data", "hopx-agent: no PTY available\r\n"));
		w->final = g_strdup("{\"type\":\"exit\",\"code\":1}");
		return;
	}
	if (pid == 0) {
		char **env = env_for_child(NULL);

		env = g_environ_setenv(env, "TERM", "xterm-256color", TRUE);
		if (chdir("/workspace") < 0 && chdir("/") < 0)
			_exit(127);
		execle("/bin/bash", "bash", "-l", (char *)NULL, env);
		execle("/bin/sh", "sh", (char *)NULL, env);
		_exit(127);
	}
	w->pid = pid;
	w->fds[0] = master;
	w->started = g_get_monotonic_time();
	agent.active_executions++;
	watch_fd(w, 0);
	g_child_watch_add(pid, child_exited, w);
}

static void terminal_message(struct ws *w, json_t *m)
{
	const char *type = json_string_value(json_object_get(m, "type"));

	if (!type || w->fds[0] < 0)
		return;
	if (strcmp(type, "input") == 0 && json_is_string(json_object_get(m, "data"))) {
		const char *d = json_string_value(json_object_get(m, "data"));

		if (write(w->fds[0], d, strlen(d)) < 0)
			return;
	} else if (strcmp(type, "resize") == 0) {
		json_t *c = json_object_get(m, "cols"), *r = json_object_get(m, "rows");
		struct winsize ws = { 0 };

		if (!json_is_integer(c) || !json_is_integer(r))
			return;
		ws.ws_col = (unsigned short)CLAMP(json_integer_value(c), 1, 1000);
		ws.ws_row = (unsigned short)CLAMP(json_integer_value(r), 1, 1000);
		ioctl(w->fds[0], TIOCSWINSZ, &ws);
	}
}

/* --- /files/watch ------------------------------------------------------------ */

static void add_watch_tree(struct ws *w, const char *path, int depth)
{
	int wd = inotify_add_watch(w->inotify_fd, path,
				   IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
					   IN_DELETE_SELF | IN_ONLYDIR);
	GDir *d;
	const char *name;

	if (wd < 0)
		return;
	g_hash_table_replace(w->wd_paths, GINT_TO_POINTER(wd), g_strdup(path));
	if (depth > 32 || !(d = g_dir_open(path, 0, NULL)))
		return;
	while ((name = g_dir_read_name(d))) {
		char *sub = g_build_filename(path, name, NULL);
		struct stat st;

		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			add_watch_tree(w, sub, depth + 1);
		g_free(sub);
	}
	g_dir_close(d);
}

static gboolean inotify_ready(GIOChannel *ch, GIOCondition cond, gpointer data)
{
	struct ws *w = data;
	char buf[8192] __attribute__((aligned(8)));
	ssize_t n = read(w->inotify_fd, buf, sizeof(buf));

	(void)ch;
	(void)cond;
	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;
		const char *dir = g_hash_table_lookup(w->wd_paths, GINT_TO_POINTER(ev->wd));
		const char *what = ev->mask & IN_CREATE ? "created" : ev->mask & (IN_DELETE | IN_DELETE_SELF) ? "deleted"
				 : ev->mask & (IN_MOVED_FROM | IN_MOVED_TO) ? "renamed" : "modified";
		char ts[32], *path;

		p += sizeof(*ev) + ev->len;
		if (!dir || (ev->mask & IN_IGNORED))
			continue;
		path = ev->len ? g_build_filename(dir, ev->name, NULL) : g_strdup(dir);
		if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR))
			add_watch_tree(w, path, 0); /* recursive: new directories are watched too */
		iso(ts, sizeof(ts));
		queue(w, json_pack("{s:s,s:s,s:s,s:s}", "type", "change", "path", path, "event", what, "timestamp", ts));
		g_free(path);
	}
	return G_SOURCE_CONTINUE;
}

static void start_watch(struct ws *w, json_t *m)
{
	const char *path = json_string_value(json_object_get(m, "path"));
	GIOChannel *ch;

	if (w->inotify_fd >= 0 || !path || path[0] != '/')
		return;
	w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify_fd < 0)
		return;
	w->wd_paths = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	add_watch_tree(w, path, 0);
	ch = g_io_channel_unix_new(w->inotify_fd);
	w->inotify_watch = g_io_add_watch(ch, G_IO_IN, inotify_ready, w);
	g_io_channel_unref(ch);
}

/* --- connection plumbing ------------------------------------------------------ */

static void on_message(SoupWebsocketConnection *c, gint type, GBytes *msg, gpointer data)
{
	struct ws *w = data;
	gsize len;
	const char *p = g_bytes_get_data(msg, &len);
	json_t *m;

	(void)c;
	(void)type;
	m = p ? json_loadb(p, len, 0, NULL) : NULL;
	if (!json_is_object(m)) {
		json_decref(m);
		return; /* not JSON: ignored, as the SDK does */
	}
	if (w->kind == WS_STREAM && g_strcmp0(json_string_value(json_object_get(m, "type")), "execute") == 0)
		start_stream(w, m);
	else if (w->kind == WS_TERMINAL)
		terminal_message(w, m);
	else if (w->kind == WS_WATCH && g_strcmp0(json_string_value(json_object_get(m, "action")), "watch") == 0)
		start_watch(w, m);
	json_decref(m);
}

static void on_closed(SoupWebsocketConnection *c, gpointer data)
{
	struct ws *w = data;

	(void)c;
	w->closed = true;
	if (w->pid && !w->exited)
		kill(-w->pid, SIGKILL); /* the client left: its run or shell goes too */
	/* reap_then_free releases W once the child is reaped. */
}

static gboolean reap_then_free(gpointer data)
{
	struct ws *w = data;

	if (w->closed && (!w->pid || w->exited)) {
		ws_free(w); /* removes the pump; this source ends by returning REMOVE */
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void ws_open(SoupServer *server, SoupServerMessage *msg, const char *path, SoupWebsocketConnection *conn,
		    gpointer data)
{
	struct ws *w = g_new0(struct ws, 1);

	(void)server;
	(void)msg;
	(void)data;
	w->kind = strcmp(path, "/terminal") == 0 ? WS_TERMINAL : strcmp(path, "/files/watch") == 0 ? WS_WATCH : WS_STREAM;
	w->conn = g_object_ref(conn);
	w->fds[0] = w->fds[1] = w->inotify_fd = -1;
	w->out = g_string_new(NULL);
	w->err = g_string_new(NULL);
	g_queue_init(&w->frames);
	w->pump = g_timeout_add(PACE_MS, pump, w);
	g_timeout_add(500, reap_then_free, w);
	g_signal_connect(conn, "message", G_CALLBACK(on_message), w);
	g_signal_connect(conn, "closed", G_CALLBACK(on_closed), w);
	if (w->kind == WS_TERMINAL)
		start_terminal(w);
}

bool ws_path(const char *path)
{
	return strcmp(path, "/execute/stream") == 0 || strcmp(path, "/terminal") == 0 ||
	       strcmp(path, "/files/watch") == 0;
}

void ws_register(SoupServer *server, SoupServerCallback check)
{
	/* A normal handler on the same path runs first and can refuse the
	 * handshake (the token check). */
	soup_server_add_handler(server, "/execute/stream", check, NULL, NULL);
	soup_server_add_handler(server, "/terminal", check, NULL, NULL);
	soup_server_add_handler(server, "/files/watch", check, NULL, NULL);
	soup_server_add_websocket_handler(server, "/execute/stream", NULL, NULL, ws_open, NULL, NULL);
	soup_server_add_websocket_handler(server, "/terminal", NULL, NULL, ws_open, NULL, NULL);
	soup_server_add_websocket_handler(server, "/files/watch", NULL, NULL, ws_open, NULL, NULL);
}
