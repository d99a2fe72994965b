/* libFuzzer target: the PVM fix-up decoder/emulator on arbitrary instruction
 * bytes and register values, with guest memory as a small buffer and an
 * extended state (XSAVE family) whose header and XCR0 come from the input
 * too. It must
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

static void *map(void *ctx, uint64_t gva, uint32_t len, bool write, struct emu_fault *f)
{
	(void)ctx;
	if (gva < MEM_BASE || gva - MEM_BASE > MEM_SIZE || len > MEM_SIZE - (gva - MEM_BASE)) {
		/* Some faults the guest is told about, some the VMM gives up on. */
		*f = (struct emu_fault){ (gva & 1) ? X86_VEC_PF : -1, write ? X86_PF_WRITE : 0, gva };
		return NULL;
	}
	return mem + (gva - MEM_BASE);
}

static uint8_t area[4096];
static struct emu_xstate xs;
static const struct emu_xlayout layout = {
	.xcr0_supported = 0xe7,
	.offset = { [2] = 576, [5] = 1088, [6] = 1152, [7] = 1664 },
	.size = { [2] = 256, [5] = 64, [6] = 512, [7] = 1024 },
};

static struct emu_xstate *xstate(void *ctx)
{
	(void)ctx;
	return &xs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct emu_mem m = { .map = map, .xstate = xstate };
	struct emu_state st;
	enum emu_insn which;
	size_t regs = sizeof(st.gpr);
	uint64_t ctl;

	if (size < regs + 8 + 1)
		return 0;
	memset(&st, 0, sizeof(st));
	memcpy(st.gpr, data, regs);
	memcpy(&ctl, data + regs, 8);
	data += 8;
	size -= 8;
	/* XCR0, the state's XSTATE_BV, CR0/CR4 bits and CPL from the input. */
	memset(&xs, 0, sizeof(xs));
	memset(area, 0xa5, sizeof(area));
	memset(area + 512, 0, 64);
	memcpy(area + 512, &(uint64_t){ (ctl >> 8) & 0xff }, 8);
	xs.area = area;
	xs.area_size = sizeof(area);
	xs.xcr0 = ctl & 0xff;
	st.xlayout = &layout;
	st.cr4 = (ctl & (1ULL << 16)) ? X86_CR4_OSXSAVE : 0;
	st.cr0 = (ctl & (1ULL << 17)) ? X86_CR0_TS : 0;
	st.cpl = (ctl >> 18) & 3;
	st.gdt_base = MEM_BASE;
	st.gdt_limit = (uint16_t)(ctl >> 32);
	st.ldt_base = MEM_BASE + 0x100;
	st.ldt_limit = (uint16_t)(ctl >> 48);
	/* Keep some registers pointing into the buffer so memory forms get exercised. */
	for (int i = 0; i < 16; i += 2)
		st.gpr[i] = MEM_BASE + (st.gpr[i] % MEM_SIZE);
	st.rip = MEM_BASE;
	st.mxcsr = 0x1f80;
	x86_emulate(&st, data + regs, size - regs, &m, &which);
	return 0;
}
