/* hopxd's HTTP replies (reply.h), shared by the API, the gateway and the
 * lifecycle calls that answer later. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reply.h"

void reply_json(SoupServerMessage *msg, unsigned int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	if (!text) {
		text = strdup("{\"error\":\"internal error\",\"message\":\"internal error\",\"code\":\"INTERNAL\"}");
		status = 500;
	}
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, strlen(text));
	json_decref(body);
}

void reply_error(SoupServerMessage *msg, unsigned int status, const char *code, const char *fmt, ...)
{
	const char *rid = soup_message_headers_get_one(soup_server_message_get_response_headers(msg), "X-Request-ID");
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	reply_json(msg, status, json_pack("{s:s,s:s,s:s,s:s}", "error", text, "message", text, "code", code,
					  "request_id", rid ? rid : ""));
}
