/* The agent gateway: a sandbox's public_host is http://<hopxd>/sandbox/<id>,
 * and every Agent API call under it is forwarded to that sandbox's agent
 * (its Unix socket: state-dir/sandboxes/<id>/run/agent.sock) with the
 * agent's supervisor token, after checking the caller's: a token issued
 * for this sandbox (Authorization: Bearer) or an API key (X-API-Key, what
 * the SDK sends before it has a token, hopx-api.md §1.1).
 *
 * WebSockets lose the path prefix in the SDK (§2.3: ws://host:port/terminal),
 * so an upgrade on /execute/stream, /terminal or /files/watch is routed by
 * its bearer token alone, then relayed frame by frame both ways (frames
 * keep their boundaries, so the agent's pacing survives). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent_client.h"
#include "auth.h"
#include "event.h"
#include "gateway.h"
#include "registry.h"
#include "reply.h"
#include "sandbox.h"

/* --- HTTP ------------------------------------------------------------------ */

/* A forwarded call. */
struct call {
	SoupServerMessage *msg;  /* the caller's, paused */
	char *url, *supervisor, *id;
};

static void call_free(struct call *c)
{
	g_free(c->url);
	g_free(c->supervisor);
	g_free(c->id);
	g_free(c);
}

static const char *const hop_by_hop[] = { "Host", "Authorization", "X-API-Key", "Connection", "Content-Length",
					  "Transfer-Encoding", "Expect", "Keep-Alive", "Upgrade", "TE" };

static bool skipped(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(hop_by_hop); i++)
		if (g_ascii_strcasecmp(name, hop_by_hop[i]) == 0)
			return true;
	return false;
}

static void forwarded(GObject *src, GAsyncResult *res, gpointer data)
{
	struct call *c = data;
	SoupMessage *m = soup_session_get_async_result_message(SOUP_SESSION(src), res);
	GError *e = NULL;
	GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &e);
	SoupMessageHeadersIter it;
	const char *name, *value;

	if (!body) {
		/* Not a 5xx: the SDK would re-run the call (§4.1), code included. */
		reply_error(c->msg, 424, "AGENT_UNREACHABLE", "the sandbox's agent did not answer: %s", e->message);
		g_error_free(e);
	} else {
		SoupMessageHeaders *out = soup_server_message_get_response_headers(c->msg);

		soup_message_headers_iter_init(&it, soup_message_get_response_headers(m));
		while (soup_message_headers_iter_next(&it, &name, &value))
			if (!skipped(name))
				soup_message_headers_replace(out, name, value);
		soup_server_message_set_status(c->msg, soup_message_get_status(m), NULL);
		soup_server_message_set_response(c->msg,
						 soup_message_headers_get_one(soup_message_get_response_headers(m), "Content-Type")
							 ?: "application/octet-stream",
						 SOUP_MEMORY_COPY, g_bytes_get_data(body, NULL), g_bytes_get_size(body));
		g_bytes_unref(body);
	}
	soup_server_message_unpause(c->msg);
	g_object_unref(c->msg);
	call_free(c);
}

/* The caller's request (C->msg) to the agent, with the supervisor's token. */
static void send_forward(struct call *c)
{
	SoupMessage *m = soup_message_new(soup_server_message_get_method(c->msg), c->url);
	SoupMessageBody *b = soup_server_message_get_request_body(c->msg);
	SoupMessageHeadersIter it;
	const char *name, *value;
	char *auth = g_strconcat("Bearer ", c->supervisor, NULL);

	soup_message_headers_iter_init(&it, soup_server_message_get_request_headers(c->msg));
	while (soup_message_headers_iter_next(&it, &name, &value))
		if (!skipped(name))
			soup_message_headers_append(soup_message_get_request_headers(m), name, value);
	soup_message_headers_replace(soup_message_get_request_headers(m), "Authorization", auth);
	g_free(auth);
	if (b->length > 0) {
		GBytes *body = g_bytes_new(b->data, (gsize)b->length);

		soup_message_set_request_body_from_bytes(
			m, soup_message_headers_get_one(soup_server_message_get_request_headers(c->msg), "Content-Type"),
			body);
		g_bytes_unref(body);
	}
	soup_session_send_and_read_async(agent_session(c->id), m, G_PRIORITY_DEFAULT, NULL, forwarded, c);
	g_object_unref(m);
}

