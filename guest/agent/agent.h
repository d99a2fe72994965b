/* hopx-agent: the HopX Agent API (../../shared/reference/hopx-api.md §3-§5,
 * §7) served over HTTP/1.1 + WebSocket (libsoup 3) with JSON (jansson), on
 * a vsock, Unix or TCP socket. Shared declarations of its parts:
 *   http.c   the server: routes, auth, request ids, JSON and error replies
 *   env.c    the agent's global environment (/env) and child environments
 *   files.c  /files/...
 *   exec.c   /execute, /commands/..., processes (process groups, timeouts)
 *   info.c   /health, /info, /metrics/snapshot, /cache/...
 *   ws.c     WebSockets: /execute/stream, /terminal, /files/watch
 *   listen.c the listening socket from --listen unix:|tcp:|vsock:
 *   tokens.c the accepted tokens, and the supervisor's way to extend them
 *   warm.c   warm interpreters for /execute; callback.c /execute/async results */
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
	GPtrArray *supervisor;  /* --supervisor-token: may also change the tokens */
	const char *root;       /* "/": --root chroots the agent before it serves */
	GHashTable *env;        /* global env vars set through /env */
	uint64_t started_us;    /* g_get_monotonic_time() at start */
	uint64_t requests, errors, executions, active_executions;
	double exec_seconds_total;
};

extern struct agent agent;

/* listen.c: a listening fd for SPEC, or -errno (logged). */
int agent_listen(const char *spec);

/* tokens.c: constant-time membership; add one (-EINVAL: not 8-512
 * printable characters, -ENOSPC: the set is full); --token-file (kept for
 * SIGHUP reloads); the SIGHUP handler; POST /auth/tokens. */
bool token_in(GPtrArray *set, const char *presented);
int tokens_add(GPtrArray *set, const char *token);
int tokens_add_file(const char *path);
void tokens_watch(void);
void route_tokens(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);

/* http.c */
typedef void (*route_fn)(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
int http_start(int listen_fd);
/* Replies: JSON (takes BODY's reference), 204-less empty JSON {}, errors in the
 * SDK's shape {"error","message","code","path"?,"request_id"}. */
void reply_json(SoupServerMessage *msg, unsigned int status, json_t *body);
void reply_error(SoupServerMessage *msg, unsigned int status, const char *code, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void reply_bytes(SoupServerMessage *msg, const char *type, GBytes *bytes);
/* A reply that comes later: hold() pauses MSG (and takes a reference);
 * reply_later() answers it, unless its client has gone meanwhile (then
 * the body is dropped: replying to a message whose connection libsoup has
 * already torn down is a use after free), and drops the reference. */
SoupServerMessage *hold(SoupServerMessage *msg);
void reply_later(SoupServerMessage *msg, unsigned int status, json_t *body);
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
/* The same without a reply: PATH (absolute) mapped into ROOT ("/" or a
 * directory without a trailing slash), or NULL and *WHY when it is not
 * absolute, or leaves ROOT through ".." or through a symlink of an
 * existing ancestor. g_free it. */
char *path_confine(const char *root, const char *path, const char **why);

/* exec.c */
void route_execute(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_commands(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_processes(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
/* The pieces of an /execute reply that warm.c shares: the reply for a
 * finished run (success, stdout, stderr, exit_code, execution_time,
 * timestamp, and error:"timeout"); stderr with the timeout said (takes ERR);
 * a run's output file, capped like a pipe's; rich outputs from a file. */
json_t *result_json(int exit_code, bool timed_out, const char *out, const char *err, double seconds);
char *timed_out_note(char *err);
char *read_output(const char *path);
void add_rich(json_t *o, const char *path);

/* warm.c: start the warm workers (python, javascript, bash: those that are
 * here), once the agent is in its root; serve an /execute on one (false:
 * none is free for LANGUAGE, run it one-shot). */
void warm_start(void);
bool warm_execute(SoupServerMessage *msg, json_t *body, const char *language, const char *code, long long timeout,
		  const char *workdir);

/* callback.c: POST RESULT (taken) to URL, with HEADERS (an object of
 * strings, or NULL) and, given SECRET, an HMAC-SHA256 signature:
 * X-HopX-Timestamp: T and X-HopX-Signature: sha256=hex(HMAC(SECRET, "T.BODY")).
 * Retried (3 attempts) on connection errors and 5xx. */
void callback_post(const char *url, json_t *headers, const char *secret, json_t *result);
/* A URL callback_post can take (absolute http or https), or false. */
bool callback_url_ok(const char *url);

/* ws.c: the WebSocket endpoints */
bool ws_path(const char *path);
void ws_register(SoupServer *server, SoupServerCallback check);

/* info.c */
void route_health(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_info(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_metrics(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);
void route_cache(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest);

#endif
