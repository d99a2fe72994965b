/* A table-driven decoder and emulator for exactly the instructions a software
 * KVM backend (PVM) gives up on: INT3, FWAIT, CLAC/STAC, POPCNT,
 * CMPXCHG8B/16B, LDMXCSR/STMXCSR, VERW, and the XSAVE family (XSAVE,
 * XSAVEOPT, XRSTOR, XGETBV, XSETBV: x86_xsave.c) on the vCPU's real
 * extended state. Full 64-bit ModRM/SIB/displacement decoding
 * (REX, RIP-relative, address-size and FS/GS prefixes) so memory operands of
 * any form work. Pure: guest memory is reached through a callback, so every
 * instruction and operand form is unit-tested without KVM. Anything not in
 * the table is refused, never guessed at. */
#ifndef HOPX_X86_EMU_H
#define HOPX_X86_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum emu_insn {
	EMU_INT3,
	EMU_FWAIT,
	EMU_CLAC,
	EMU_STAC,
	EMU_POPCNT,
	EMU_CMPXCHG8B,
	EMU_CMPXCHG16B,
	EMU_LDMXCSR,
	EMU_STMXCSR,
	EMU_VERW,
	EMU_XSAVE,
	EMU_XSAVEOPT,
	EMU_XRSTOR,
	EMU_XGETBV,
	EMU_XSETBV,
	EMU_NR_INSNS
};

extern const char *const emu_insn_names[EMU_NR_INSNS];

/* General registers in encoding order: RAX RCX RDX RBX RSP RBP RSI RDI R8..R15. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };

#define EFLAGS_CF (1ULL << 0)
#define EFLAGS_PF (1ULL << 2)
#define EFLAGS_AF (1ULL << 4)
#define EFLAGS_ZF (1ULL << 6)
#define EFLAGS_SF (1ULL << 7)
#define EFLAGS_OF (1ULL << 11)
#define EFLAGS_AC (1ULL << 18)

#define X86_VEC_BP 3
#define X86_VEC_UD 6
#define X86_VEC_NM 7
#define X86_VEC_GP 13
#define X86_VEC_PF 14

#define X86_CR0_TS (1ULL << 3)
#define X86_CR4_OSXSAVE (1ULL << 18)

/* Page-fault error code bits the emulator reports. */
#define X86_PF_PRESENT 1u
#define X86_PF_WRITE 2u

/* XSAVE state components (XCR0 bits). */
#define XFEATURE_X87 (1ULL << 0)
#define XFEATURE_SSE (1ULL << 1)
#define XFEATURE_YMM (1ULL << 2)
#define XFEATURE_AVX512 (7ULL << 5) /* opmask, ZMM_Hi256, Hi16_ZMM: all or none */
#define XFEATURE_MPX (3ULL << 3)    /* BNDREGS, BNDCSR: both or none */
#define XFEATURE_AMX (3ULL << 17)   /* XTILECFG, XTILEDATA: both or none */
#define XSAVE_HDR_OFFSET 512
#define XSAVE_HDR_SIZE 64
#define EMU_XFEATURES 64

/* Where each state component lives in the standard (non-compacted) XSAVE
 * format, as CPUID leaf 0xD reports it, and which XCR0 values may be set.
 * Components 0 and 1 are the legacy region. */
struct emu_xlayout {
	uint64_t xcr0_supported;
	uint32_t offset[EMU_XFEATURES], size[EMU_XFEATURES];
};

/* The vCPU's extended state, loaded on demand for the XSAVE family. */
struct emu_xstate {
	uint8_t *area; /* KVM_GET_XSAVE: standard format, header at 512 */
	uint32_t area_size;
	uint64_t xcr0;
	bool area_changed, xcr0_changed;
};

struct emu_state {
	uint64_t gpr[16];
	uint64_t rip, rflags;
	uint64_t fs_base, gs_base;
	uint32_t mxcsr;
	bool mxcsr_changed;
	/* For VERW and the XSAVE family: control registers, privilege, the GDT. */
	uint64_t cr0, cr4;
	unsigned int cpl;
	uint64_t gdt_base, ldt_base;
	uint16_t gdt_limit, ldt_limit; /* ldt_limit 0: no LDT */
	const struct emu_xlayout *xlayout; /* NULL: the XSAVE family is refused */
	int inject_vector; /* exception to deliver after emulation, or -1 */
	uint32_t inject_error_code;
	bool inject_has_error_code;
	uint64_t cr2; /* with X86_VEC_PF: the faulting address */
};

/* Why a guest-virtual range could not be mapped: the exception the guest
 * should see, or none (vector -1: the VMM cannot go on, e.g. the page is
 * MMIO). */
struct emu_fault {
	int vector;          /* X86_VEC_PF, X86_VEC_GP or -1 */
	uint32_t error_code; /* #PF: P, W, U */
	uint64_t addr;       /* #PF: the address for CR2 */
};

struct emu_mem {
	void *ctx;
	/* Host pointer to guest-virtual [gva, gva+len), for writing if WRITE;
	 * NULL with *FAULT filled if the guest may not access it so. Ranges
	 * longer than 16 bytes never cross a page boundary. */
	void *(*map)(void *ctx, uint64_t gva, uint32_t len, bool write, struct emu_fault *fault);
	/* The vCPU's extended state, read once per instruction; NULL on failure.
	 * The caller writes back what the emulator marks changed. */
	struct emu_xstate *(*xstate)(void *ctx);
};

/* Emulate the instruction at CODE (CODE_LEN bytes fetched from st->rip).
 * Returns 0 and updates ST (RIP advanced, or an exception queued in
 * inject_vector), -ENOENT if the instruction is not one we emulate,
 * -EINVAL if the bytes are truncated, -EFAULT if a memory operand is not
 * accessible. *WHICH names the instruction when it was recognised. */
int x86_emulate(struct emu_state *st, const uint8_t *code, size_t code_len, const struct emu_mem *mem,
		enum emu_insn *which);


#endif
