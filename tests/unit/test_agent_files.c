/* hopx-agent's path confinement (guest/agent/files.c, path_confine):
 * request paths map into the agent's root; relative paths, ".." above the
 * root and symlinks leading out of it are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../guest/agent/agent.h"

struct agent agent; /* main.c's, which the tests do not link */

static char *root;

static int setup(void **state)
{
	char *p;

	(void)state;
	root = g_dir_make_tmp("agent-root-XXXXXX", NULL);
	if (!root)
		return -1;
	p = g_build_filename(root, "workspace", "sub", NULL);
	g_mkdir_with_parents(p, 0700);
	g_free(p);
	p = g_build_filename(root, "workspace", "out", NULL);
	if (symlink("/etc", p) < 0) /* out of the root */
		return -1;
	g_free(p);
	p = g_build_filename(root, "workspace", "in", NULL);
	if (symlink("sub", p) < 0) /* inside it */
		return -1;
	g_free(p);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", root);
	int rc = system(cmd);

	(void)state;
	g_free(cmd);
	g_free(root);
	return rc == 0 ? 0 : -1;
}

/* PATH confined to the test root: the result relative to it, or NULL. */
static char *confine(const char *path, const char **why)
{
	char *real = path_confine(root, path, why), *rel;

	if (!real)
		return NULL;
	assert_true(g_str_has_prefix(real, root));
	rel = g_strdup(real + strlen(root));
	g_free(real);
	return rel;
}

static void expect(const char *path, const char *want)
{
	const char *why = NULL;
	char *got = confine(path, &why);

	assert_non_null(got);
	assert_string_equal(got, want);
	g_free(got);
}

static void refused(const char *path, const char *reason)
{
	const char *why = NULL;
	char *got = confine(path, &why);

	assert_null(got);
	assert_non_null(why);
	assert_non_null(strstr(why, reason));
}

static void test_inside(void **state)
{
	(void)state;
	expect("/", ""); /* the root itself */
	expect("/workspace", "/workspace");
	expect("/workspace/sub/new.txt", "/workspace/sub/new.txt"); /* need not exist yet */
	expect("//workspace/./sub//", "/workspace/sub");
	expect("/workspace/sub/../x", "/workspace/x"); /* ".." inside the root is fine */
	expect("/a/b/c/../../..", "");
	expect("/workspace/in/file", "/workspace/in/file"); /* a symlink that stays inside */
}

static void test_not_absolute(void **state)
{
	(void)state;
	refused("workspace/x", "absolute");
	refused("", "absolute");
	refused(NULL, "absolute");
}

static void test_dotdot(void **state)
{
	(void)state;
	refused("/..", "leaves");
	refused("/../etc/passwd", "leaves");
	refused("/workspace/../../etc", "leaves");
	refused("/a/../../", "leaves");
}

static void test_symlinks(void **state)
{
	(void)state;
	refused("/workspace/out", "outside");
	refused("/workspace/out/passwd", "outside");
	refused("/workspace/out/new/deeper", "outside"); /* its deepest existing ancestor is out */
}

static void test_slash_root(void **state)
{
	const char *why = NULL;
	char *p = path_confine("/", "/etc/../tmp", &why);

	(void)state;
	/* root "/" (a VM): everything is inside, ".." above it still refused */
	assert_string_equal(p, "/tmp");
	g_free(p);
	assert_null(path_confine("/", "/../tmp", &why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
		cmocka_unit_test(test_slash_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
