/* hopx-agent's child environments (guest/agent/env.c, env_for_child):
 * the request's "env" over the /env globals over the agent's own
 * environment (hopx-api.md §3.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../guest/agent/agent.h"

struct agent agent; /* main.c's, which the tests do not link */

static int setup(void **state)
{
	(void)state;
	env_init();
	setenv("HOPX_T_ALL", "agent", 1);
	setenv("HOPX_T_AGENT_ONLY", "agent", 1);
	unsetenv("HOPX_T_REQ_ONLY");
	g_hash_table_replace(agent.env, g_strdup("HOPX_T_ALL"), g_strdup("global"));
	g_hash_table_replace(agent.env, g_strdup("HOPX_T_GLOBAL"), g_strdup("global"));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	g_hash_table_destroy(agent.env);
	agent.env = NULL;
	return 0;
}

static void test_precedence(void **state)
{
	json_t *req = json_pack("{s:s,s:s,s:s}", "HOPX_T_ALL", "request", "HOPX_T_GLOBAL", "request",
				"HOPX_T_REQ_ONLY", "request");
	char **env = env_for_child(req);

	(void)state;
	assert_string_equal(g_environ_getenv(env, "HOPX_T_ALL"), "request");
	assert_string_equal(g_environ_getenv(env, "HOPX_T_GLOBAL"), "request");
	assert_string_equal(g_environ_getenv(env, "HOPX_T_REQ_ONLY"), "request");
	assert_string_equal(g_environ_getenv(env, "HOPX_T_AGENT_ONLY"), "agent");
	g_strfreev(env);
	json_decref(req);
}

static void test_globals_over_agent(void **state)
{
	char **env = env_for_child(NULL);

	(void)state;
	assert_string_equal(g_environ_getenv(env, "HOPX_T_ALL"), "global");
	assert_string_equal(g_environ_getenv(env, "HOPX_T_GLOBAL"), "global");
	assert_string_equal(g_environ_getenv(env, "HOPX_T_AGENT_ONLY"), "agent");
	assert_null(g_environ_getenv(env, "HOPX_T_REQ_ONLY"));
	g_strfreev(env);
}

static void test_bad_request_vars_skipped(void **state)
{
	json_t *req = json_pack("{s:i,s:s,s:s,s:n}", "HOPX_T_ALL", 5, "A=B", "x", "", "x", "HOPX_T_GLOBAL");
	char **env = env_for_child(req);

	(void)state;
	/* a non-string value leaves the lower layer's; bad names are dropped */
	assert_string_equal(g_environ_getenv(env, "HOPX_T_ALL"), "global");
	assert_string_equal(g_environ_getenv(env, "HOPX_T_GLOBAL"), "global");
	for (char **e = env; *e; e++) {
		assert_false(g_str_has_prefix(*e, "A=B="));
		assert_false((*e)[0] == '=');
	}
	g_strfreev(env);
	json_decref(req);
}

static void test_not_an_object(void **state)
{
	json_t *req = json_pack("[s]", "HOPX_T_ALL=request");
	char **env = env_for_child(req);

	(void)state;
	assert_string_equal(g_environ_getenv(env, "HOPX_T_ALL"), "global");
	g_strfreev(env);
	json_decref(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_globals_over_agent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_request_vars_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_an_object, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
