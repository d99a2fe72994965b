/* ELF vmlinux loader: a valid image loads segment by segment (BSS zeroed,
 * entry kept), and every kind of malformed image is rejected with -ENOEXEC
 * before guest memory is touched. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../boot/kernel.h"
#include "test_helpers.h"

#define NSEG 2
#define SEG_SIZE 0x100

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[NSEG];
	uint8_t data[NSEG][SEG_SIZE];
};

static void make_image(struct image *img)
{
	memset(img, 0, sizeof(*img));
	memcpy(img->eh.e_ident, ELFMAG, SELFMAG);
	img->eh.e_ident[EI_CLASS] = ELFCLASS64;
	img->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img->eh.e_type = ET_EXEC;
	img->eh.e_machine = EM_X86_64;
	img->eh.e_entry = 0x1000000;
	img->eh.e_phoff = offsetof(struct image, ph);
	img->eh.e_phentsize = sizeof(Elf64_Phdr);
	img->eh.e_phnum = NSEG;
	for (int i = 0; i < NSEG; i++) {
		img->ph[i].p_type = PT_LOAD;
		img->ph[i].p_offset = offsetof(struct image, data) + (uint64_t)i * SEG_SIZE;
		img->ph[i].p_paddr = 0x1000000 + (uint64_t)i * 0x10000;
		img->ph[i].p_vaddr = 0xffffffff81000000ULL + (uint64_t)i * 0x10000;
		img->ph[i].p_filesz = SEG_SIZE;
		img->ph[i].p_memsz = SEG_SIZE * 2; /* second half is BSS */
		memset(img->data[i], 0xa0 + i, SEG_SIZE);
	}
}

static int load(struct guest_mem *m, const struct image *img, size_t size, struct kernel_image *k)
{
	return elf_kernel_load(m, (const uint8_t *)img, size, k);
}

static void test_valid_image_loads(void **state)
{
	struct guest_mem *m = *state;
	struct image img;
	struct kernel_image k;
	uint8_t *p;

	make_image(&img);
	p = guest_mem_ptr(m, 0x1000000, SEG_SIZE * 2);
	memset(p, 0x55, SEG_SIZE * 2); /* BSS must be cleared by the loader */
	assert_int_equal(load(m, &img, sizeof(img), &k), 0);
	assert_int_equal(k.entry, 0x1000000);
	assert_int_equal(k.load_start, 0x1000000);
	assert_int_equal(k.load_end, 0x1010000 + SEG_SIZE * 2);
	assert_false(k.bzimage);
	assert_memory_equal(p, img.data[0], SEG_SIZE);
	assert_true(all_zero(p + SEG_SIZE, SEG_SIZE));
	assert_memory_equal(guest_mem_ptr(m, 0x1010000, SEG_SIZE), img.data[1], SEG_SIZE);
}

static void test_kernel_load_detects_elf(void **state)
{
	struct image img;
	struct kernel_image k;

	make_image(&img);
	assert_int_equal(kernel_load(*state, (const uint8_t *)&img, sizeof(img), &k), 0);
	assert_int_equal(k.entry, 0x1000000);
}

/* Each case breaks one thing; none may write guest memory. */
static void expect_reject(struct guest_mem *m, struct image *img, size_t size)
{
	struct kernel_image k;
	uint8_t *p = guest_mem_ptr(m, 0x1000000, 0x20000);

	memset(p, 0, 0x20000);
	assert_int_equal(load(m, img, size, &k), -ENOEXEC);
	assert_true(all_zero(p, 0x20000));
}

static void test_truncated_header(void **state)
{
	struct image img;

	make_image(&img);
	expect_reject(*state, &img, sizeof(Elf64_Ehdr) - 1);
	expect_reject(*state, &img, 3);
}

static void test_wrong_magic(void **state)
{
	struct image img;

	make_image(&img);
	img.eh.e_ident[1] = 'X';
	expect_reject(*state, &img, sizeof(img));
}

static void test_wrong_class_data_machine_type(void **state)
{
	struct image img;

	make_image(&img);
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.eh.e_machine = EM_AARCH64;
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.eh.e_type = ET_DYN;
	expect_reject(*state, &img, sizeof(img));
}

static void test_program_headers_malformed(void **state)
{
	struct image img;

	make_image(&img);
	img.eh.e_phoff = sizeof(img) - 8; /* headers run off the end */
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.eh.e_phoff = UINT64_MAX - 8; /* offset arithmetic must not wrap */
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.eh.e_phnum = 0;
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.eh.e_phnum = 60000; /* absurd count */
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.eh.e_phentsize = 32;
	expect_reject(*state, &img, sizeof(img));
}

static void test_truncated_segment(void **state)
{
	struct image img;

	make_image(&img);
	expect_reject(*state, &img, sizeof(img) - 1); /* last segment's data cut short */
	make_image(&img);
	img.ph[1].p_offset = UINT64_MAX - 4;
	expect_reject(*state, &img, sizeof(img));
}

static void test_filesz_above_memsz(void **state)
{
	struct image img;

	make_image(&img);
	img.ph[0].p_memsz = SEG_SIZE - 1;
	expect_reject(*state, &img, sizeof(img));
}

static void test_segment_outside_ram(void **state)
{
	struct image img;

	make_image(&img);
	img.ph[1].p_paddr = (uint64_t)TEST_MEM_MIB << 20; /* just past the end */
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.ph[1].p_memsz = (uint64_t)TEST_MEM_MIB << 20; /* absurd size */
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.ph[1].p_paddr = UINT64_MAX - 0x10; /* wraps */
	expect_reject(*state, &img, sizeof(img));
	make_image(&img);
	img.ph[0].p_paddr = 0x7000; /* would overwrite the zero page */
	expect_reject(*state, &img, sizeof(img));
}

static void test_overlapping_segments(void **state)
{
	struct image img;

	make_image(&img);
	img.ph[1].p_paddr = img.ph[0].p_paddr + SEG_SIZE; /* inside segment 0's BSS */
	expect_reject(*state, &img, sizeof(img));
}

static void test_entry_outside_segments(void **state)
{
	struct image img;

	make_image(&img);
	img.eh.e_entry = 0xffffffff81000000ULL; /* virtual, not physical */
	expect_reject(*state, &img, sizeof(img));
}

static void test_no_load_segment(void **state)
{
	struct image img;

	make_image(&img);
	img.ph[0].p_type = PT_NOTE;
	img.ph[1].p_type = PT_NOTE;
	expect_reject(*state, &img, sizeof(img));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_image_loads),
		cmocka_unit_test(test_kernel_load_detects_elf),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_wrong_class_data_machine_type),
		cmocka_unit_test(test_program_headers_malformed),
		cmocka_unit_test(test_truncated_segment),
		cmocka_unit_test(test_filesz_above_memsz),
		cmocka_unit_test(test_segment_outside_ram),
		cmocka_unit_test(test_overlapping_segments),
		cmocka_unit_test(test_entry_outside_segments),
		cmocka_unit_test(test_no_load_segment),
	};

	return cmocka_run_group_tests_name("elf", tests, mem_setup, mem_teardown);
}
