/* 16550A UART model (see serial.h). Transmission is instantaneous: THR is
 * always empty again by the time the guest looks, so LSR always has THRE and
 * TEMT set, and a THRE interrupt is raised after every byte while enabled. */
#include "serial.h"

#include <errno.h>
#include <string.h>

static bool rx_irq_active(const struct serial *s)
{
	return (s->ier & UART_IER_RDI) && s->rx_count;
}

static bool thr_irq_active(const struct serial *s)
{
	return (s->ier & UART_IER_THRI) && s->thri_pending;
}

void serial_init(struct serial *s, void (*out)(void *, uint8_t), void (*irq)(void *), void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out = out;
	s->irq = irq;
	s->ctx = ctx;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static void rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count == SERIAL_RX_FIFO) {
		s->lsr_err |= UART_LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = b;
	s->rx_count++;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t b;

	if (!s->rx_count)
		return 0;
	b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	return b;
}

static uint8_t modem_status(const struct serial *s)
{
	if (s->mcr & UART_MCR_LOOP) {
		/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
		return (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
				 ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
	}
	return 0xb0; /* DCD, DSR, CTS: a cable is always attached */
}

uint8_t serial_read(struct serial *s, uint8_t reg)
{
	uint8_t v = 0;
	bool raise = false;

	pthread_mutex_lock(&s->lock);
	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & UART_LCR_DLAB) {
			v = s->dll;
		} else {
			v = rx_pop(s);
			raise = rx_irq_active(s);
		}
		break;
	case UART_IER:
		v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR_FCR:
		if (rx_irq_active(s)) {
			v = UART_IIR_RDI;
		} else if (thr_irq_active(s)) {
			v = UART_IIR_THRI;
			s->thri_pending = false; /* reading IIR acknowledges THRE */
		} else {
			v = UART_IIR_NO_INT;
		}
		if (s->fcr & 0x01)
			v |= UART_IIR_FIFO_ON;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0) | s->lsr_err;
		s->lsr_err = 0;
		break;
	case UART_MSR:
		v = modem_status(s);
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (raise)
		s->irq(s->ctx);
	return v;
}

void serial_write(struct serial *s, uint8_t reg, uint8_t val)
{
	bool raise = false;

	pthread_mutex_lock(&s->lock);
	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			rx_push(s, val);
		else
			s->out(s->ctx, val);
		s->thri_pending = true;
		raise = thr_irq_active(s) || rx_irq_active(s);
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
			break;
		}
		/* Enabling THRI with THR empty interrupts at once, as a 16550 does. */
		if ((val & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thri_pending = true;
		s->ier = val & 0x0f;
		raise = thr_irq_active(s) || rx_irq_active(s);
		break;
	case UART_IIR_FCR:
		s->fcr = val & 0xc9;
		if (val & 0x02) { /* clear receive FIFO */
			s->rx_head = 0;
			s->rx_count = 0;
		}
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & 0x1f;
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (raise)
		s->irq(s->ctx);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	bool raise;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < SERIAL_RX_FIFO)
		rx_push(s, buf[n++]);
	raise = rx_irq_active(s);
	pthread_mutex_unlock(&s->lock);
	if (raise && n)
		s->irq(s->ctx);
	return n;
}

size_t serial_rx_room(struct serial *s)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return room;
}

static void serial_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	data[0] = serial_read(opaque, (uint8_t)offset);
}

static void serial_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	(void)len;
	serial_write(opaque, (uint8_t)offset, data[0]);
}

const struct bus_ops serial_bus_ops = {
	.name = "serial",
	.read = serial_bus_read,
	.write = serial_bus_write,
};

void serial_save(struct serial *s, struct serial_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->scr = s->scr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->fcr = s->fcr;
	st->lsr_err = s->lsr_err;
	st->thri_pending = s->thri_pending;
	st->rx_count = s->rx_count;
	for (unsigned int i = 0; i < s->rx_count; i++)
		st->rx[i] = s->rx[(s->rx_head + i) % SERIAL_RX_FIFO];
	pthread_mutex_unlock(&s->lock);
}

int serial_load(struct serial *s, const struct serial_state *st)
{
	if (st->rx_count > SERIAL_RX_FIFO || st->thri_pending > 1)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier;
	s->lcr = st->lcr;
	s->mcr = st->mcr;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->fcr = st->fcr;
	s->lsr_err = st->lsr_err;
	s->thri_pending = st->thri_pending;
	s->rx_head = 0;
	s->rx_count = st->rx_count;
	memcpy(s->rx, st->rx, st->rx_count);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
