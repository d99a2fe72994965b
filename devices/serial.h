/* 16550A UART register model (COM1 at 0x3f8, IRQ 4): transmit, receive FIFO,
 * THRE and RX-data interrupts, modem-control loopback (Linux's probe uses it).
 * The model is pure: output bytes and interrupt edges go out through
 * callbacks, so it is unit-tested without KVM. Thread-safe: vCPU threads and
 * the console input thread share it. */
#ifndef HOPX_DEVICES_SERIAL_H
#define HOPX_DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ 4
#define SERIAL_RX_FIFO 1024

/* Registers (offsets from the base). */
enum {
	UART_RBR_THR = 0, /* DLAB=1: DLL */
	UART_IER = 1,     /* DLAB=1: DLM */
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO_ON 0xc0
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, lsr_err;
	bool thri_pending; /* a THRE interrupt not yet acknowledged by reading IIR */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_count;
	void (*out)(void *ctx, uint8_t byte); /* a transmitted byte */
	void (*irq)(void *ctx);               /* raise an interrupt edge */
	void *ctx;
};

void serial_init(struct serial *s, void (*out)(void *, uint8_t), void (*irq)(void *), void *ctx);
void serial_destroy(struct serial *s);
uint8_t serial_read(struct serial *s, uint8_t reg);
void serial_write(struct serial *s, uint8_t reg, uint8_t val);
/* Queue received bytes (console input); returns how many fit. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);
/* Free receive FIFO space. */
size_t serial_rx_room(struct serial *s);

/* Register state for snapshots (fixed layout: it is stored as is). */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, lsr_err;
	uint8_t thri_pending, pad[3];
	uint32_t rx_count;
	uint8_t rx[SERIAL_RX_FIFO];
};

void serial_save(struct serial *s, struct serial_state *st);
/* -EINVAL if ST is not a state this UART can be in. */
int serial_load(struct serial *s, const struct serial_state *st);

extern const struct bus_ops serial_bus_ops;

#endif
