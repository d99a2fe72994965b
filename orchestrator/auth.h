/* auth.c: who may call what. API keys (X-API-Key, compared in constant
 * time with each configured key) and the sandboxes' access tokens (issued
 * here, only their hashes kept in the registry; a token opens its own
 * sandbox's agent and no other). */
#ifndef HOPXD_AUTH_H
#define HOPXD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <libsoup/soup.h>

#define ACCESS_TOKEN_PREFIX "hopx_at_"     /* what the SDK gets for a sandbox */

/* KEY (may be NULL) is one of cfg.api_keys. */
bool api_key_valid(const char *key);
/* MSG's X-API-Key is. */
bool api_key_ok(SoupServerMessage *msg);
/* The token of an Authorization header "Bearer TOKEN" (any case), or NULL. */
const char *bearer_token(const char *authorization);
/* A new access token for sandbox ID (g_free it), valid cfg.token_ttl_s from
 * now (*expires); NULL if the registry failed. */
char *token_issue(const char *id, long long *expires);
/* The sandbox TOKEN was issued for, if unexpired, into ID; -ENOENT. */
int token_sandbox(const char *token, char *id, size_t size);
/* The sandbox MSG's bearer token was issued for. */
bool bearer_sandbox(SoupServerMessage *msg, char *id, size_t size);
/* A caller with these headers (each may be NULL) may call sandbox ID's
 * agent: its Authorization carries a token issued for ID, or its
 * X-API-Key is valid. */
bool may_call(const char *authorization, const char *api_key, const char *id);
/* The same for MSG's headers. */
bool may_call_sandbox(SoupServerMessage *msg, const char *id);

#endif
