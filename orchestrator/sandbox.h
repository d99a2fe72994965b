/* sandbox.c: the sandbox lifecycle: create (answered once the agent
 * answers), pause, resume, kill, the expiry sweep and recovery after a
 * restart; and the checks of lifecycle requests, pure so they can be
 * tested without a server. */
#ifndef HOPXD_SANDBOX_H
#define HOPXD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "registry.h"

/* Where the answer to a lifecycle call goes: the caller's request REQ
 * (api.c: an HTTP request) gets one json() or error() answer, at once or,
 * for a create or resume that waits for the agent, later: between hold()
 * and release(). The lifecycle itself speaks no HTTP. */
struct sandbox_answer {
	void (*json)(void *req, unsigned int status, json_t *body); /* takes BODY */
	void (*error)(void *req, unsigned int status, const char *code, const char *message);
	void (*hold)(void *req);
	void (*release)(void *req);
};

json_t *sandbox_json(const struct sandbox *s);
void sandbox_create(const struct sandbox_answer *a, void *req, json_t *body);
void sandbox_pause(const struct sandbox_answer *a, void *req, struct sandbox *s);
void sandbox_resume(const struct sandbox_answer *a, void *req, struct sandbox *s);
int sandbox_kill(struct sandbox *s, const char *why);
void sandbox_touch(const char *id);
void sandbox_sweep(void);   /* expiry + dead keepers */
void sandbox_recover(void); /* after a restart: adopt the live ones, clean up the rest */

/* --- request checks ---------------------------------------------------- */

/* A create request's fields (pointing into its body). */
struct create_request {
	const char *template_name;
	long long timeout_s;       /* 0: none given */
	bool internet;
	json_t *env;               /* an object of strings, or NULL */
};
/* Check a POST /v1/sandboxes BODY (may be NULL) into REQ: 0, or the HTTP
 * status to answer with *CODE and a message in WHY. */
unsigned int sandbox_parse_create(json_t *body, struct create_request *req, const char **code, char *why,
				  size_t size);
/* timeout_seconds: an integer from 1 to cfg.max_lifetime_s. */
bool sandbox_timeout_ok(json_t *t);
/* env_vars: absent, or an object of strings with names without '='. */
bool sandbox_env_ok(json_t *env);
/* An id hopxd may have given out: "sb_" and hex digits, shorter than struct sandbox's id. */
bool sandbox_id_ok(const char *id);

/* --- state transitions --------------------------------------------------- */

enum sandbox_action { SANDBOX_PAUSE, SANDBOX_RESUME };
enum sandbox_verdict {
	SANDBOX_GO,       /* legal: do it */
	SANDBOX_ALREADY,  /* already in the state asked for: answer as it is */
	SANDBOX_REFUSED,  /* illegal from this state: 409 */
};
enum sandbox_verdict sandbox_transition(const char *status, enum sandbox_action action);
/* A create or resume is still deciding this sandbox's fate (the sweep and recovery leave it be). */
bool sandbox_settling(const char *status);

#endif