void gateway_http(SoupServerMessage *msg, const char *id, const char *rest)
{
	GUri *in = soup_server_message_get_uri(msg);
	const char *query = g_uri_get_query(in);
	struct sandbox s;
	char *url;
	SoupMessage *m;
	struct call *c;

	if (!sandbox_id_ok(id) || registry_get(id, &s)) {
		reply_error(msg, 404, "SANDBOX_NOT_FOUND", "Sandbox not found");
		return;
	}
	if (!may_call_sandbox(msg, id)) {
		reply_error(msg, 401, "UNAUTHORIZED", "missing or invalid token for this sandbox");
		return;
	}
	if (strcmp(s.status, "paused") == 0) {
		reply_error(msg, 409, "SANDBOX_PAUSED", "the sandbox is paused: resume it first");
		return;
	}
	if (strncmp(rest, "/auth/", 6) == 0) { /* forwarded calls carry the supervisor's token */
		reply_error(msg, 403, "FORBIDDEN", "the agent's token endpoints are hopxd's own");
		return;
	}
	sandbox_touch(id);
	url = g_strdup_printf("http://agent%s%s%s", rest, query ? "?" : "", query ? query : "");
	m = soup_message_new(soup_server_message_get_method(msg), url); /* only to check the URL */
	if (!m) {
		reply_error(msg, 400, "INVALID_REQUEST", "a path the agent cannot be asked for");
		g_free(url);
		return;
	}
	g_object_unref(m);
	c = g_new0(struct call, 1);
	c->msg = g_object_ref(msg);
	c->url = url;
	c->supervisor = g_strdup(s.supervisor);
	c->id = g_strdup(id);
	soup_server_message_pause(msg);
	send_forward(c);
}

/* --- WebSockets ----------------------------------------------------------------- */

static const char *const ws_paths[] = { "/execute/stream", "/terminal", "/files/watch" };

bool gateway_ws_path(const char *path)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ws_paths); i++)
		if (strcmp(path, ws_paths[i]) == 0)
			return true;
	return false;
}

struct ws_relay {
	SoupWebsocketConnection *down, *up; /* the client's, the agent's */
	GQueue pending;                     /* client frames before the agent side is open */
	int refs;
};

struct frame {
	int type;
	GBytes *data;
};

static void relay_unref(struct ws_relay *r)
{
	struct frame *f;

	if (--r->refs > 0)
		return;
	while ((f = g_queue_pop_head(&r->pending))) {
		g_bytes_unref(f->data);
		g_free(f);
	}
	if (r->down)
		g_object_unref(r->down);
	if (r->up)
		g_object_unref(r->up);
	g_free(r);
}

