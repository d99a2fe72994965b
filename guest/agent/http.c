/* hopx-agent's HTTP layer (libsoup 3): one handler routes every request,
 * checks the bearer token, gives it a request id (X-Request-ID), parses a
 * JSON body, and turns errors into the body the official SDK maps to its
 * error classes: {"error", "message", "code", "path"?, "request_id"} (see
 * hopx-api.md §4.2: "message" is what it reads; the path stays out of it). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

struct route {
	const char *prefix;   /* path, or prefix when it ends in '/' */
	route_fn fn;
	bool public;          /* no token needed */
	bool raw_body;        /* the handler reads the body itself (uploads) */
	bool supervisor;      /* only with the supervisor's token */
};

static void route_desktop(SoupServerMessage *msg, GHashTable *q, json_t *b, const char *rest)
{
	(void)q;
	(void)b;
	(void)rest;
	reply_error(msg, 501, "DESKTOP_NOT_AVAILABLE", NULL, "this sandbox has no desktop");
}

static const struct route routes[] = {
	{ "/health", route_health, true, false, false },
	{ "/info", route_info, false, false, false },
	{ "/metrics/snapshot", route_metrics, false, false, false },
	{ "/cache/", route_cache, false, false, false },
	{ "/env", route_env, false, false, false },
	{ "/files/upload", route_upload, false, true, false },
	{ "/files/", route_files, false, false, false },
	{ "/execute", route_execute, false, false, false },
	{ "/execute/", route_execute, false, false, false },
	{ "/commands/", route_commands, false, false, false },
	{ "/processes", route_processes, false, false, false },
	{ "/desktop/", route_desktop, false, false, false },
	{ "/auth/tokens", route_tokens, false, false, true },
};

static uint64_t request_seq;

static const char *request_id(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
	const char *id = soup_message_headers_get_one(h, "X-Request-ID");

	return id ? id : "";
}

void reply_json(SoupServerMessage *msg, unsigned int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	if (!text) { /* a reply we could not build: a bug, said plainly */
		text = strdup("{\"error\":\"internal error\",\"message\":\"internal error building the reply\","
			      "\"code\":\"INTERNAL\"}");
		status = 500;
	}

	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, strlen(text));
	json_decref(body);
	if (status >= 400)
		agent.errors++;
}

void reply_error(SoupServerMessage *msg, unsigned int status, const char *code, const char *path,
		 const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	json_t *b;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	b = json_pack("{s:s,s:s,s:s,s:s}", "error", text, "message", text, "code", code, "request_id",
		      request_id(msg));
	if (path)
		json_object_set_new(b, "path", json_string(path));
	reply_json(msg, status, b);
}

static void client_gone(SoupServerMessage *msg, gpointer data)
{
	(void)data;
	g_object_set_data(G_OBJECT(msg), "hopx-client-gone", GINT_TO_POINTER(1));
}

SoupServerMessage *hold(SoupServerMessage *msg)
{
	g_object_ref(msg);
	soup_server_message_pause(msg);
	g_signal_connect(msg, "disconnected", G_CALLBACK(client_gone), NULL);
	return msg;
}

void reply_later(SoupServerMessage *msg, unsigned int status, json_t *body)
{
	g_signal_handlers_disconnect_by_func(msg, client_gone, NULL);
	if (g_object_get_data(G_OBJECT(msg), "hopx-client-gone")) {
		json_decref(body); /* nobody to answer: libsoup has already let the connection go */
	} else {
		reply_json(msg, status, body);
		soup_server_message_unpause(msg);
	}
	g_object_unref(msg);
}

void reply_bytes(SoupServerMessage *msg, const char *type, GBytes *bytes)
{
	soup_server_message_set_status(msg, 200, NULL);
	soup_server_message_set_response(msg, type, SOUP_MEMORY_COPY, g_bytes_get_data(bytes, NULL),
					 g_bytes_get_size(bytes));
}

