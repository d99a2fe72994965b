/* Kernel command line additions: at the end, or before " -- " (init's args). */
#include <errno.h>
#include <string.h>

#include "../../boot/cmdline.h"
#include "test_helpers.h"

static void test_append(void **state)
{
	char c[64] = "console=ttyS0";

	(void)state;
	assert_int_equal(cmdline_add(c, sizeof(c), "a=1"), 0);
	assert_string_equal(c, "console=ttyS0 a=1");
	c[0] = '\0';
	assert_int_equal(cmdline_add(c, sizeof(c), "b=2"), 0);
	assert_string_equal(c, "b=2");
}

static void test_before_init_args(void **state)
{
	char c[96] = "console=ttyS0 init=/sbin/x -- --listen vsock:7777";

	(void)state;
	assert_int_equal(cmdline_add(c, sizeof(c), "hopx.genid=d0000100:3"), 0);
	assert_string_equal(c, "console=ttyS0 init=/sbin/x hopx.genid=d0000100:3 -- --listen vsock:7777");
	assert_int_equal(cmdline_add(c, sizeof(c), "v=1"), 0);
	assert_string_equal(c, "console=ttyS0 init=/sbin/x hopx.genid=d0000100:3 v=1 -- --listen vsock:7777");
	strcpy(c, "-- only init");
	assert_int_equal(cmdline_add(c, sizeof(c), "k=1"), 0);
	assert_string_equal(c, "k=1 -- only init");
}

static void test_too_long(void **state)
{
	char c[12] = "0123456789";

	(void)state;
	assert_int_equal(cmdline_add(c, sizeof(c), "x"), -E2BIG);
	assert_string_equal(c, "0123456789");
	assert_int_equal(cmdline_add(c, sizeof(c) + 0, ""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_before_init_args),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
