/* The agent's global environment (GET/PUT/PATCH /env) and the environment
 * each child gets: the agent's own < the /env globals < the request's "env"
 * (hopx-api.md §3.4: PUT replaces the set, PATCH with merge merges). */
#include <string.h>

#include "agent.h"

extern char **environ;

void env_init(void)
{
	agent.env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static json_t *env_json(void)
{
	json_t *o = json_object();
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, agent.env);
	while (g_hash_table_iter_next(&it, &k, &v))
		json_object_set_new(o, k, json_string(v));
	return o;
}

/* Valid: a name without '=' or NUL, a string value. */
static bool check_vars(SoupServerMessage *msg, json_t *vars)
{
	const char *k;
	json_t *v;

	if (!json_is_object(vars)) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'env_vars' must be an object of strings");
		return false;
	}
	json_object_foreach(vars, k, v) {
		if (!*k || strchr(k, '=') || !json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			reply_error(msg, 400, "INVALID_REQUEST", NULL, "env var '%s': names without '=', string values", k);
			return false;
		}
	}
	return true;
}

void route_env(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest)
{
	const char *method = soup_server_message_get_method(msg);
	json_t *vars = body ? json_object_get(body, "env_vars") : NULL;
	const char *k;
	json_t *v;

	(void)query;
	(void)rest;
	if (strcmp(method, "GET") == 0) {
		reply_json(msg, 200, json_pack("{s:o}", "env_vars", env_json()));
		return;
	}
	if (strcmp(method, "PUT") != 0 && strcmp(method, "PATCH") != 0) {
		reply_error(msg, 405, "METHOD_NOT_ALLOWED", NULL, "%s /env: use GET, PUT or PATCH", method);
		return;
	}
	if (!check_vars(msg, vars))
		return;
	if (strcmp(method, "PUT") == 0)
		g_hash_table_remove_all(agent.env);
	json_object_foreach(vars, k, v)
		g_hash_table_replace(agent.env, g_strdup(k), g_strdup(json_string_value(v)));
	reply_json(msg, 200, json_pack("{s:o}", "env_vars", env_json()));
}

char **env_for_child(json_t *req)
{
	char **env = g_get_environ();
	GHashTableIter it;
	gpointer k, v;
	const char *rk;
	json_t *rv;

	g_hash_table_iter_init(&it, agent.env);
	while (g_hash_table_iter_next(&it, &k, &v))
		env = g_environ_setenv(env, k, v, TRUE);
	if (json_is_object(req))
		json_object_foreach(req, rk, rv)
			if (json_is_string(rv) && *rk && !strchr(rk, '='))
				env = g_environ_setenv(env, rk, json_string_value(rv), TRUE);
	return env;
}
