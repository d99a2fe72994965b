/* agent_client.c: hopxd's HTTP client of the sandboxes' agents, on their
 * Unix sockets (one libsoup session per socket). */
#ifndef HOPXD_AGENT_CLIENT_H
#define HOPXD_AGENT_CLIENT_H

#include <jansson.h>
#include <libsoup/soup.h>

#include "registry.h"

/* A new supervisor token for an agent (g_free it): what hopxd calls it
 * with; it never leaves hopxd. */
char *supervisor_token_new(void);
/* The session to sandbox ID's agent (SBX_AGENT_SOCK). */
SoupSession *agent_session(const char *id);
/* Drop sandbox ID's session (it has gone). */
void agent_forget(const char *id);
/* An HTTP request to sandbox S's agent with its supervisor token: BODY
 * may be NULL and is taken; the callback gets the status (0: not
 * reachable) and the parsed JSON body (may be NULL). */
typedef void (*agent_cb)(unsigned int status, json_t *body, gpointer data);
void agent_call(const struct sandbox *s, const char *method, const char *path, json_t *body, agent_cb cb,
		gpointer data);
/* The same for an agent on socket SOCK (a template VM being prepared). BODY is taken. */
void agent_call_at(const char *sock, const char *supervisor, const char *method, const char *path, json_t *body,
		   agent_cb cb, gpointer data);

#endif
