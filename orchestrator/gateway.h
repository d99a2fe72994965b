/* gateway.c: the Agent API of each sandbox under /sandbox/{id}/..., and
 * the WebSocket endpoints routed by a sandbox's bearer token. */
#ifndef HOPXD_GATEWAY_H
#define HOPXD_GATEWAY_H

#include <stdbool.h>
#include <libsoup/soup.h>

/* Forward MSG (for /sandbox/ID/REST) to sandbox ID's agent. */
void gateway_http(SoupServerMessage *msg, const char *id, const char *rest);
/* PATH is a WebSocket endpoint (its handler already answered). */
bool gateway_ws_path(const char *path);
void gateway_ws_register(SoupServer *server);

#endif
