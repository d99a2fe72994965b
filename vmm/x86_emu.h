/* A table-driven decoder and emulator for exactly the instructions a software
 * KVM backend (PVM) gives up on: INT3, FWAIT, CLAC/STAC, POPCNT,
 * CMPXCHG8B/16B, LDMXCSR/STMXCSR. Full 64-bit ModRM/SIB/displacement decoding
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
#define X86_VEC_GP 13

struct emu_state {
	uint64_t gpr[16];
	uint64_t rip, rflags;
	uint64_t fs_base, gs_base;
	uint32_t mxcsr;
	bool mxcsr_changed;
	int inject_vector; /* exception to deliver after emulation, or -1 */
	uint32_t inject_error_code;
	bool inject_has_error_code;
};

struct emu_mem {
	void *ctx;
	/* Host pointer to guest-virtual [gva, gva+len) (len <= 16), writable if
	 * WRITE; NULL if not mapped that way. */
	void *(*map)(void *ctx, uint64_t gva, uint32_t len, bool write);
};

/* Emulate the instruction at CODE (CODE_LEN bytes fetched from st->rip).
 * Returns 0 and updates ST (RIP advanced, or an exception queued in
 * inject_vector), -ENOENT if the instruction is not one we emulate,
 * -EINVAL if the bytes are truncated, -EFAULT if a memory operand is not
 * accessible. *WHICH names the instruction when it was recognised. */
int x86_emulate(struct emu_state *st, const uint8_t *code, size_t code_len, const struct emu_mem *mem,
		enum emu_insn *which);

#endif
