/* PIO/MMIO bus: registration, overlap refusal, lookup with offsets. */
#include <errno.h>
#include <string.h>

#include "../../devices/bus.h"
#include "test_helpers.h"

static const struct bus_ops a_ops = { .name = "a" }, b_ops = { .name = "b" };

static void test_add_and_find(void **state)
{
	struct bus bus;
	uint64_t off = 99;
	int cookie;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(bus_add(&bus, 0x3f8, 8, &a_ops, &cookie), 0);
	assert_int_equal(bus_add(&bus, 0x60, 5, &b_ops, NULL), 0);
	assert_ptr_equal(bus_find(&bus, 0x3fd, 1, &off)->ops, &a_ops);
	assert_int_equal(off, 5);
	assert_ptr_equal(bus_find(&bus, 0x3f8, 1, &off)->opaque, &cookie);
	assert_null(bus_find(&bus, 0x3ff, 2, &off)); /* runs past the end */
	assert_null(bus_find(&bus, 0x400, 1, &off));
	assert_ptr_equal(bus_find(&bus, 0x64, 1, &off)->ops, &b_ops);
	assert_null(bus_find(&bus, UINT64_MAX, 8, &off));
}

static void test_overlap_and_full(void **state)
{
	struct bus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(bus_add(&bus, 0x1000, 0x100, &a_ops, NULL), 0);
	assert_int_equal(bus_add(&bus, 0x10ff, 1, &b_ops, NULL), -EEXIST);
	assert_int_equal(bus_add(&bus, 0xf00, 0x101, &b_ops, NULL), -EEXIST);
	assert_int_equal(bus_add(&bus, 0x1100, 1, &b_ops, NULL), 0);
	for (unsigned int i = bus.count; i < BUS_MAX_DEVS; i++)
		assert_int_equal(bus_add(&bus, 0x10000 + i * 0x10, 0x10, &a_ops, NULL), 0);
	assert_int_equal(bus_add(&bus, 0x90000, 1, &a_ops, NULL), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_find),
		cmocka_unit_test(test_overlap_and_full),
	};

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
