/* MP table: signatures, checksums, one enabled processor entry per vCPU with
 * vCPU 0 as the BSP, the IOAPIC and 16 ISA interrupt routes. */
#include <errno.h>
#include <string.h>

#include "../../lib/layout.h"
#include "../../boot/mptable.h"
#include "test_helpers.h"

static void check_table(struct guest_mem *m, unsigned int ncpus)
{
	uint8_t *mpf = guest_mem_ptr(m, BOOT_MPTABLE_ADDR, 16);
	uint32_t physptr;
	uint16_t len, count;
	uint8_t *mpc, *cpu;

	assert_int_equal(mptable_write(m, ncpus), 0);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(mptable_sum(mpf, 16), 0);
	memcpy(&physptr, mpf + 4, 4);
	assert_int_equal(physptr, BOOT_MPTABLE_ADDR + 16);
	mpc = guest_mem_ptr(m, physptr, 44);
	assert_memory_equal(mpc, "PCMP", 4);
	memcpy(&len, mpc + 4, 2);
	memcpy(&count, mpc + 34, 2);
	assert_int_equal(mptable_sum(mpc, len), 0);
	assert_int_equal(count, ncpus + 1 + 1 + MPTABLE_IRQS + 2);
	assert_int_equal(len, 44 + ncpus * 20 + 8 + 8 + (MPTABLE_IRQS + 2) * 8);
	assert_true(BOOT_MPTABLE_ADDR + 16 + len <= BOOT_EBDA_END);
	cpu = mpc + 44;
	for (unsigned int i = 0; i < ncpus; i++, cpu += 20) {
		assert_int_equal(cpu[0], 0); /* processor entry */
		assert_int_equal(cpu[1], i); /* APIC ID */
		assert_int_equal(cpu[3], i == 0 ? 3 : 1); /* enabled, BSP */
	}
	assert_int_equal(cpu[0], 1);       /* bus */
	assert_memory_equal(cpu + 2, "ISA", 3);
	assert_int_equal(cpu[8], 2);       /* IOAPIC */
	assert_int_equal(cpu[9], ncpus);   /* its ID follows the CPUs' */
	for (unsigned int irq = 0; irq < MPTABLE_IRQS; irq++) {
		uint8_t *e = cpu + 16 + irq * 8;

		assert_int_equal(e[0], 3);
		assert_int_equal(e[5], irq);
		assert_int_equal(e[7], irq);
	}
}

static void test_one_cpu(void **state)
{
	check_table(*state, 1);
}

static void test_many_cpus(void **state)
{
	check_table(*state, 2);
	check_table(*state, GUEST_VCPUS_MAX);
}

static void test_bad_counts(void **state)
{
	assert_int_equal(mptable_write(*state, 0), -EINVAL);
	assert_int_equal(mptable_write(*state, GUEST_VCPUS_MAX + 1), -EINVAL);
}

static void test_checksum_detects_change(void **state)
{
	uint8_t *mpf = guest_mem_ptr(*state, BOOT_MPTABLE_ADDR, 16);

	assert_int_equal(mptable_write(*state, 2), 0);
	mpf[8]++;
	assert_int_not_equal(mptable_sum(mpf, 16), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_many_cpus),
		cmocka_unit_test(test_bad_counts),
		cmocka_unit_test(test_checksum_detects_change),
	};

	return cmocka_run_group_tests_name("mptable", tests, mem_setup, mem_teardown);
}
