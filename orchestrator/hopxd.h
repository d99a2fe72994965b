/* hopxd: the sandbox service. HopX's Lifecycle API (../shared/reference/
 * hopx-api.md §1-2, §4, §6-7) on HTTP (libsoup 3, JSON with jansson), an
 * agent gateway that forwards each sandbox's Agent API (HTTP and WebSocket)
 * to its agent, a SQLite registry, and sandbox runtimes behind one
 * interface. Shared declarations of its parts:
 *   main.c       options, config file, start, the expiry sweep
 *   registry.c   the SQLite registry of sandboxes and token hashes
 *   api.c        /v1/sandboxes..., /v1/templates..., /health; API keys
 *   gateway.c    /sandbox/{id}/... and WebSockets routed by token
 *   sandbox.c    lifecycle: create, pause, resume, kill, expiry, recovery
 *   rt_namespace.c  the namespace runtime (hopx-jail + the template's agent)
 *   templates.c  templates from their manifests (build/templates/NAME.json)
 *   egress.c     the host's NAT and filter rules for internet_access */
#ifndef HOPXD_H
#define HOPXD_H

#include <jansson.h>
#include <libsoup/soup.h>
#include <stdbool.h>
#include <stdint.h>

#define HOPXD_VERSION "0.1.0"

struct config {
	char *listen_host;
	unsigned int listen_port;
	char *public_url;        /* what public_host starts with: http://host:port */
	GPtrArray *api_keys;     /* char * */
	char *state_dir;
	char *templates_dir;
	char *jail;              /* the hopx-jail binary */
	char *runtime;           /* "vm" or "namespace" */
	char *vmm, *kernel;      /* the vm runtime's hopx-vmm and guest kernel */
	char *snapshot_dir;      /* the vm runtime's template snapshots */
	json_t *prepare;         /* templates to snapshot at start (an array), or NULL: all */
	long long idle_timeout_s, max_lifetime_s, token_ttl_s;
	unsigned int max_sandboxes;
	json_t *egress_deny;     /* CIDRs sandboxes with internet access may not reach, or NULL */
};

extern struct config cfg;

struct sandbox {
	char id[40];
	char template_name[64];
	char status[16];         /* creating, running, paused */
	char runtime[16];
	long long created_at, expires_at, last_active, timeout_s;
	int keeper_pid;
	unsigned long long keeper_start; /* /proc/PID/stat start time: the pid is still ours */
	char supervisor[80];     /* the agent's supervisor token (never leaves hopxd) */
	int vcpu, memory_mb, disk_mb;
	bool internet;
};

/* registry.c: -errno on failure (logged). */
int registry_open(const char *path);
int registry_put(const struct sandbox *s);
int registry_get(const char *id, struct sandbox *out);       /* -ENOENT */
int registry_delete(const char *id);
/* Sandboxes in id order after CURSOR ("" for the first page), with STATUS
 * ("" for all); up to LIMIT; *more when there are more. */
int registry_list(const char *status, const char *cursor, int limit, struct sandbox **out, int *n, bool *more);
int registry_count(void);
int registry_add_token(const char *id, const char *token_hash, long long expires_at);
/* The sandbox a token (by hash) belongs to, if unexpired; -ENOENT. */
int registry_token_sandbox(const char *token_hash, char *id, size_t size);

/* egress.c: the host's rules for sandboxes with internet access (extra
 * denied CIDRs in DENY, a JSON array or NULL); whether they are in place,
 * and if not why. */
void egress_setup(json_t *deny);
bool egress_available(const char **why);

/* util: ids, tokens, times */
char *random_token(const char *prefix, size_t bytes);
char *token_hash(const char *token);
void iso_time(long long t, char *buf, size_t size);
long long now_s(void);
bool secret_equal(const char *a, const char *b);
/* PID's start time in clock ticks after boot; 0 if gone or a zombie. */
unsigned long long proc_start_time(int pid);
/* Start ARGV in its own session, output appended to LOG_PATH, reaped by
 * the main loop; its pid and start time. -errno (logged). */
