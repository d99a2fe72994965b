/* hopx-agent: the HopX Agent API (../../shared/reference/hopx-api.md §3-§5,
 * §7) served over HTTP/1.1 + WebSocket (libsoup 3) with JSON (jansson), on
 * a vsock, Unix or TCP socket. Shared declarations of its parts:
 *   http.c   the server: routes, auth, request ids, JSON and error replies
 *   env.c    the agent's global environment (/env) and child environments
 *   files.c  /files/...
 *   exec.c   /execute, /commands/..., processes (process groups, timeouts)
 *   info.c   /health, /info, /metrics/snapshot, /cache/...
 *   ws.c     WebSockets: /execute/stream, /terminal, /files/watch
 *   listen.c the listening socket from --listen unix:|tcp:|vsock: */
#ifndef HOPX_AGENT_H
#define HOPX_AGENT_H

#include <jansson.h>
#include <libsoup/soup.h>
#include <stdbool.h>
#include <stdint.h>

#define AGENT_VERSION "0.1.0"
#define AGENT_MAX_BODY (64u << 20) /* uploads and writes; larger is 413 */

struct agent {
	SoupServer *server;
	GPtrArray *tokens;      /* accepted bearer tokens (char *) */
	const char *root;       /* "/": --root chroots the agent before it serves */
	GHashTable *env;        /* global env vars set through /env */
	uint64_t started_us;    /* g_get_monotonic_time() at start */
	uint64_t requests, errors, executions, active_executions;
	double exec_seconds_total;
};

extern struct agent agent;

/* listen.c: a listening fd for SPEC, or -errno (logged). */
int agent_listen(const char *spec);

/* http.c */
typedef void (*route_fn)(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
int http_start(int listen_fd);
/* Replies: JSON (takes BODY's reference), 204-less empty JSON {}, errors in the
 * SDK's shape {"error","message","code","path"?,"request_id"}. */
void reply_json(SoupServerMessage *msg, unsigned int status, json_t *body);
void reply_error(SoupServerMessage *msg, unsigned int status, const char *code, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void reply_bytes(SoupServerMessage *msg, const char *type, GBytes *bytes);
/* Required/optional JSON fields (reply 400 and return false when bad). */
bool body_str(SoupServerMessage *msg, json_t *body, const char *key, bool required, const char **out);
bool body_int(SoupServerMessage *msg, json_t *body, const char *key, long long def, long long min,
	      long long max, long long *out);

/* env.c */
void env_init(void);
/* The environment for a child: agent environ < /env globals < REQ (may be NULL). */
char **env_for_child(json_t *req);
void route_env(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);

/* files.c */
void route_files(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
/* POST /files/upload: multipart, parts "file" and "path" (the body is read raw). */
void route_upload(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
/* Map a request path into agent.root; NULL (and a 4xx reply) if it escapes. */
char *resolve_path(SoupServerMessage *msg, const char *path);

/* exec.c */
void route_execute(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_commands(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_processes(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
/* Start the warm Python worker (if python3 is here), once the agent is in its root. */
void warm_start(void);

/* ws.c: the WebSocket endpoints */
bool ws_path(const char *path);
void ws_register(SoupServer *server, SoupServerCallback check);

/* info.c */
void route_health(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_info(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_metrics(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_cache(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);

#endif
