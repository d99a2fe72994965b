/* hopxd's own calls to the sandboxes' agents (agent_client.h): health
 * checks, the environment at create, a template VM's warm-up; and the
 * sessions the gateway forwards callers' requests on. Each agent is on a
 * Unix socket hopxd owns (SBX_AGENT_SOCK; the vm runtime's relay listens
 * there), reached with its supervisor token. */
#include <gio/gunixsocketaddress.h>
#include <string.h>

#include "agent_client.h"
#include "paths.h"
#include "util.h"

#define SUPERVISOR_TOKEN_PREFIX "hopx_sv_"

static GHashTable *sessions; /* agent socket path -> SoupSession bound to it */

static SoupSession *session_at(const char *path)
{
	SoupSession *s;
	GSocketAddress *addr;

	if (!sessions)
		sessions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	s = g_hash_table_lookup(sessions, path);
	if (s)
		return s;
	addr = g_unix_socket_address_new(path);
	s = soup_session_new_with_options("remote-connectable", addr, "max-conns-per-host", 64, "timeout", 0,
					  "idle-timeout", 30, NULL);
	g_object_unref(addr);
	g_hash_table_insert(sessions, g_strdup(path), s);
	return s;
}

char *supervisor_token_new(void)
{
	return random_token(SUPERVISOR_TOKEN_PREFIX, 24);
}

SoupSession *agent_session(const char *id)
{
	char path[4096];

	return session_at(sandbox_dir(id, SBX_AGENT_SOCK, path, sizeof(path)));
}

void agent_forget(const char *id)
{
	char path[4096];

	if (sessions)
		g_hash_table_remove(sessions, sandbox_dir(id, SBX_AGENT_SOCK, path, sizeof(path)));
}

struct call {
	agent_cb cb;
	gpointer data;
};

static void called(GObject *src, GAsyncResult *res, gpointer data)
{
	struct call *c = data;
	SoupMessage *m = soup_session_get_async_result_message(SOUP_SESSION(src), res);
	GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, NULL);
	json_t *j = NULL;

	if (body) {
		j = json_loadb(g_bytes_get_data(body, NULL), g_bytes_get_size(body), 0, NULL);
		g_bytes_unref(body);
	}
	c->cb(body ? soup_message_get_status(m) : 0, j, c->data);
	json_decref(j);
	g_free(c);
}

void agent_call(const struct sandbox *s, const char *method, const char *path, json_t *body, agent_cb cb,
		gpointer data)
{
	char sock[4096];

	agent_call_at(sandbox_dir(s->id, SBX_AGENT_SOCK, sock, sizeof(sock)), s->supervisor, method, path, body, cb,
		      data);
}

void agent_call_at(const char *sock, const char *supervisor, const char *method, const char *path, json_t *body,
		   agent_cb cb, gpointer data)
{
	char *url = g_strconcat("http://agent", path, NULL), *auth = g_strconcat("Bearer ", supervisor, NULL);
	SoupMessage *m = soup_message_new(method, url);
	struct call *c = g_new0(struct call, 1);

	c->cb = cb;
	c->data = data;
	soup_message_headers_replace(soup_message_get_request_headers(m), "Authorization", auth);
	if (body) {
		char *text = json_dumps(body, JSON_COMPACT);
		GBytes *bytes = g_bytes_new_take(text, strlen(text));

		soup_message_set_request_body_from_bytes(m, "application/json", bytes);
		g_bytes_unref(bytes);
		json_decref(body);
	}
	soup_session_send_and_read_async(session_at(sock), m, G_PRIORITY_DEFAULT, NULL, called, c);
	g_object_unref(m);
	g_free(url);
	g_free(auth);
}
