/* hopxd's HTTP server: the Lifecycle API (hopx-api.md §2) and the routing
 * of agent calls to the gateway.
 *   GET  /health                                  no key
 *   POST /v1/sandboxes, GET /v1/sandboxes[?limit,status,region,cursor]
 *   GET|DELETE /v1/sandboxes/{id}
 *   POST /v1/sandboxes/{id}/pause|resume|token/refresh, PUT .../timeout
 *   GET  /v1/templates[?category,language], GET /v1/templates/{name}
 *   *    /sandbox/{id}/...                        the agent gateway
 *   WS   /execute/stream, /terminal, /files/watch routed by token
 * Every call but /health needs X-API-Key (compared in constant time with
 * each configured key); agent calls take the sandbox's token instead.
 * Errors are {"error","message","code","request_id"} with an X-Request-ID
 * header (§4.2: the SDK reads "message" and "code" and the header). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "event.h"
#include "gateway.h"
#include "registry.h"
#include "reply.h"
#include "runtime.h"
#include "sandbox.h"
#include "templates.h"
#include "util.h"

static SoupServer *server;
static uint64_t request_seq;

/* The lifecycle's answers (sandbox.h) to an HTTP request. */
static void answer_json(void *req, unsigned int status, json_t *body)
{
	reply_json(req, status, body);
}

static void answer_error(void *req, unsigned int status, const char *code, const char *message)
{
	reply_error(req, status, code, "%s", message);
}

static void answer_hold(void *req)
{
	g_object_ref(req);
	soup_server_message_pause(req);
}

static void answer_release(void *req)
{
	soup_server_message_unpause(req);
	g_object_unref(req);
}

static const struct sandbox_answer http_answer = {
	.json = answer_json,
	.error = answer_error,
	.hold = answer_hold,
	.release = answer_release,
};

static json_t *parse_body(SoupServerMessage *msg, bool *bad)
{
	SoupMessageBody *b = soup_server_message_get_request_body(msg);
	json_error_t je;
	json_t *body;

	*bad = false;
	if (b->length == 0)
		return NULL; /* empty POSTs with Content-Type: application/json are normal (§7.6) */
	body = json_loadb(b->data, (size_t)b->length, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(body)) {
		reply_error(msg, 400, "INVALID_JSON", body ? "the body must be a JSON object"
							  : "malformed JSON at line %d column %d: %s",
			    je.line, je.column, je.text);
		json_decref(body);
		*bad = true;
		return NULL;
	}
	return body;
}

static void list_sandboxes(SoupServerMessage *msg, GHashTable *query)
{
	const char *status = query ? g_hash_table_lookup(query, "status") : NULL;
	const char *cursor = query ? g_hash_table_lookup(query, "cursor") : NULL;
	const char *limit_s = query ? g_hash_table_lookup(query, "limit") : NULL;
	long limit = limit_s ? strtol(limit_s, NULL, 10) : 100;
	struct sandbox *list;
	json_t *data = json_array();
	bool more;
	int n;

	if (limit < 1 || limit > 1000) {
		reply_error(msg, 400, "INVALID_REQUEST", "limit: 1 to 1000");
		json_decref(data);
		return;
	}
	if (registry_list(status ? status : "", cursor ? cursor : "", (int)limit, &list, &n, &more)) {
		reply_error(msg, 500, "INTERNAL", "the registry failed");
		g_free(list);
		json_decref(data);
		return;
	}
	for (int i = 0; i < n; i++)
		json_array_append_new(data, sandbox_json(&list[i]));
	reply_json(msg, 200, json_pack("{s:o,s:b,s:s?}", "data", data, "has_more", more, "next_cursor",
				       more && n ? list[n - 1].id : NULL));
	g_free(list);
}

static void refresh_token(SoupServerMessage *msg, struct sandbox *s)
{
	long long expires;
	char *token = token_issue(s->id, &expires), exp[32];

	if (!token) {
		reply_error(msg, 500, "INTERNAL", "the registry failed");
	} else {
		iso_time(expires, exp, sizeof(exp));
		reply_json(msg, 200, json_pack("{s:s,s:s}", "auth_token", token, "token_expires_at", exp));
	}
	g_free(token);
}

static void one_sandbox(SoupServerMessage *msg, const char *method, const char *rest, json_t *body)
{
	char id[40];
	const char *slash = strchr(rest, '/');
	const char *action = slash ? slash + 1 : "";
	struct sandbox s;

	snprintf(id, sizeof(id), "%.*s", (int)(slash ? slash - rest : (int)strlen(rest)), rest);
	if (!sandbox_id_ok(id) || registry_get(id, &s)) {
		/* §4.2: 404 + "sandbox" + "not found" is what the SDK maps to SandboxExpiredError. */
		reply_error(msg, 404, "SANDBOX_NOT_FOUND", "Sandbox not found");
		return;
	}
	if (!*action && strcmp(method, "GET") == 0) {
		reply_json(msg, 200, sandbox_json(&s));
	} else if (!*action && strcmp(method, "DELETE") == 0) {
		if (sandbox_kill(&s, "deleted"))
			reply_error(msg, 500, "INTERNAL", "the sandbox could not be stopped");
		else
			reply_json(msg, 200, json_pack("{s:s,s:s}", "id", id, "status", "deleted"));
	} else if (strcmp(action, "pause") == 0 && strcmp(method, "POST") == 0) {
		sandbox_pause(&http_answer, msg, &s);
	} else if (strcmp(action, "resume") == 0 && strcmp(method, "POST") == 0) {
		sandbox_resume(&http_answer, msg, &s);
	} else if (strcmp(action, "token/refresh") == 0 && strcmp(method, "POST") == 0) {
		refresh_token(msg, &s);
	} else if (strcmp(action, "timeout") == 0 && strcmp(method, "PUT") == 0) {
		json_t *t = json_object_get(body, "timeout_seconds");

		if (!sandbox_timeout_ok(t)) {
			reply_error(msg, 400, "INVALID_REQUEST", "timeout_seconds: an integer from 1 to %lld",
				    cfg.max_lifetime_s);
			return;
		}
		s.timeout_s = json_integer_value(t);
		s.expires_at = MIN(now_s() + s.timeout_s, s.created_at + cfg.max_lifetime_s);
		if (registry_put(&s))
			reply_error(msg, 500, "INTERNAL", "the registry failed");
		else
			reply_json(msg, 200, sandbox_json(&s));
	} else {
		reply_error(msg, 404, "NOT_FOUND", "no such endpoint: %s /v1/sandboxes/%s", method, rest);
	}
}

