/* i8042 model: status, command byte, self-tests and the reset line. */
#include <string.h>

#include "../../devices/i8042.h"
#include "test_helpers.h"

static int resets;
static struct i8042 kbc;

static void reset_cb(void *ctx)
{
	(void)ctx;
	resets++;
}

static int setup(void **state)
{
	(void)state;
	resets = 0;
	i8042_init(&kbc, reset_cb, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	i8042_destroy(&kbc);
	return 0;
}

static uint8_t command(uint8_t cmd)
{
	i8042_write(&kbc, I8042_CMD_PORT, cmd);
	return i8042_read(&kbc, I8042_CMD_PORT);
}

static void test_status_and_self_test(void **state)
{
	(void)state;
	assert_int_equal(i8042_read(&kbc, I8042_CMD_PORT) & I8042_STR_OBF, 0);
	assert_int_equal(i8042_read(&kbc, I8042_CMD_PORT) & I8042_STR_SYSFLAG, I8042_STR_SYSFLAG);
	assert_int_equal(command(I8042_CMD_SELF_TEST) & I8042_STR_OBF, I8042_STR_OBF);
	assert_int_equal(i8042_read(&kbc, I8042_DATA_PORT), 0x55);
	assert_int_equal(i8042_read(&kbc, I8042_CMD_PORT) & I8042_STR_OBF, 0);
	command(I8042_CMD_KBD_TEST);
	assert_int_equal(i8042_read(&kbc, I8042_DATA_PORT), 0x00);
}

static void test_command_byte(void **state)
{
	(void)state;
	command(I8042_CMD_WRITE_CTR);
	i8042_write(&kbc, I8042_DATA_PORT, 0x47);
	command(I8042_CMD_READ_CTR);
	assert_int_equal(i8042_read(&kbc, I8042_DATA_PORT), 0x47);
	command(I8042_CMD_KBD_DISABLE);
	command(I8042_CMD_READ_CTR);
	assert_int_equal(i8042_read(&kbc, I8042_DATA_PORT), 0x47 | I8042_CTR_KBDDIS);
	command(I8042_CMD_KBD_ENABLE);
	command(I8042_CMD_AUX_ENABLE);
	command(I8042_CMD_READ_CTR);
	assert_int_equal(i8042_read(&kbc, I8042_DATA_PORT), 0x47 & ~I8042_CTR_AUXDIS);
	assert_int_equal(resets, 0);
}

static void test_reset_line(void **state)
{
	(void)state;
	command(0xff); /* pulse nothing: bit 0 stays high */
	assert_int_equal(resets, 0);
	command(I8042_CMD_RESET);
	assert_int_equal(resets, 1);
	command(I8042_CMD_WRITE_OUTPORT);
	i8042_write(&kbc, I8042_DATA_PORT, 0x01); /* reset line high: nothing */
	assert_int_equal(resets, 1);
	command(I8042_CMD_WRITE_OUTPORT);
	i8042_write(&kbc, I8042_DATA_PORT, 0x00);
	assert_int_equal(resets, 2);
}

static void test_no_keyboard(void **state)
{
	(void)state;
	i8042_write(&kbc, I8042_DATA_PORT, 0xf4); /* "enable scanning" to a keyboard */
	assert_int_equal(i8042_read(&kbc, I8042_DATA_PORT), 0xfe);
	assert_int_equal(i8042_read(&kbc, 0x62), 0xff); /* not ours */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_and_self_test, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_keyboard, setup, teardown),
	};

	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