bool body_str(SoupServerMessage *msg, json_t *body, const char *key, bool required, const char **out)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	if (!v || json_is_null(v)) {
		if (!required)
			return true;
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "missing field '%s'", key);
		return false;
	}
	if (!json_is_string(v)) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "field '%s' must be a string", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool body_int(SoupServerMessage *msg, json_t *body, const char *key, long long def, long long min,
	      long long max, long long *out)
{
	json_t *v = body ? json_object_get(body, key) : NULL;

	*out = def;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_number(v) || json_number_value(v) < (double)min || json_number_value(v) > (double)max) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "field '%s' must be a number from %lld to %lld", key,
			    min, max);
		return false;
	}
	*out = (long long)json_number_value(v);
	return true;
}

/* A bearer token of the user's set (or the supervisor's, which may do
 * everything), or with SUPERVISOR only the supervisor's. */
static bool authorized(SoupServerMessage *msg, bool supervisor)
{
	const char *h = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");

	if (!h || g_ascii_strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	return token_in(agent.supervisor, h + 7) || (!supervisor && token_in(agent.tokens, h + 7));
}

static void handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
	char id[32];
	const struct route *r = NULL;
	json_t *body = NULL;
	SoupMessageBody *b;

	(void)server;
	(void)data;
	agent.requests++;
	snprintf(id, sizeof(id), "req_%llx", (unsigned long long)++request_seq);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "X-Request-ID", id);
	if (ws_path(path)) {
		/* No status set: libsoup's WebSocket handler takes the handshake. */
		if (!authorized(msg, false))
			reply_error(msg, 401, "UNAUTHORIZED", NULL, "missing or invalid bearer token");
		return;
	}
	/* One request per connection: libsoup 3.2 does not notice a client
	 * closing an idle keep-alive connection and would keep its fd forever. */
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
	for (size_t i = 0; i < G_N_ELEMENTS(routes) && !r; i++) {
		size_t n = strlen(routes[i].prefix);

		if (routes[i].prefix[n - 1] == '/' ? strncmp(path, routes[i].prefix, n) == 0
						     : strcmp(path, routes[i].prefix) == 0)
			r = &routes[i];
	}
	if (!r) {
		reply_error(msg, 404, "NOT_FOUND", NULL, "no such endpoint: %s", path);
		return;
	}
	if (!r->public && !authorized(msg, r->supervisor)) {
		reply_error(msg, 401, "UNAUTHORIZED", NULL,
			    r->supervisor ? "this endpoint needs the supervisor's token" : "missing or invalid bearer token");
		return;
	}
	b = soup_server_message_get_request_body(msg);
	if (!r->raw_body && b->length > 0) {
		json_error_t je;

		body = json_loadb(b->data, (size_t)b->length, JSON_REJECT_DUPLICATES, &je);
		if (!body || !json_is_object(body)) {
			reply_error(msg, 400, "INVALID_JSON", NULL, body ? "the body must be a JSON object"
									 : "malformed JSON at line %d column %d: %s",
				    je.line, je.column, je.text);
			json_decref(body);
			return;
		}
	}
	r->fn(msg, query, body, path + strlen(r->prefix));
	json_decref(body);
}

/* An early handler runs after the headers, before the body: refuse bodies
 * over the limit without reading them. */
static void early(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
	goffset len = soup_message_headers_get_content_length(soup_server_message_get_request_headers(msg));

	(void)server;
	(void)path;
	(void)query;
	(void)data;
	if (len > (goffset)AGENT_MAX_BODY) {
		reply_error(msg, 413, "PAYLOAD_TOO_LARGE", NULL, "request body of %lld bytes: at most %u",
			    (long long)len, AGENT_MAX_BODY);
		soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
	}
}

int http_start(int listen_fd)
{
	GError *err = NULL;
	GSocket *sock = g_socket_new_from_fd(listen_fd, &err);

	if (!sock) {
		fprintf(stderr, "hopx-agent: socket: %s\n", err->message);
		g_error_free(err);
		return -EINVAL;
	}
	agent.server = soup_server_new("server-header", "hopx-agent/" AGENT_VERSION, NULL);
	soup_server_add_early_handler(agent.server, NULL, early, NULL, NULL);
	soup_server_add_handler(agent.server, NULL, handle, NULL, NULL);
	ws_register(agent.server, handle);
	if (!soup_server_listen_socket(agent.server, sock, 0, &err)) {
		fprintf(stderr, "hopx-agent: listen: %s\n", err->message);
		g_error_free(err);
		g_object_unref(sock);
		return -EINVAL;
	}
	g_object_unref(sock);
	return 0;
}
