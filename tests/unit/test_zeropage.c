/* Zero page, e820 map, command line, initrd placement and the RNG seed
 * setup_data entry. */
#include <errno.h>
#include <string.h>

#include "../../boot/kernel.h"
#include "../../lib/layout.h"
#include "../../boot/zeropage.h"
#include "test_helpers.h"

static struct kernel_image vmlinux(void)
{
	struct kernel_image k;

	memset(&k, 0, sizeof(k));
	k.entry = 0x1000000;
	k.load_start = 0x1000000;
	k.load_end = 0x2000000;
	k.initrd_addr_max = 0x7fffffff;
	return k;
}

static void test_e820_small_guest(void **state)
{
	struct guest_mem *m = *state;
	struct boot_e820_entry t[8];
	unsigned int n = e820_build(m, t, 8);

	assert_int_equal(n, 3);
	assert_int_equal(t[0].addr, 0);
	assert_int_equal(t[0].size, BOOT_MPTABLE_ADDR);
	assert_int_equal(t[0].type, 1);
	assert_int_equal(t[1].addr, BOOT_MPTABLE_ADDR);
	assert_int_equal(t[1].type, 2);
	assert_int_equal(t[2].addr, BOOT_HIMEM_START);
	assert_int_equal(t[2].addr + t[2].size, (uint64_t)TEST_MEM_MIB << 20);
	assert_int_equal(t[2].type, 1);
}

static void test_e820_splits_around_mmio_gap(void **state)
{
	struct guest_mem big;
	struct boot_e820_entry t[8];
	unsigned int n;

	(void)state;
	assert_int_equal(guest_mem_init(&big, 4096ULL << 20), 0); /* 4 GiB: some of it above the gap */
	n = e820_build(&big, t, 8);
	assert_int_equal(n, 4);
	assert_int_equal(t[2].addr + t[2].size, MMIO_GAP_START);
	assert_int_equal(t[3].addr, MMIO_GAP_END);
	assert_int_equal(t[3].size, (4096ULL << 20) - MMIO_GAP_START);
	assert_int_equal(guest_mem_end(&big), MMIO_GAP_END + t[3].size);
	assert_null(guest_mem_ptr(&big, MMIO_GAP_START, 1)); /* the gap is not RAM */
	assert_non_null(guest_mem_ptr(&big, MMIO_GAP_END, 4096));
	assert_null(guest_mem_ptr(&big, MMIO_GAP_START - 4096, 8192)); /* straddles into the gap */
	/* Truncated tables never overrun. */
	assert_int_equal(e820_build(&big, t, 2), 2);
	guest_mem_free(&big);
}

static void test_initrd_placed_high_and_aligned(void **state)
{
	struct guest_mem *m = *state;
	struct kernel_image k = vmlinux();
	uint64_t gpa = 0;

	assert_int_equal(initrd_place(m, &k, 12345, &gpa), 0);
	assert_int_equal(gpa % 4096, 0);
	assert_true(gpa + 12345 <= (uint64_t)TEST_MEM_MIB << 20);
	assert_true(gpa + 12345 + 4096 > (uint64_t)TEST_MEM_MIB << 20); /* as high as it goes */
	k.initrd_addr_max = 0x2ffffff;
	assert_int_equal(initrd_place(m, &k, 4096, &gpa), 0);
	assert_int_equal(gpa, 0x3000000 - 4096);
}

static void test_initrd_too_big(void **state)
{
	struct kernel_image k = vmlinux();
	uint64_t gpa;

	assert_int_equal(initrd_place(*state, &k, (uint64_t)TEST_MEM_MIB << 20, &gpa), -E2BIG);
	/* fits in RAM, but not above the kernel */
	assert_int_equal(initrd_place(*state, &k, ((uint64_t)TEST_MEM_MIB << 20) - 0x1000000, &gpa), -E2BIG);
	assert_int_equal(initrd_place(*state, &k, 0, &gpa), -E2BIG);
}

static void test_zero_page_contents(void **state)
{
	struct guest_mem *m = *state;
	struct kernel_image k = vmlinux();
	uint8_t seed[BOOT_RNG_SEED_LEN];
	struct boot_setup b = { .cmdline = "console=ttyS0 quiet", .initrd_gpa = 0x3000000,
				.initrd_size = 0x1234, .rng_seed = seed };
	struct boot_params *bp = guest_mem_ptr(m, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	struct setup_data *sd;

	for (int i = 0; i < BOOT_RNG_SEED_LEN; i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(zeropage_write(m, &k, &b), 0);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)guest_mem_ptr(m, BOOT_CMDLINE_ADDR, 32), "console=ttyS0 quiet");
	assert_int_equal(bp->hdr.ramdisk_image, 0x3000000);
	assert_int_equal(bp->hdr.ramdisk_size, 0x1234);
	assert_int_equal(bp->e820_entries, 3);
	assert_int_equal(bp->hdr.setup_data, BOOT_SETUP_DATA_ADDR);
	sd = guest_mem_ptr(m, BOOT_SETUP_DATA_ADDR, sizeof(*sd) + BOOT_RNG_SEED_LEN);
	assert_int_equal(sd->type, SETUP_RNG_SEED);
	assert_int_equal(sd->len, BOOT_RNG_SEED_LEN);
	assert_int_equal(sd->next, 0);
	assert_memory_equal(sd->data, seed, BOOT_RNG_SEED_LEN);
}

static void test_bzimage_header_kept(void **state)
{
	struct kernel_image k = vmlinux();
	struct boot_setup b = { .cmdline = "x" };
	struct boot_params *bp = guest_mem_ptr(*state, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));

	k.bzimage = true;
	k.hdr.version = 0x020f;
	k.hdr.init_size = 0x777000;
	k.hdr.cmdline_size = 2047;
	assert_int_equal(zeropage_write(*state, &k, &b), 0);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.init_size, 0x777000);
	assert_int_equal(bp->hdr.setup_data, 0); /* no seed given, no chain */
	assert_int_equal(bp->hdr.ramdisk_size, 0);
}

static void test_cmdline_too_long(void **state)
{
	struct kernel_image k = vmlinux();
	char longline[KERNEL_CMDLINE_MAX + 1];
	struct boot_setup b = { .cmdline = longline };

	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(zeropage_write(*state, &k, &b), -E2BIG);
	/* A bzImage's own cmdline_size limit applies too. */
	longline[100] = '\0';
	k.bzimage = true;
	k.hdr.version = 0x020f;
	k.hdr.cmdline_size = 50;
	assert_int_equal(zeropage_write(*state, &k, &b), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small_guest),
		cmocka_unit_test(test_e820_splits_around_mmio_gap),
		cmocka_unit_test(test_initrd_placed_high_and_aligned),
		cmocka_unit_test(test_initrd_too_big),
		cmocka_unit_test(test_zero_page_contents),
		cmocka_unit_test(test_bzimage_header_kept),
		cmocka_unit_test(test_cmdline_too_long),
	};

	return cmocka_run_group_tests_name("zeropage", tests, mem_setup, mem_teardown);
}
