/* The guest page-table walk of the PVM fix-ups (vmm/x86_walk.c): 4-level
 * and 5-level tables built in a synthetic guest memory, 4 KiB, 2 MiB and
 * 1 GiB pages, every permission rule (R/W, U/S, CR0.WP), the fault error
 * codes, accessed/dirty updates, non-canonical addresses, tables outside
 * RAM, and paging off. */
#include <string.h>

#include "../../vmm/x86_emu.h"
#include "../../vmm/x86_walk.h"
#include "test_helpers.h"

#define P 0x1ULL
#define RW 0x2ULL
#define US 0x4ULL
#define A 0x20ULL
#define D 0x40ULL
#define PS 0x80ULL

/* Table pages at fixed guest-physical addresses. */
#define T5 0x10000ULL
#define T4 0x11000ULL
#define T3 0x12000ULL
#define T2 0x13000ULL
#define T1 0x14000ULL
#define DATA 0x200000ULL

static struct guest_mem *gm;
static struct x86_paging pg;

static uint64_t *entry(uint64_t table, unsigned int idx)
{
	return guest_mem_ptr(gm, table + idx * 8ULL, 8);
}

static unsigned int idx(uint64_t gva, unsigned int level)
{
	return (gva >> (12 + 9 * (level - 1))) & 511;
}

/* Map GVA to DATA through 4 levels, the last entry with LEAF_FLAGS; every
 * upper entry P|RW|US. */
static void map4(uint64_t gva, uint64_t leaf_flags)
{
	*entry(T4, idx(gva, 4)) = T3 | P | RW | US;
	*entry(T3, idx(gva, 3)) = T2 | P | RW | US;
	*entry(T2, idx(gva, 2)) = T1 | P | RW | US;
	*entry(T1, idx(gva, 1)) = DATA | leaf_flags;
}

static int setup(void **state)
{
	if (mem_setup(state))
		return -1;
	gm = *state;
	memset(gm->host, 0, 0x20000);
	pg = (struct x86_paging){ .cr0 = X86_CR0_PG | X86_CR0_WP, .cr3 = T4, .cr4 = 0, .efer = X86_EFER_LMA };
	return 0;
}

static enum x86_walk_result walk(uint64_t gva, bool write, bool user, uint64_t *gpa, uint32_t *err)
{
	*gpa = ~0ULL;
	*err = 0xdead;
	return x86_walk(gm, &pg, gva, write, user, gpa, err);
}

static void test_4k_page_and_ad_bits(void **state)
{
	const uint64_t gva = 0xffff888000123456ULL;
	uint64_t gpa;
	uint32_t err;

	(void)state;
	map4(gva, P | RW | US);
	assert_int_equal(walk(gva, false, false, &gpa, &err), WALK_OK);
	assert_int_equal(gpa, DATA | 0x456);
	assert_true(*entry(T4, idx(gva, 4)) & A);
	assert_true(*entry(T3, idx(gva, 3)) & A);
	assert_true(*entry(T2, idx(gva, 2)) & A);
	assert_true(*entry(T1, idx(gva, 1)) & A);
	assert_false(*entry(T1, idx(gva, 1)) & D); /* a read leaves the page clean */
	assert_int_equal(walk(gva, true, true, &gpa, &err), WALK_OK);
	assert_true(*entry(T1, idx(gva, 1)) & D);
	assert_false(*entry(T2, idx(gva, 2)) & D); /* only the last entry gets D */
}

static void test_not_present_at_each_level(void **state)
{
	const uint64_t gva = 0x00007f0000001000ULL;
	uint64_t gpa;
	uint32_t err;
	const uint64_t tables[] = { T4, T3, T2, T1 };

	(void)state;
	for (unsigned int level = 4; level >= 1; level--) {
		map4(gva, P | RW | US);
		*entry(tables[4 - level], idx(gva, level)) &= ~P;
		assert_int_equal(walk(gva, true, true, &gpa, &err), WALK_PF);
		assert_int_equal(err, X86_PF_WRITE | 4u); /* not present, write, user */
		assert_int_equal(walk(gva, false, false, &gpa, &err), WALK_PF);
		assert_int_equal(err, 0);
		/* Nothing was marked accessed on the way to a fault. */
		assert_false(*entry(T4, idx(gva, 4)) & A);
	}
}

