/* The decoded instruction shared by the fix-up emulator's decoder
 * (x86_emu.c) and its executors (x86_xsave.c). Private to those two. */
#ifndef HOPX_X86_EMU_INSN_H
#define HOPX_X86_EMU_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86_emu.h"

struct insn {
	/* prefixes */
	bool opsize, addrsize, lock, rep, repne;
	int seg; /* 0, 0x64 (FS) or 0x65 (GS) */
	uint8_t rex;
	/* opcode */
	bool twobyte;
	uint8_t op;
	/* ModRM */
	bool has_modrm, is_reg;
	uint8_t modrm, reg, rm;
	uint64_t ea; /* effective (linear) address of a memory operand */
	size_t len;
};

#define REX_W(in) (((in)->rex >> 3) & 1)
#define REX_R(in) (((in)->rex >> 2) & 1)
#define REX_X(in) (((in)->rex >> 1) & 1)
#define REX_B(in) ((in)->rex & 1)

/* Queue an exception: faults (#UD, #NM, #GP, #PF) leave RIP at the instruction. */
void emu_raise(struct emu_state *st, int vector, bool has_error_code, uint32_t error_code);

/* Map an operand; if the guest may not access it, queue the fault it should
 * see and return NULL with *RET 0, or NULL with *RET -EFAULT when nothing can
 * be injected (the VMM gives up). */
void *emu_map(struct emu_state *st, const struct emu_mem *mem, uint64_t gva, uint32_t len, bool write, int *ret);

/* x86_xsave.c */
int emu_exec_xsave(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
int emu_exec_xrstor(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
int emu_exec_xgetbv(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);
int emu_exec_xsetbv(struct emu_state *st, const struct insn *in, const struct emu_mem *mem);

#endif
