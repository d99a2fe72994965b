/* The guest page-table walk (see x86_walk.h). SDM vol. 3, 4.5 (4-level and
 * 5-level paging) and 4.6 (access rights). Reserved bits and protection
 * keys are not checked: the fix-ups run for the guest kernel, which does not
 * use them, and a walk never reads outside guest RAM whatever the entries say. */
#include "x86_walk.h"

#include "x86_emu.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_US (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL
#define PF_USER 4u

static bool canonical(uint64_t gva, unsigned int levels)
{
	unsigned int bits = 12 + 9 * levels; /* 48 or 57 */
	int64_t top = (int64_t)gva >> (bits - 1);

	return top == 0 || top == -1;
}

enum x86_walk_result x86_walk(const struct guest_mem *mem, const struct x86_paging *pg, uint64_t gva, bool write,
			      bool user, uint64_t *gpa, uint32_t *pf_error)
{
	unsigned int levels = (pg->cr4 & X86_CR4_LA57) ? 5 : 4;
	uint64_t table = pg->cr3 & PTE_ADDR;
	uint64_t *entries[5];
	bool writable = true, user_ok = true;
	unsigned int n = 0;

	if (!(pg->cr0 & X86_CR0_PG)) {
		*gpa = gva;
		return WALK_OK;
	}
	if (!(pg->efer & X86_EFER_LMA))
		return WALK_UNSUPPORTED;
	if (!canonical(gva, levels))
		return WALK_GP;
	for (unsigned int level = levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		uint64_t *e = guest_mem_ptr(mem, table + ((gva >> shift) & 511) * 8, 8);
		uint64_t pte;

		if (!e)
			return WALK_NOT_RAM;
		pte = __atomic_load_n(e, __ATOMIC_ACQUIRE);
		if (!(pte & PTE_P)) {
			*pf_error = (write ? X86_PF_WRITE : 0) | (user ? PF_USER : 0);
			return WALK_PF;
		}
		entries[n++] = e;
		writable = writable && (pte & PTE_RW);
		user_ok = user_ok && (pte & PTE_US);
		if (level == 1 || ((level == 2 || level == 3) && (pte & PTE_PS))) {
			uint64_t size = 1ULL << shift;

			/* Supervisor writes ignore R/W only with CR0.WP clear. */
			if ((user && !user_ok) || (write && !writable && (user || (pg->cr0 & X86_CR0_WP)))) {
				*pf_error = X86_PF_PRESENT | (write ? X86_PF_WRITE : 0) | (user ? PF_USER : 0);
				return WALK_PF;
			}
			*gpa = (pte & PTE_ADDR & ~(size - 1)) | (gva & (size - 1));
			for (unsigned int i = 0; i < n; i++)
				__atomic_fetch_or(entries[i], PTE_A, __ATOMIC_ACQ_REL);
			if (write)
				__atomic_fetch_or(entries[n - 1], PTE_D, __ATOMIC_ACQ_REL);
			return WALK_OK;
		}
		table = pte & PTE_ADDR;
	}
	return WALK_NOT_RAM; /* not reached: level 1 always ends the walk */
}
