/* The bearer tokens hopx-agent accepts, and how its supervisor extends
 * them while it runs (hopx-api.md §1.2: a token refresh must not revoke
 * the earlier tokens, so the set only grows unless the supervisor replaces
 * it, as hopxd does once for a sandbox restored from a template snapshot):
 *   --token T / --token-file F   at start; SIGHUP re-reads the files and
 *                                adds their new tokens
 *   --supervisor-token T         may also call POST /auth/tokens
 *                                {"tokens": [...], "replace": false}
 * Every comparison is constant-time in the token's contents. */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

#define MAX_TOKENS 4096
#define MIN_TOKEN 8
#define MAX_TOKEN 512

/* --token-file files, re-read on SIGHUP: each by its directory's fd and
 * its name, which still works after --root's chroot, and after a
 * supervisor replaced the file by a rename. */
struct token_file {
	int dir_fd;
	char *name, *path;
};
static GArray *files;

bool token_in(GPtrArray *set, const char *presented)
{
	bool ok = false;
	size_t pl = strlen(presented);

	for (guint i = 0; set && i < set->len; i++) {
		const char *t = g_ptr_array_index(set, i);
		size_t tl = strlen(t);
		unsigned char diff = pl != tl;

		for (size_t k = 0; k < tl; k++)
			diff |= (unsigned char)(t[k] ^ (k < pl ? presented[k] : 0));
		ok |= diff == 0;
	}
	return ok;
}

static bool token_shape_ok(const char *t)
{
	size_t n = strlen(t);

	if (n < MIN_TOKEN || n > MAX_TOKEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] == 0x7f)
			return false;
	return true;
}

int tokens_add(GPtrArray *set, const char *t)
{
	if (!token_shape_ok(t))
		return -EINVAL;
	if (token_in(set, t))
		return 0;
	if (set->len >= MAX_TOKENS)
		return -ENOSPC;
	g_ptr_array_add(set, g_strdup(t));
	return 0;
}

static int load_file(const struct token_file *f)
{
	int fd = openat(f->dir_fd, f->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	const char *path = f->path;
	gchar *text, **lines;
	GString *buf;
	char chunk[4096];
	ssize_t n;
	int err = 0;

	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "hopx-agent: token file %s: %s\n", path, strerror(errno));
		return err;
	}
	buf = g_string_new(NULL);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && buf->len < (MAX_TOKENS * (MAX_TOKEN + 1)))
		g_string_append_len(buf, chunk, n);
	close(fd);
	text = g_string_free(buf, FALSE);
	lines = g_strsplit(text, "\n", -1);
	for (gchar **l = lines; *l && !err; l++) {
		g_strstrip(*l);
		if (**l && (err = tokens_add(agent.tokens, *l)))
			fprintf(stderr, "hopx-agent: token file %s: a token of %d to %d printable characters, "
					"at most %d tokens\n",
				path, MIN_TOKEN, MAX_TOKEN, MAX_TOKENS);
	}
	g_strfreev(lines);
	g_free(text);
	return err;
}

int tokens_add_file(const char *path)
{
	char *dir = g_path_get_dirname(path);
	struct token_file f = { .dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), .name = g_path_get_basename(path),
				.path = g_strdup(path) };
	int err = f.dir_fd < 0 ? -errno : 0;

	if (err)
		fprintf(stderr, "hopx-agent: --token-file %s: directory %s: %s\n", path, dir, strerror(-err));
	g_free(dir);
	if (!err)
		err = load_file(&f);
	if (err) {
		if (f.dir_fd >= 0)
			close(f.dir_fd);
		g_free(f.name);
		g_free(f.path);
		return err;
	}
	if (!files)
		files = g_array_new(FALSE, FALSE, sizeof(struct token_file));
	g_array_append_val(files, f);
	return 0;
}

static gboolean reload(gpointer data)
{
	guint before = agent.tokens->len;

	(void)data;
	for (guint i = 0; files && i < files->len; i++)
		load_file(&g_array_index(files, struct token_file, i));
	fprintf(stderr, "hopx-agent: SIGHUP: token files re-read, %u new token(s)\n", agent.tokens->len - before);
	return G_SOURCE_CONTINUE;
}

void tokens_watch(void)
{
	g_unix_signal_add(SIGHUP, reload, NULL);
}

/* POST /auth/tokens (supervisor only; http.c checks that). */
void route_tokens(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest)
{
	json_t *list = json_object_get(body, "tokens"), *replace = json_object_get(body, "replace"), *t;
	GPtrArray *next;
	size_t i;

	(void)query;
	(void)rest;
	if (strcmp(soup_server_message_get_method(msg), "POST") != 0) {
		reply_error(msg, 405, "METHOD_NOT_ALLOWED", NULL, "use POST");
		return;
	}
	if (!json_is_array(list) || json_array_size(list) == 0 || (replace && !json_is_boolean(replace))) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL,
			    "the body is {\"tokens\": [token, ...], \"replace\": false}");
		return;
	}
	next = g_ptr_array_new_with_free_func(g_free);
	if (!json_is_true(replace))
		for (guint k = 0; k < agent.tokens->len; k++)
			g_ptr_array_add(next, g_strdup(g_ptr_array_index(agent.tokens, k)));
	json_array_foreach(list, i, t) {
		int err = json_is_string(t) ? tokens_add(next, json_string_value(t)) : -EINVAL;

		if (err) { /* all or nothing: the set stays as it was */
			reply_error(msg, err == -ENOSPC ? 429 : 400, err == -ENOSPC ? "TOO_MANY_TOKENS" : "INVALID_REQUEST",
				    NULL, "token %zu: a string of %d to %d printable characters, at most %d tokens", i,
				    MIN_TOKEN, MAX_TOKEN, MAX_TOKENS);
			g_ptr_array_unref(next);
			return;
		}
	}
	g_ptr_array_unref(agent.tokens);
	agent.tokens = next;
	reply_json(msg, 200, json_pack("{s:i}", "tokens", (int)next->len));
}
