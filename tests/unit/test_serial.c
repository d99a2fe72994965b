/* 16550A model: transmit, THRE and RX interrupts as Linux's 8250 driver sees
 * them, receive FIFO order and overflow, loopback (the driver's probe), DLAB. */
#include <string.h>

#include "../../devices/serial.h"
#include "test_helpers.h"

struct sink {
	uint8_t out[64];
	size_t nout;
	int irqs;
};

static void out_cb(void *ctx, uint8_t b)
{
	struct sink *s = ctx;

	if (s->nout < sizeof(s->out))
		s->out[s->nout++] = b;
}

static void irq_cb(void *ctx)
{
	((struct sink *)ctx)->irqs++;
}

static struct serial uart;
static struct sink sink;

static int setup(void **state)
{
	(void)state;
	memset(&sink, 0, sizeof(sink));
	serial_init(&uart, out_cb, irq_cb, &sink);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	serial_destroy(&uart);
	return 0;
}

static void test_transmit(void **state)
{
	(void)state;
	serial_write(&uart, UART_RBR_THR, 'h');
	serial_write(&uart, UART_RBR_THR, 'i');
	assert_int_equal(sink.nout, 2);
	assert_memory_equal(sink.out, "hi", 2);
	assert_int_equal(serial_read(&uart, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(sink.irqs, 0); /* interrupts disabled */
	assert_int_equal(serial_read(&uart, UART_IIR_FCR) & 0x0f, UART_IIR_NO_INT);
}

static void test_thre_interrupt(void **state)
{
	(void)state;
	/* Enabling THRI with THR empty raises it at once. */
	serial_write(&uart, UART_IER, UART_IER_THRI);
	assert_int_equal(sink.irqs, 1);
	assert_int_equal(serial_read(&uart, UART_IIR_FCR) & 0x0f, UART_IIR_THRI);
	/* Reading IIR acknowledged it. */
	assert_int_equal(serial_read(&uart, UART_IIR_FCR) & 0x0f, UART_IIR_NO_INT);
	/* Each transmitted byte raises it again. */
	serial_write(&uart, UART_RBR_THR, 'x');
	assert_int_equal(sink.irqs, 2);
	assert_int_equal(serial_read(&uart, UART_IIR_FCR) & 0x0f, UART_IIR_THRI);
	/* Re-writing IER with THRI still set does not re-trigger. */
	serial_write(&uart, UART_IER, UART_IER_THRI);
	assert_int_equal(sink.irqs, 2);
}

static void test_receive(void **state)
{
	(void)state;
	assert_int_equal(serial_read(&uart, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(serial_receive(&uart, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(sink.irqs, 0); /* RX interrupt not enabled yet */
	assert_int_equal(serial_read(&uart, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	serial_write(&uart, UART_IER, UART_IER_RDI);
	assert_int_equal(sink.irqs, 1);
	assert_int_equal(serial_read(&uart, UART_IIR_FCR) & 0x0f, UART_IIR_RDI);
	assert_int_equal(serial_read(&uart, UART_RBR_THR), 'a');
	assert_int_equal(serial_read(&uart, UART_RBR_THR), 'b');
	assert_int_equal(serial_read(&uart, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(serial_read(&uart, UART_IIR_FCR) & 0x0f, UART_IIR_NO_INT);
	assert_int_equal(serial_receive(&uart, (const uint8_t *)"c", 1), 1);
	assert_int_equal(sink.irqs, 3); /* re-raised after the first read, then for 'c' */
}

static void test_rx_fifo_full(void **state)
{
	uint8_t buf[SERIAL_RX_FIFO + 10];

	(void)state;
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(serial_receive(&uart, buf, sizeof(buf)), SERIAL_RX_FIFO);
	assert_int_equal(serial_rx_room(&uart), 0);
	assert_int_equal(serial_receive(&uart, buf, 1), 0);
	/* FCR "clear receive FIFO" empties it. */
	serial_write(&uart, UART_IIR_FCR, 0x03);
	assert_int_equal(serial_rx_room(&uart), SERIAL_RX_FIFO);
	assert_int_equal(serial_read(&uart, UART_IIR_FCR) & UART_IIR_FIFO_ON, UART_IIR_FIFO_ON);
}

static void test_loopback_probe(void **state)
{
	(void)state;
	/* What Linux's autoconfig does: loopback with RTS|OUT2, expect CTS|DCD. */
	serial_write(&uart, UART_MCR, UART_MCR_LOOP | 0x0a);
	assert_int_equal(serial_read(&uart, UART_MSR) & 0xf0, 0x90);
	serial_write(&uart, UART_RBR_THR, 'q'); /* looped back, not transmitted */
	assert_int_equal(sink.nout, 0);
	assert_int_equal(serial_read(&uart, UART_RBR_THR), 'q');
	serial_write(&uart, UART_MCR, 0);
	assert_int_equal(serial_read(&uart, UART_MSR) & 0xf0, 0xb0);
}

static void test_divisor_latch_and_scratch(void **state)
{
	(void)state;
	serial_write(&uart, UART_LCR, UART_LCR_DLAB | 0x03);
	serial_write(&uart, UART_RBR_THR, 0x01);
	serial_write(&uart, UART_IER, 0x02);
	assert_int_equal(serial_read(&uart, UART_RBR_THR), 0x01);
	assert_int_equal(serial_read(&uart, UART_IER), 0x02);
	assert_int_equal(sink.nout, 0); /* DLL writes are not data */
	serial_write(&uart, UART_LCR, 0x03);
	assert_int_equal(serial_read(&uart, UART_IER), 0); /* the real IER was untouched */
	serial_write(&uart, UART_SCR, 0x5a);
	assert_int_equal(serial_read(&uart, UART_SCR), 0x5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fifo_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divisor_latch_and_scratch, setup, teardown),
	};

	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
