/* bzImage loader: protocol checks, payload placement at the preferred
 * address, 64-bit entry at +0x200, and rejection of malformed images. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../boot/kernel.h"
#include "test_helpers.h"

#define SETUP_SECTS 4
#define PAYLOAD 0x1000
#define IMG_SIZE ((SETUP_SECTS + 1) * 512 + PAYLOAD)

static uint8_t img[IMG_SIZE];

static struct setup_header *hdr(void)
{
	return (struct setup_header *)(img + 0x1f1);
}

static void make_image(void)
{
	struct setup_header *h = hdr();

	memset(img, 0, sizeof(img));
	h->setup_sects = SETUP_SECTS;
	h->boot_flag = 0xaa55;
	h->jump = 0x66eb; /* header length from byte 0x201 = 0x66 */
	h->header = 0x53726448;
	h->version = 0x020f;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->relocatable_kernel = 1;
	h->kernel_alignment = 0x200000;
	h->pref_address = 0x1000000;
	h->init_size = 0x100000;
	h->syssize = PAYLOAD / 16;
	h->initrd_addr_max = 0x7fffffff;
	h->cmdline_size = 2047;
	for (size_t i = (SETUP_SECTS + 1) * 512; i < IMG_SIZE; i++)
		img[i] = (uint8_t)i;
}

static void test_valid_bzimage(void **state)
{
	struct guest_mem *m = *state;
	struct kernel_image k;

	make_image();
	assert_true(is_bzimage(img, sizeof(img)));
	assert_int_equal(kernel_load(m, img, sizeof(img), &k), 0);
	assert_true(k.bzimage);
	assert_int_equal(k.entry, 0x1000200);
	assert_int_equal(k.load_start, 0x1000000);
	assert_int_equal(k.load_end, 0x1000000 + 0x100000);
	assert_int_equal(k.hdr.version, 0x020f);
	assert_int_equal(k.initrd_addr_max, UINT64_MAX);
	assert_memory_equal(guest_mem_ptr(m, 0x1000000, PAYLOAD), img + (SETUP_SECTS + 1) * 512, PAYLOAD);
}

static void test_below_4g_initrd_limit(void **state)
{
	struct kernel_image k;

	make_image();
	hdr()->xloadflags = XLF_KERNEL_64;
	assert_int_equal(bzimage_load(*state, img, sizeof(img), &k), 0);
	assert_int_equal(k.initrd_addr_max, 0x7fffffff);
}

static void test_alignment_applied(void **state)
{
	struct kernel_image k;

	make_image();
	hdr()->pref_address = 0x1000001;
	assert_int_equal(bzimage_load(*state, img, sizeof(img), &k), 0);
	assert_int_equal(k.load_start, 0x1200000);
}

static void expect_reject(void **state)
{
	struct kernel_image k;

	assert_int_equal(bzimage_load(*state, img, sizeof(img), &k), -ENOEXEC);
}

static void test_bad_boot_flag(void **state)
{
	make_image();
	hdr()->boot_flag = 0x1234;
	expect_reject(state);
}

static void test_no_hdrs_magic(void **state)
{
	struct kernel_image k;

	make_image();
	hdr()->header = 0;
	assert_false(is_bzimage(img, sizeof(img)));
	expect_reject(state);
	make_image();
	assert_int_equal(kernel_load(*state, img, 0x200, &k), -ENOEXEC); /* truncated before the header */
}

static void test_old_protocol_or_no_64bit_entry(void **state)
{
	make_image();
	hdr()->version = 0x020b;
	expect_reject(state);
	make_image();
	hdr()->xloadflags = 0;
	expect_reject(state);
}

static void test_truncated_payload(void **state)
{
	make_image();
	hdr()->syssize = PAYLOAD / 16 + 1;
	expect_reject(state);
	make_image();
	hdr()->setup_sects = 200; /* setup larger than the file */
	expect_reject(state);
}

static void test_init_size_beyond_ram(void **state)
{
	make_image();
	hdr()->init_size = (uint32_t)(TEST_MEM_MIB << 20);
	expect_reject(state);
	make_image();
	hdr()->pref_address = 0xfffffffffffff000ULL;
	expect_reject(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_bzimage),
		cmocka_unit_test(test_below_4g_initrd_limit),
		cmocka_unit_test(test_alignment_applied),
		cmocka_unit_test(test_bad_boot_flag),
		cmocka_unit_test(test_no_hdrs_magic),
		cmocka_unit_test(test_old_protocol_or_no_64bit_entry),
		cmocka_unit_test(test_truncated_payload),
		cmocka_unit_test(test_init_size_beyond_ram),
	};

	return cmocka_run_group_tests_name("bzimage", tests, mem_setup, mem_teardown);
}
