/* Console line scanner: boot marks and terminal events in the kernel log. */
#include <string.h>

#include "../../vmm/console.h"
#include "test_helpers.h"

static enum console_event feed(struct console_scanner *sc, const char *s, char *line, size_t size)
{
	enum console_event ev = CONSOLE_EV_NONE, e;

	for (; *s; s++) {
		e = console_scan(sc, (uint8_t)*s, line, size);
		if (e != CONSOLE_EV_NONE)
			ev = e;
	}
	return ev;
}

static void test_marks(void **state)
{
	struct console_scanner sc = { 0 };
	char line[128];

	(void)state;
	assert_int_equal(feed(&sc, "[    1.0] Linux version 6.1\r\n", line, sizeof(line)), CONSOLE_EV_NONE);
	assert_int_equal(feed(&sc, "[   26.8] Run /init as init process\r\n", line, sizeof(line)),
			 CONSOLE_EV_RUN_INIT);
	assert_string_equal(line, "[   26.8] Run /init as init process");
	assert_int_equal(feed(&sc, "[ 1.2] Kernel panic - not syncing: VFS: no root\n", line, sizeof(line)),
			 CONSOLE_EV_PANIC);
	assert_int_equal(feed(&sc, "[ 9.9] reboot: Power down\n", NULL, 0), CONSOLE_EV_POWER_OFF);
	assert_int_equal(feed(&sc, "[ 9.9] reboot: System halted\n", NULL, 0), CONSOLE_EV_HALTED);
}

static void test_mark_needs_whole_line(void **state)
{
	struct console_scanner sc = { 0 };

	(void)state;
	/* No event until the line ends. */
	assert_int_equal(feed(&sc, "Run /init as init process", NULL, 0), CONSOLE_EV_NONE);
	assert_int_equal(feed(&sc, "\n", NULL, 0), CONSOLE_EV_RUN_INIT);
	/* Split across lines: no match. */
	assert_int_equal(feed(&sc, "Run /init as\ninit process\n", NULL, 0), CONSOLE_EV_NONE);
}

static void test_long_lines(void **state)
{
	struct console_scanner sc = { 0 };
	char big[1000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(feed(&sc, big, NULL, 0), CONSOLE_EV_NONE);
	assert_int_equal(feed(&sc, "\nKernel panic - not syncing: x\n", NULL, 0), CONSOLE_EV_PANIC);
	/* A mark past the kept prefix of an over-long line is not seen (by design). */
	assert_int_equal(feed(&sc, big, NULL, 0), CONSOLE_EV_NONE);
	assert_int_equal(feed(&sc, "Run /init as init process\n", NULL, 0), CONSOLE_EV_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_mark_needs_whole_line),
		cmocka_unit_test(test_long_lines),
	};

	return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