int spawn_detached(char **argv, char **envp, const char *log_path, int *pid, unsigned long long *start);
/* End the process PID that started at START: SIGTERM, up to WAIT_MS for it
 * to go, then SIGKILL. Nothing if it is gone or the pid was reused. */
void stop_process(int pid, unsigned long long start, int wait_ms);

/* api.c */
void reply_json(SoupServerMessage *msg, unsigned int status, json_t *body);
void reply_error(SoupServerMessage *msg, unsigned int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool api_key_ok(SoupServerMessage *msg);
int api_start(void);

/* gateway.c: agent calls of a sandbox; the sandbox whose token a
 * WebSocket upgrade carries. */
void gateway_http(SoupServerMessage *msg, const char *id, const char *rest);
bool gateway_ws_path(const char *path);
void gateway_ws_register(SoupServer *server);
/* An HTTP request to sandbox ID's agent with its supervisor token: BODY
 * may be NULL; the callback gets the status (0: not reachable) and the
 * parsed JSON body (may be NULL). */
typedef void (*agent_cb)(unsigned int status, json_t *body, gpointer data);
void agent_call(const struct sandbox *s, const char *method, const char *path, json_t *body, agent_cb cb,
		gpointer data);
/* The same for an agent on socket SOCK (a template VM being prepared). BODY is taken. */
void agent_call_at(const char *sock, const char *supervisor, const char *method, const char *path, json_t *body,
		   agent_cb cb, gpointer data);
void gateway_forget(const char *id);

/* sandbox.c */
/* One JSON log line: EVENT about sandbox ID (may be NULL), and a message. */
void log_event(const char *event, const char *id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
json_t *sandbox_json(const struct sandbox *s);
void sandbox_create(SoupServerMessage *msg, json_t *body);
void sandbox_pause(SoupServerMessage *msg, struct sandbox *s);
void sandbox_resume(SoupServerMessage *msg, struct sandbox *s);
int sandbox_kill(struct sandbox *s, const char *why);
void sandbox_touch(const char *id);
void sandbox_sweep(void);   /* expiry + dead keepers */
void sandbox_recover(void); /* after a restart: adopt the live ones, clean up the rest */
const char *sandbox_dir(const char *id, const char *sub, char *buf, size_t size);
/* Remove the sandbox's files and (empty) directories SUBS, in order; failures other than ENOENT are logged. */
void sandbox_remove(const char *id, const char *const *subs, size_t n);

/* The runtimes (rt_namespace.c, rt_vm.c). start may answer -EAGAIN: not
 * yet (a template still being prepared), ask again. resume starts the
 * sandbox again; the caller waits for its agent. adopt (may be NULL) takes
 * back a live sandbox after a hopxd restart. */
struct runtime {
	const char *name;
	int (*start)(struct sandbox *s, const char *image, json_t *template_manifest);
	int (*pause)(struct sandbox *s);
	int (*resume)(struct sandbox *s);
	int (*stop)(struct sandbox *s);     /* kill and free everything */
	bool (*alive)(const struct sandbox *s);
	int (*adopt)(struct sandbox *s);
};
extern const struct runtime rt_namespace, rt_vm;
const struct runtime *runtime_get(const char *name);
/* rt_vm.c: can this host run the vm runtime (KVM, hopx-vmm, the kernel)? */
bool vm_runtime_usable(void);
/* Start making the snapshots of the templates named in ONLY (a JSON array;
 * anything else: all of them) in the background; their states for /health. */
void vm_prepare_templates(json_t *only);
json_t *vm_templates_status(void);
/* relay.c: a Unix socket at LISTEN relayed to vsock PORT through a VMM's socket VSOCK. */
struct relay;
struct relay *relay_start(const char *listen_path, const char *vsock_path, unsigned int port);
void relay_stop(struct relay *r);

/* templates.c */
json_t *templates_list(void);                   /* new reference: array of manifests */
json_t *template_find(const char *name_or_id);  /* new reference, or NULL */
char *template_image(const char *name);         /* path of NAME.ext4, or NULL */

#endif
