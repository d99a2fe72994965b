/* IDT, local APIC, IOAPIC and waiting for the test guest (see irq.h). */
#include "irq.h"

#include "lib.h"

#define LAPIC 0xfee00000ULL
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_TPR 0x80
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define IOAPIC 0xfec00000ULL

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static volatile uint64_t counts[32];
static volatile uint64_t tick_count;

extern char exc_stub[], fault_stub_6[], fault_stub_13[], fault_stub_14[];
#define STUB(n) extern char irq_stub_##n[];
STUB(32) STUB(33) STUB(34) STUB(35) STUB(36) STUB(37) STUB(38) STUB(39) STUB(40) STUB(41) STUB(42)
STUB(43) STUB(44) STUB(45) STUB(46) STUB(47) STUB(48) STUB(49) STUB(50) STUB(51) STUB(52) STUB(53)
STUB(54) STUB(55) STUB(56) STUB(57) STUB(58) STUB(59) STUB(60) STUB(61) STUB(62) STUB(63)
static char *const stubs[32] = {
	irq_stub_32, irq_stub_33, irq_stub_34, irq_stub_35, irq_stub_36, irq_stub_37, irq_stub_38, irq_stub_39,
	irq_stub_40, irq_stub_41, irq_stub_42, irq_stub_43, irq_stub_44, irq_stub_45, irq_stub_46, irq_stub_47,
	irq_stub_48, irq_stub_49, irq_stub_50, irq_stub_51, irq_stub_52, irq_stub_53, irq_stub_54, irq_stub_55,
	irq_stub_56, irq_stub_57, irq_stub_58, irq_stub_59, irq_stub_60, irq_stub_61, irq_stub_62, irq_stub_63,
};

void irq_handler(uint64_t vector);
void exception_handler(uint64_t *frame);

static void set_gate(unsigned int v, void *fn)
{
	uint64_t a = (uint64_t)fn;

	idt[v] = (struct idt_entry){ .off0 = (uint16_t)a, .sel = 0x08, .type = 0x8e, .off1 = (uint16_t)(a >> 16),
				     .off2 = (uint32_t)(a >> 32) };
}

void irq_handler(uint64_t vector)
{
	if (vector == TIMER_VECTOR)
		tick_count++;
	else if (vector >= IRQ_VECTOR_BASE && vector < IRQ_VECTOR_BASE + 32)
		counts[vector - IRQ_VECTOR_BASE]++;
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

void exception_handler(uint64_t *frame)
{
	gprintf("\nhopx-test-guest: CPU exception, stack %lx, RIP near %lx\n", (uint64_t)frame, frame[0]);
	gprintf("hopx-test-guest: FAILED\n");
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC, reg);
	mmio_write32(IOAPIC + 0x10, v);
}

void irq_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

	for (unsigned int v = 0; v < 32; v++)
		set_gate(v, exc_stub);
	set_gate(6, fault_stub_6);
	set_gate(13, fault_stub_13);
	set_gate(14, fault_stub_14);
	for (unsigned int v = 0; v < 32; v++)
		set_gate(IRQ_VECTOR_BASE + v, stubs[v]);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	outb(0x21, 0xff); /* mask the 8259s: the IOAPIC delivers */
	outb(0xa1, 0xff);
	mmio_write32(LAPIC + LAPIC_TPR, 0);
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff); /* enable, spurious vector 0xff */
	mmio_write32(LAPIC + LAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	mmio_write32(LAPIC + LAPIC_LVT_TIMER, (1u << 17) | TIMER_VECTOR); /* periodic */
	mmio_write32(LAPIC + LAPIC_TIMER_INIT, 10000000); /* KVM's APIC bus: 1 GHz -> 10 ms */
	__asm__ volatile("sti");
}

void irq_route(unsigned int pin)
{
	ioapic_write(0x10 + 2 * pin + 1, 0); /* destination APIC 0 */
	ioapic_write(0x10 + 2 * pin, IRQ_VECTOR_BASE + pin); /* fixed, physical, edge, high, unmasked */
}

uint64_t irq_count(unsigned int pin)
{
	return pin < 32 ? counts[pin] : 0;
}

uint64_t ticks(void)
{
	return tick_count;
}

bool irq_wait(bool (*cond)(void *), void *arg, uint64_t timeout_ms)
{
	uint64_t end = tick_count + timeout_ms / TICK_MS + 1;

	for (;;) {
		__asm__ volatile("cli");
		if (cond(arg)) {
			__asm__ volatile("sti");
			return true;
		}
		if (tick_count > end) {
			__asm__ volatile("sti");
			return false;
		}
		/* STI's one-instruction shadow makes "sti; hlt" atomic: an
		 * interrupt arriving after the check still wakes the hlt. */
		__asm__ volatile("sti; hlt" ::: "memory");
	}
}
