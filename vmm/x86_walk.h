/* A guest page-table walk for the PVM fix-ups: guest-virtual to
 * guest-physical as the CPU would do it for a data access, with the
 * permission checks and accessed/dirty updates KVM_TRANSLATE does not make
 * (it reports every page writable). 64-bit paging, 4 or 5 levels (CR4.LA57),
 * 1 GiB and 2 MiB pages, CR0.WP, user/supervisor; with paging off, linear
 * is physical. Pure but for the guest
 * memory it reads and the A/D bits it sets (atomically, as other vCPUs may
 * walk the same tables); unit-tested in tests/unit/test_x86_walk.c. */
#ifndef HOPX_X86_WALK_H
#define HOPX_X86_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/memory.h"

#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_LA57 (1ULL << 12)
#define X86_EFER_LMA (1ULL << 10)

struct x86_paging {
	uint64_t cr0, cr3, cr4, efer;
};

enum x86_walk_result {
	WALK_OK,
	WALK_PF,        /* page fault: *pf_error has P, W, U */
	WALK_GP,        /* non-canonical address */
	WALK_NOT_RAM,   /* a table or the page is not guest RAM (MMIO, beyond RAM) */
	WALK_UNSUPPORTED, /* 32-bit paging modes: never ours (the guest is 64-bit) */
};

/* Translate GVA for a data access (WRITE; USER: at CPL 3). On WALK_OK,
 * *GPA is the guest-physical address, and the accessed bits of every entry
 * used (and the dirty bit of the last one, for a write) are set. On WALK_PF,
 * *PF_ERROR is the page-fault error code (X86_PF_* of x86_emu.h and 4 for
 * user). */
enum x86_walk_result x86_walk(const struct guest_mem *mem, const struct x86_paging *pg, uint64_t gva, bool write,
			      bool user, uint64_t *gpa, uint32_t *pf_error);

#endif