static void templates(SoupServerMessage *msg, const char *rest, GHashTable *query)
{
	if (!*rest) {
		const char *category = query ? g_hash_table_lookup(query, "category") : NULL;
		const char *language = query ? g_hash_table_lookup(query, "language") : NULL;
		json_t *all = templates_list(), *data = json_array(), *t;
		size_t i;

		json_array_foreach(all, i, t) {
			const char *c = json_string_value(json_object_get(t, "category"));
			const char *l = json_string_value(json_object_get(t, "language"));

			if ((!category || (c && strcmp(c, category) == 0)) && (!language || (l && strcmp(l, language) == 0)))
				json_array_append(data, t);
		}
		json_decref(all);
		reply_json(msg, 200, json_pack("{s:o}", "data", data));
		return;
	}
	{
		json_t *t = template_find(rest);

		if (t)
			reply_json(msg, 200, t);
		else
			reply_error(msg, 404, "TEMPLATE_NOT_FOUND", "template not found: build it with make templates");
	}
}

static void handle(SoupServer *srv, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
	const char *method = soup_server_message_get_method(msg);
	char rid[32];
	json_t *body;
	bool bad;

	(void)srv;
	(void)data;
	snprintf(rid, sizeof(rid), "req_%llx", (unsigned long long)++request_seq);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "X-Request-ID", rid);
	if (gateway_ws_path(path))
		return; /* gateway.c's WebSocket handler checked the token in its early check */
	if (strncmp(path, "/sandbox/", 9) == 0) {
		const char *id = path + 9, *slash = strchr(id, '/');
		char sid[40];

		snprintf(sid, sizeof(sid), "%.*s", (int)(slash ? slash - id : (int)strlen(id)), id);
		gateway_http(msg, sid, slash ? slash : "/");
		return;
	}
	if (strcmp(path, "/health") == 0) {
		const struct runtime *rt = runtime_get(cfg.runtime);
		json_t *h = json_pack("{s:s,s:s,s:s,s:i}", "status", "ok", "version", HOPXD_VERSION, "runtime", cfg.runtime,
				      "sandboxes", registry_count());

		if (rt && rt->prepared) /* each template's preparation (vm: its snapshot): preparing, ready or failed */
			json_object_set_new(h, "templates", rt->prepared());
		reply_json(msg, 200, h);
		return;
	}
	if (!api_key_ok(msg)) {
		reply_error(msg, 401, "UNAUTHORIZED", "missing or invalid X-API-Key");
		return;
	}
	body = parse_body(msg, &bad);
	if (bad)
		return;
	if (strcmp(path, "/v1/sandboxes") == 0 && strcmp(method, "POST") == 0)
		sandbox_create(&http_answer, msg, body);
	else if (strcmp(path, "/v1/sandboxes") == 0 && strcmp(method, "GET") == 0)
		list_sandboxes(msg, query);
	else if (strncmp(path, "/v1/sandboxes/", 14) == 0)
		one_sandbox(msg, method, path + 14, body);
	else if (strcmp(path, "/v1/templates") == 0 && strcmp(method, "GET") == 0)
		templates(msg, "", query);
	else if (strncmp(path, "/v1/templates/", 14) == 0 && strcmp(method, "GET") == 0)
		templates(msg, path + 14, query);
	else if (strncmp(path, "/v1/templates", 13) == 0)
		reply_error(msg, 405, "NOT_SUPPORTED", "templates are built on the host: make templates");
	else
		reply_error(msg, 404, "NOT_FOUND", "no such endpoint: %s %s", method, path);
	json_decref(body);
}

int api_start(void)
{
	GError *e = NULL;
	GInetAddress *addr = g_inet_address_new_from_string(cfg.listen_host);
	GSocketAddress *sa;

	if (!addr) {
		log_event(LOG_ERROR, "hopxd.config", NULL, "--listen %s: an IPv4 address (the SDK forces IPv4)",
			  cfg.listen_host);
		return -EINVAL;
	}
	sa = g_inet_socket_address_new(addr, (guint16)cfg.listen_port);
	g_object_unref(addr);
	server = soup_server_new("server-header", "hopxd/" HOPXD_VERSION, NULL);
	soup_server_add_handler(server, NULL, handle, NULL, NULL);
	gateway_ws_register(server);
	if (!soup_server_listen(server, sa, 0, &e)) {
		log_event(LOG_ERROR, "hopxd.listen_failed", NULL, "listen on %s:%u: %s", cfg.listen_host, cfg.listen_port,
			  e->message);
		g_error_free(e);
		g_object_unref(sa);
		return -EADDRINUSE;
	}
	g_object_unref(sa);
	return 0;
}
