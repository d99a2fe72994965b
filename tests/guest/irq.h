/* Interrupts in the test guest: an IDT, the local APIC (with a ~10 ms
 * periodic timer as the clock for timeouts), and the IOAPIC routing device
 * IRQ pins to vectors. Waiting is "sti; hlt" until a condition holds. */
#ifndef HOPX_GUEST_IRQ_H
#define HOPX_GUEST_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#define IRQ_VECTOR_BASE 32
#define TIMER_VECTOR 63
#define TICK_MS 10

void irq_init(void);
/* Route IOAPIC pin PIN (edge, active high) to vector IRQ_VECTOR_BASE + PIN. */
void irq_route(unsigned int pin);
/* Interrupts seen on PIN so far. */
uint64_t irq_count(unsigned int pin);
/* Timer ticks since irq_init. */
uint64_t ticks(void);
/* Sleep until COND(ARG) is true or TIMEOUT_MS pass; false on timeout. */
bool irq_wait(bool (*cond)(void *), void *arg, uint64_t timeout_ms);

#endif
