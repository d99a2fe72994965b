/* hopxd's registry (orchestrator/registry.c) on SQLite in a temporary
 * directory: insert, get, list with a cursor and a status filter, a state
 * update, delete, and the token hashes. */
#include <errno.h>
#include <string.h>

#include "hopxd_test.h"

static void test_put_get_roundtrip(void **state)
{
	struct sandbox in, out;

	(void)state;
	sample_sandbox(&in, "sb_00aa", "running");
	assert_int_equal(registry_put(&in), 0);
	memset(&out, 0x55, sizeof(out));
	assert_int_equal(registry_get("sb_00aa", &out), 0);
	assert_string_equal(out.id, "sb_00aa");
	assert_string_equal(out.template_name, "code-interpreter");
	assert_string_equal(out.status, "running");
	assert_string_equal(out.runtime, "namespace");
	assert_string_equal(out.supervisor, "hopx_sv_0123456789abcdef");
	assert_int_equal(out.created_at, 1000);
	assert_int_equal(out.expires_at, 2000);
	assert_int_equal(out.last_active, 1500);
	assert_int_equal(out.timeout_s, 600);
	assert_int_equal(out.keeper_pid, 4242);
	assert_true(out.keeper_start == 123456789ull);
	assert_int_equal(out.vcpu, 2);
	assert_int_equal(out.memory_mb, 512);
	assert_int_equal(out.disk_mb, 2048);
	assert_true(out.internet);
	assert_int_equal(registry_count(), 1);
}

static void test_get_missing(void **state)
{
	struct sandbox out;

	(void)state;
	assert_int_equal(registry_get("sb_nothere", &out), -ENOENT);
}

static void test_update_state(void **state)
{
	struct sandbox s, out;

	(void)state;
	sample_sandbox(&s, "sb_00bb", "creating");
	assert_int_equal(registry_put(&s), 0);
	g_strlcpy(s.status, "paused", sizeof(s.status));
	s.keeper_pid = 0;
	assert_int_equal(registry_put(&s), 0); /* a put replaces: still one row */
	assert_int_equal(registry_count(), 1);
	assert_int_equal(registry_get("sb_00bb", &out), 0);
	assert_string_equal(out.status, "paused");
	assert_int_equal(out.keeper_pid, 0);
}

static void test_list_cursor(void **state)
{
	static const char *const ids[] = { "sb_05", "sb_01", "sb_04", "sb_02", "sb_03" };
	struct sandbox s, *list;
	char cursor[40] = "";
	bool more;
	int n;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
		sample_sandbox(&s, ids[i], i % 2 ? "paused" : "running");
		assert_int_equal(registry_put(&s), 0);
	}
	/* pages of 2, in id order */
	assert_int_equal(registry_list("", cursor, 2, &list, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_string_equal(list[0].id, "sb_01");
	assert_string_equal(list[1].id, "sb_02");
	g_strlcpy(cursor, list[1].id, sizeof(cursor));
	g_free(list);
	assert_int_equal(registry_list("", cursor, 2, &list, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_string_equal(list[0].id, "sb_03");
	assert_string_equal(list[1].id, "sb_04");
	g_strlcpy(cursor, list[1].id, sizeof(cursor));
	g_free(list);
	assert_int_equal(registry_list("", cursor, 2, &list, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_false(more);
	assert_string_equal(list[0].id, "sb_05");
	g_free(list);
	/* exactly a page left: no "more" */
	assert_int_equal(registry_list("", "sb_03", 2, &list, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_false(more);
	g_free(list);
	/* a status filter: sb_01 and sb_02 were put as paused */
	assert_int_equal(registry_list("paused", "", 10, &list, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_false(more);
	assert_string_equal(list[0].id, "sb_01");
	assert_string_equal(list[1].id, "sb_02");
	assert_string_equal(list[0].status, "paused");
	g_free(list);
}

static void test_delete_and_tokens(void **state)
{
	struct sandbox s, out;
	char id[40];

	(void)state;
	sample_sandbox(&s, "sb_00cc", "running");
	assert_int_equal(registry_put(&s), 0);
	assert_int_equal(registry_add_token("sb_00cc", "hash-live", 4102444800LL), 0); /* 2100 */
	assert_int_equal(registry_add_token("sb_00cc", "hash-old", 1), 0);               /* expired */
	assert_int_equal(registry_token_sandbox("hash-live", id, sizeof(id)), 0);
	assert_string_equal(id, "sb_00cc");
	assert_int_equal(registry_token_sandbox("hash-old", id, sizeof(id)), -ENOENT);
	assert_int_equal(registry_token_sandbox("hash-unknown", id, sizeof(id)), -ENOENT);
	assert_int_equal(registry_delete("sb_00cc"), 0);
	assert_int_equal(registry_get("sb_00cc", &out), -ENOENT);
	/* its tokens went with it */
	assert_int_equal(registry_token_sandbox("hash-live", id, sizeof(id)), -ENOENT);
	assert_int_equal(registry_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_roundtrip, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_get_missing, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_update_state, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_list_cursor, hopxd_setup, hopxd_teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_tokens, hopxd_setup, hopxd_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