static void send_on(SoupWebsocketConnection *to, int type, GBytes *data)
{
	if (to && soup_websocket_connection_get_state(to) == SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_send_message(to, (SoupWebsocketDataType)type, data);
}

static void from_client(SoupWebsocketConnection *conn, gint type, GBytes *data, gpointer p)
{
	struct ws_relay *r = p;
	struct frame *f;

	(void)conn;
	if (r->up) {
		send_on(r->up, type, data);
		return;
	}
	f = g_new0(struct frame, 1);
	f->type = type;
	f->data = g_bytes_ref(data);
	g_queue_push_tail(&r->pending, f);
}

static void from_agent(SoupWebsocketConnection *conn, gint type, GBytes *data, gpointer p)
{
	struct ws_relay *r = p;

	(void)conn;
	send_on(r->down, type, data);
}

static void closed(SoupWebsocketConnection *conn, gpointer p)
{
	struct ws_relay *r = p;
	SoupWebsocketConnection *other = conn == r->down ? r->up : r->down;

	if (other && soup_websocket_connection_get_state(other) == SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_close(other, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
	relay_unref(r);
}

static void upstream_open(GObject *src, GAsyncResult *res, gpointer p)
{
	struct ws_relay *r = p;
	GError *e = NULL;
	SoupWebsocketConnection *up = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &e);
	struct frame *f;

	if (!up) {
		log_event(LOG_WARN, "gateway.ws_failed", NULL, "gateway: the agent's WebSocket: %s", e->message);
		g_error_free(e);
		if (soup_websocket_connection_get_state(r->down) == SOUP_WEBSOCKET_STATE_OPEN)
			soup_websocket_connection_close(r->down, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "agent unreachable");
		relay_unref(r);
		return;
	}
	r->up = up;
	soup_websocket_connection_set_max_incoming_payload_size(up, 64u << 20);
	g_signal_connect(up, "message", G_CALLBACK(from_agent), r);
	g_signal_connect(up, "closed", G_CALLBACK(closed), r);
	while ((f = g_queue_pop_head(&r->pending))) {
		send_on(up, f->type, f->data);
		g_bytes_unref(f->data);
		g_free(f);
	}
	if (soup_websocket_connection_get_state(r->down) != SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_close(up, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

static void ws_open(SoupServer *server, SoupServerMessage *msg, const char *path, SoupWebsocketConnection *conn,
		    gpointer data)
{
	const char *id = g_object_get_data(G_OBJECT(msg), "hopx-sandbox");
	struct ws_relay *r = g_new0(struct ws_relay, 1);
	struct sandbox s;
	char *url, *auth;
	SoupMessage *m;

	(void)server;
	(void)data;
	r->down = g_object_ref(conn);
	r->refs = 2; /* each side's "closed" drops one */
	g_queue_init(&r->pending);
	soup_websocket_connection_set_max_incoming_payload_size(conn, 64u << 20);
	g_signal_connect(conn, "message", G_CALLBACK(from_client), r);
	g_signal_connect(conn, "closed", G_CALLBACK(closed), r);
	if (!id || registry_get(id, &s)) {
		soup_websocket_connection_close(conn, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "no such sandbox");
		relay_unref(r); /* no agent side to close */
		return;
	}
	sandbox_touch(id);
	url = g_strconcat("ws://agent", path, NULL);
	m = soup_message_new("GET", url);
	auth = g_strconcat("Bearer ", s.supervisor, NULL);
	soup_message_headers_replace(soup_message_get_request_headers(m), "Authorization", auth);
	soup_session_websocket_connect_async(agent_session(id), m, NULL, NULL, G_PRIORITY_DEFAULT, NULL, upstream_open, r);
	g_object_unref(m);
	g_free(url);
	g_free(auth);
}

/* Runs before the handshake (libsoup calls the plain handler first): a
 * token for a running sandbox, or 401/409 and no upgrade. */
static void ws_check(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
	char id[40];
	struct sandbox s;

	(void)server;
	(void)path;
	(void)query;
	(void)data;
	if (!bearer_sandbox(msg, id, sizeof(id)) || registry_get(id, &s)) {
		reply_error(msg, 401, "UNAUTHORIZED", "a WebSocket needs a sandbox's bearer token");
		return;
	}
	if (strcmp(s.status, "running") != 0) {
		reply_error(msg, 409, "SANDBOX_PAUSED", "the sandbox is %s", s.status);
		return;
	}
	g_object_set_data_full(G_OBJECT(msg), "hopx-sandbox", g_strdup(id), g_free);
}

void gateway_ws_register(SoupServer *server)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ws_paths); i++) {
		soup_server_add_handler(server, ws_paths[i], ws_check, NULL, NULL);
		soup_server_add_websocket_handler(server, ws_paths[i], NULL, NULL, ws_open, NULL, NULL);
	}
}