static void test_permissions(void **state)
{
	const uint64_t gva = 0x00007f0000002000ULL;
	uint64_t gpa;
	uint32_t err;

	(void)state;
	/* Read-only page. */
	map4(gva, P | US);
	assert_int_equal(walk(gva, false, true, &gpa, &err), WALK_OK);
	assert_int_equal(walk(gva, true, true, &gpa, &err), WALK_PF);
	assert_int_equal(err, X86_PF_PRESENT | X86_PF_WRITE | 4u);
	assert_int_equal(walk(gva, true, false, &gpa, &err), WALK_PF); /* supervisor, CR0.WP */
	assert_int_equal(err, X86_PF_PRESENT | X86_PF_WRITE);
	assert_false(*entry(T1, idx(gva, 1)) & D);
	pg.cr0 &= ~X86_CR0_WP;
	assert_int_equal(walk(gva, true, false, &gpa, &err), WALK_OK); /* WP clear: the kernel may write */
	assert_int_equal(walk(gva, true, true, &gpa, &err), WALK_PF);   /* ...user code still may not */
	pg.cr0 |= X86_CR0_WP;
	/* Read-only higher up makes the page read-only. */
	map4(gva, P | RW | US);
	*entry(T2, idx(gva, 2)) &= ~RW;
	assert_int_equal(walk(gva, true, false, &gpa, &err), WALK_PF);
	/* Supervisor-only page: user access faults, kernel access is fine. */
	map4(gva, P | RW);
	assert_int_equal(walk(gva, false, true, &gpa, &err), WALK_PF);
	assert_int_equal(err, X86_PF_PRESENT | 4u);
	assert_int_equal(walk(gva, true, false, &gpa, &err), WALK_OK);
	map4(gva, P | RW | US);
	*entry(T3, idx(gva, 3)) &= ~US;
	assert_int_equal(walk(gva, false, true, &gpa, &err), WALK_PF);
}

static void test_large_pages(void **state)
{
	const uint64_t gva2m = 0xffffc90000345678ULL, gva1g = 0xffff888040000000ULL + 0x2345678ULL;
	uint64_t gpa;
	uint32_t err;

	(void)state;
	*entry(T4, idx(gva2m, 4)) = T3 | P | RW;
	*entry(T3, idx(gva2m, 3)) = T2 | P | RW;
	*entry(T2, idx(gva2m, 2)) = 0x600000ULL | P | RW | PS;
	assert_int_equal(walk(gva2m, true, false, &gpa, &err), WALK_OK);
	assert_int_equal(gpa, 0x600000ULL | (gva2m & 0x1fffff));
	assert_true(*entry(T2, idx(gva2m, 2)) & D);

	memset(gm->host + T3, 0, 4096);
	*entry(T4, idx(gva1g, 4)) = T3 | P | RW;
	*entry(T3, idx(gva1g, 3)) = 0x40000000ULL | P | RW | PS;
	assert_int_equal(walk(gva1g, false, false, &gpa, &err), WALK_OK);
	assert_int_equal(gpa, 0x40000000ULL | (gva1g & 0x3fffffff));
}

static void test_five_levels_and_canonical(void **state)
{
	const uint64_t gva57 = 0x00ff000000003000ULL; /* canonical only with 5 levels */
	uint64_t gpa;
	uint32_t err;

	(void)state;
	assert_int_equal(walk(gva57, false, false, &gpa, &err), WALK_GP);
	assert_int_equal(walk(0x0000800000000000ULL, false, false, &gpa, &err), WALK_GP);
	assert_int_equal(walk(0xffff7fffffffffffULL, false, false, &gpa, &err), WALK_GP);

	pg.cr4 |= X86_CR4_LA57;
	pg.cr3 = T5;
	*entry(T5, idx(gva57, 5)) = T4 | P | RW;
	map4(gva57, P | RW);
	assert_int_equal(walk(gva57, true, false, &gpa, &err), WALK_OK);
	assert_int_equal(gpa, DATA);
	assert_true(*entry(T5, idx(gva57, 5)) & A);
	assert_int_equal(walk(0x0100000000000000ULL, false, false, &gpa, &err), WALK_GP);
}

static void test_outside_ram_and_modes(void **state)
{
	const uint64_t gva = 0x1000;
	uint64_t gpa;
	uint32_t err;

	(void)state;
	*entry(T4, 0) = 0xfee00000ULL | P | RW; /* a "table" in the MMIO gap */
	assert_int_equal(walk(gva, false, false, &gpa, &err), WALK_NOT_RAM);
	pg.cr3 = 0x7fff0000000ULL; /* CR3 beyond RAM */
	assert_int_equal(walk(gva, false, false, &gpa, &err), WALK_NOT_RAM);
	pg.cr0 &= ~X86_CR0_PG; /* paging off: linear is physical */
	assert_int_equal(walk(0x1234567, true, false, &gpa, &err), WALK_OK);
	assert_int_equal(gpa, 0x1234567);
	pg.cr0 |= X86_CR0_PG;
	pg.efer = 0; /* 32-bit paging */
	assert_int_equal(walk(gva, false, false, &gpa, &err), WALK_UNSUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_4k_page_and_ad_bits, setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_not_present_at_each_level, setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_large_pages, setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_five_levels_and_canonical, setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_outside_ram_and_modes, setup, mem_teardown),
	};

	log_set_level(LOG_SILENT);
	return cmocka_run_group_tests_name("x86_walk", tests, NULL, NULL);
}
