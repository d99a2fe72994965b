/* reply.c: hopxd's HTTP replies: JSON (takes BODY's reference) and errors
 * in HopX's shape {"error","message","code","request_id"} (hopx-api.md §4.2). */
#ifndef HOPXD_REPLY_H
#define HOPXD_REPLY_H

#include <jansson.h>
#include <libsoup/soup.h>

void reply_json(SoupServerMessage *msg, unsigned int status, json_t *body);
void reply_error(SoupServerMessage *msg, unsigned int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
