/* 64-bit entry state: GDT encodings, identity page tables for 4 GiB, and the
 * special/general registers the kernel's 64-bit entry expects. */
#include <string.h>

#include "../../lib/layout.h"
#include "../../boot/longmode.h"
#include "test_helpers.h"

static void test_gdt_entries(void **state)
{
	uint64_t *gdt;

	assert_int_equal(longmode_write_tables(*state), 0);
	gdt = guest_mem_ptr(*state, BOOT_GDT_ADDR, 32);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0x00af9b000000ffffULL); /* 64-bit code */
	assert_int_equal(gdt[2], 0x00cf93000000ffffULL); /* data */
	assert_int_equal(gdt[3], 0x008f8b000000ffffULL); /* TSS */
	assert_int_equal(gdt_entry(0xa09b, 0x12345678, 0xabcde), 0x12aa9b345678bcdeULL);
}

/* Walk the 4-level tables like the CPU would for a 2 MiB page. */
static uint64_t translate(struct guest_mem *m, uint64_t va)
{
	uint64_t *pml4 = guest_mem_ptr(m, BOOT_PML4_ADDR, 4096);
	uint64_t e = pml4[(va >> 39) & 511], *pdpt, *pd;

	if (!(e & 1))
		return UINT64_MAX;
	pdpt = guest_mem_ptr(m, e & ~0xfffULL, 4096);
	e = pdpt[(va >> 30) & 511];
	if (!(e & 1))
		return UINT64_MAX;
	pd = guest_mem_ptr(m, e & ~0xfffULL, 4096);
	e = pd[(va >> 21) & 511];
	if (!(e & 1) || !(e & 0x80))
		return UINT64_MAX;
	return (e & ~0x1fffffULL) | (va & 0x1fffff);
}

static void test_identity_map(void **state)
{
	const uint64_t addrs[] = { 0, 0x7000, 0x1000000, 0x3fffffff, 0x40000000, 0xd0000000, 0xffffffffULL };

	assert_int_equal(longmode_write_tables(*state), 0);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		assert_int_equal(translate(*state, addrs[i]), addrs[i]);
	assert_int_equal(translate(*state, 0x100000000ULL), UINT64_MAX); /* not mapped beyond 4 GiB */
}

static void test_registers(void **state)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	(void)state;
	memset(&s, 0, sizeof(s));
	longmode_sregs(&s);
	assert_int_equal(s.cr0 & 0x80000001ULL, 0x80000001ULL); /* PG, PE */
	assert_int_equal(s.cr4 & 0x20, 0x20);                  /* PAE */
	assert_int_equal(s.efer & 0x500, 0x500);               /* LME, LMA */
	assert_int_equal(s.cr3, BOOT_PML4_ADDR);
	assert_int_equal(s.cs.selector, BOOT_CS);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.ds.selector, BOOT_DS);
	assert_int_equal(s.tr.type, 0xb);
	longmode_regs(&r, 0x1000000, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(r.rip, 0x1000000);
	assert_int_equal(r.rsi, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(r.rflags, 2);
	assert_int_equal(r.rsp, BOOT_STACK_ADDR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gdt_entries),
		cmocka_unit_test(test_identity_map),
		cmocka_unit_test(test_registers),
	};

	return cmocka_run_group_tests_name("longmode", tests, mem_setup, mem_teardown);
}
