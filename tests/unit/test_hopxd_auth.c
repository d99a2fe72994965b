/* hopxd's checks of who may call what (orchestrator/auth.c): API keys,
 * Authorization headers, sandbox access tokens (issued, verified, forged,
 * expired, another sandbox's). */
#include <errno.h>
#include <string.h>

#include "../../orchestrator/auth.h"
#include "../../orchestrator/util.h"
#include "hopxd_test.h"

static int auth_setup(void **state)
{
	if (hopxd_setup(state))
		return -1;
	g_ptr_array_add(cfg.api_keys, "key-one-12345");
	g_ptr_array_add(cfg.api_keys, "key-two-67890");
	return 0;
}

static void test_api_keys(void **state)
{
	(void)state;
	assert_true(api_key_valid("key-one-12345"));
	assert_true(api_key_valid("key-two-67890"));
	assert_false(api_key_valid(NULL));
	assert_false(api_key_valid(""));
	assert_false(api_key_valid("key-one-1234"));   /* a prefix */
	assert_false(api_key_valid("key-one-123456")); /* longer */
	assert_false(api_key_valid("KEY-ONE-12345"));
	assert_false(api_key_valid("key-one-12346"));
}

static void test_secret_equal(void **state)
{
	(void)state;
	assert_true(secret_equal("abc", "abc"));
	assert_false(secret_equal("abd", "abc"));
	assert_false(secret_equal("ab", "abc"));
	assert_false(secret_equal("abcd", "abc"));
	assert_false(secret_equal("", "abc"));
	assert_true(secret_equal("", ""));
}

static void test_bearer_header(void **state)
{
	(void)state;
	assert_string_equal(bearer_token("Bearer abc"), "abc");
	assert_string_equal(bearer_token("bearer abc"), "abc");
	assert_null(bearer_token("Basic abc"));
	assert_null(bearer_token("Bearer"));
	assert_null(bearer_token(NULL));
}

static void test_token_issue_verify(void **state)
{
	long long expires;
	char *token = token_issue("sb_aa", &expires), id[40];

	(void)state;
	assert_non_null(token);
	assert_true(g_str_has_prefix(token, ACCESS_TOKEN_PREFIX));
	assert_true(expires >= now_s() + cfg.token_ttl_s - 5);
	assert_int_equal(token_sandbox(token, id, sizeof(id)), 0);
	assert_string_equal(id, "sb_aa");
	g_free(token);
}

static void test_token_forged(void **state)
{
	long long expires;
	char *token = token_issue("sb_aa", &expires), id[40];
	char *forged = g_strdup(token);
	char *random = random_token(ACCESS_TOKEN_PREFIX, 24);

	(void)state;
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
	assert_int_equal(token_sandbox(forged, id, sizeof(id)), -ENOENT);
	assert_int_equal(token_sandbox(random, id, sizeof(id)), -ENOENT);
	assert_int_equal(token_sandbox("", id, sizeof(id)), -ENOENT);
	assert_int_equal(token_sandbox(NULL, id, sizeof(id)), -ENOENT);
	/* the hash is stored, never the token: the hash itself opens nothing */
	{
		char *hash = token_hash(token);

		assert_int_equal(token_sandbox(hash, id, sizeof(id)), -ENOENT);
		g_free(hash);
	}
	g_free(random);
	g_free(forged);
	g_free(token);
}

static void test_token_expired(void **state)
{
	long long expires;
	char *token, id[40];

	(void)state;
	cfg.token_ttl_s = -1;
	token = token_issue("sb_aa", &expires);
	assert_non_null(token);
	assert_int_equal(token_sandbox(token, id, sizeof(id)), -ENOENT);
	cfg.token_ttl_s = 86400;
	g_free(token);
}

static void test_may_call(void **state)
{
	long long expires;
	char *ta = token_issue("sb_aa", &expires), *tb = token_issue("sb_bb", &expires);
	char *ha = g_strconcat("Bearer ", ta, NULL), *hb = g_strconcat("Bearer ", tb, NULL);

	(void)state;
	assert_true(may_call(ha, NULL, "sb_aa"));
	assert_true(may_call(hb, NULL, "sb_bb"));
	/* another sandbox's token opens nothing here */
	assert_false(may_call(hb, NULL, "sb_aa"));
	assert_false(may_call(ha, NULL, "sb_bb"));
	/* the token without "Bearer", and no credentials at all */
	assert_false(may_call(ta, NULL, "sb_aa"));
	assert_false(may_call(NULL, NULL, "sb_aa"));
	/* an API key opens any sandbox (what the SDK sends before it has a token) */
	assert_true(may_call(NULL, "key-two-67890", "sb_aa"));
	assert_true(may_call(hb, "key-one-12345", "sb_aa"));
	assert_false(may_call(NULL, "key-two-6789", "sb_aa"));
	assert_false(may_call("Bearer key-one-12345", NULL, "sb_aa"));
	g_free(ha);
	g_free(hb);
	g_free(ta);
	g_free(tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_api_keys, auth_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_secret_equal, auth_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_bearer_header, auth_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_token_issue_verify, auth_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_token_forged, auth_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_token_expired, auth_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_may_call, auth_setup, hopxd_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
