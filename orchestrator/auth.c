/* hopxd's checks of API keys and sandbox access tokens (auth.h). */
#include <errno.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "registry.h"
#include "util.h"

bool api_key_valid(const char *key)
{
	bool ok = false;

	for (guint i = 0; key && i < cfg.api_keys->len; i++)
		ok |= secret_equal(key, g_ptr_array_index(cfg.api_keys, i));
	return ok;
}

bool api_key_ok(SoupServerMessage *msg)
{
	return api_key_valid(soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "X-API-Key"));
}

const char *bearer_token(const char *h)
{
	if (!h || g_ascii_strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	return h + 7;
}

char *token_issue(const char *id, long long *expires)
{
	char *token = random_token(ACCESS_TOKEN_PREFIX, 24), *hash = token_hash(token);

	*expires = now_s() + cfg.token_ttl_s;
	if (registry_add_token(id, hash, *expires)) {
		g_free(token);
		token = NULL;
	}
	g_free(hash);
	return token;
}

int token_sandbox(const char *token, char *id, size_t size)
{
	char *hash;
	int err;

	if (!token)
		return -ENOENT;
	hash = token_hash(token);
	err = registry_token_sandbox(hash, id, size);
	g_free(hash);
	return err;
}

bool bearer_sandbox(SoupServerMessage *msg, char *id, size_t size)
{
	const char *h = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");

	return token_sandbox(bearer_token(h), id, size) == 0;
}

bool may_call(const char *authorization, const char *api_key, const char *id)
{
	char owner[40] = "";

	return (token_sandbox(bearer_token(authorization), owner, sizeof(owner)) == 0 && strcmp(owner, id) == 0) ||
	       api_key_valid(api_key);
}

bool may_call_sandbox(SoupServerMessage *msg, const char *id)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);

	return may_call(soup_message_headers_get_one(h, "Authorization"), soup_message_headers_get_one(h, "X-API-Key"),
			id);
}
