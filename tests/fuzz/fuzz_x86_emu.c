/* libFuzzer target: the PVM fix-up decoder/emulator on arbitrary instruction
 * bytes and register values, with guest memory as a small buffer. It must
 * only ever emulate, refuse (-ENOENT), or report malformed/inaccessible
 * input; never read past the bytes given or outside the memory it maps. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../vmm/x86_emu.h"

#define MEM_BASE 0x1000ULL
#define MEM_SIZE 0x2000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t mem[MEM_SIZE] __attribute__((aligned(16)));

static void *map(void *ctx, uint64_t gva, uint32_t len, bool write)
{
	(void)ctx;
	(void)write;
	if (gva < MEM_BASE || gva - MEM_BASE > MEM_SIZE || len > MEM_SIZE - (gva - MEM_BASE))
		return NULL;
	return mem + (gva - MEM_BASE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct emu_mem m = { NULL, map };
	struct emu_state st;
	enum emu_insn which;
	size_t regs = sizeof(st.gpr);

	if (size < regs + 1)
		return 0;
	memset(&st, 0, sizeof(st));
	memcpy(st.gpr, data, regs);
	/* Keep some registers pointing into the buffer so memory forms get exercised. */
	for (int i = 0; i < 16; i += 2)
		st.gpr[i] = MEM_BASE + (st.gpr[i] % MEM_SIZE);
	st.rip = MEM_BASE;
	st.mxcsr = 0x1f80;
	x86_emulate(&st, data + regs, size - regs, &m, &which);
	return 0;
}
