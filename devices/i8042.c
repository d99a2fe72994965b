/* i8042 model (see i8042.h). Without it, Linux's reboot=k has no reset line
 * and an absent controller costs seconds of probing. */
#include "i8042.h"

#include <string.h>

void i8042_init(struct i8042 *k, void (*reset)(void *), void *ctx)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->status = I8042_STR_SYSFLAG;
	k->ctr = I8042_CTR_AUXDIS; /* keyboard enabled, no aux port */
	k->reset = reset;
	k->ctx = ctx;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void put_output(struct i8042 *k, uint8_t v)
{
	k->outbuf = v;
	k->status |= I8042_STR_OBF;
}

uint8_t i8042_read(struct i8042 *k, uint16_t port)
{
	uint8_t v = 0xff;

	pthread_mutex_lock(&k->lock);
	if (port == I8042_CMD_PORT) {
		v = k->status;
	} else if (port == I8042_DATA_PORT) {
		v = k->outbuf;
		k->status &= (uint8_t)~I8042_STR_OBF;
	}
	pthread_mutex_unlock(&k->lock);
	return v;
}

static bool command(struct i8042 *k, uint8_t cmd)
{
	k->status |= I8042_STR_CMDDAT;
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		put_output(k, k->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_WRITE_OUTPORT:
		k->pending_cmd = cmd;
		break;
	case I8042_CMD_SELF_TEST:
		put_output(k, 0x55);
		break;
	case I8042_CMD_KBD_TEST:
	case I8042_CMD_AUX_TEST:
		put_output(k, 0x00);
		break;
	case I8042_CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_ENABLE:
		k->ctr &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	default:
		/* 0xf0..0xff pulse output-port lines low for 6 us; bit 0 is CPU reset. */
		if (cmd >= 0xf0 && !(cmd & 0x01))
			return true;
		break;
	}
	return false;
}

static bool data(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->pending_cmd;

	k->status &= (uint8_t)~I8042_STR_CMDDAT;
	k->pending_cmd = 0;
	if (cmd == I8042_CMD_WRITE_CTR) {
		k->ctr = val;
	} else if (cmd == I8042_CMD_WRITE_OUTPORT) {
		if (!(val & 0x01))
			return true;
	} else {
		put_output(k, 0xfe); /* no keyboard: "resend" to any keyboard command */
	}
	return false;
}

void i8042_write(struct i8042 *k, uint16_t port, uint8_t val)
{
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	if (port == I8042_CMD_PORT)
		reset = command(k, val);
	else if (port == I8042_DATA_PORT)
		reset = data(k, val);
	pthread_mutex_unlock(&k->lock);
	if (reset)
		k->reset(k->ctx);
}

static void i8042_bus_read(void *opaque, uint64_t offset, uint8_t *d, uint32_t len)
{
	memset(d, 0xff, len);
	d[0] = i8042_read(opaque, (uint16_t)(I8042_DATA_PORT + offset));
}

static void i8042_bus_write(void *opaque, uint64_t offset, const uint8_t *d, uint32_t len)
{
	(void)len;
	i8042_write(opaque, (uint16_t)(I8042_DATA_PORT + offset), d[0]);
}

const struct bus_ops i8042_bus_ops = {
	.name = "i8042",
	.read = i8042_bus_read,
	.write = i8042_bus_write,
};

void i8042_save(struct i8042 *k, struct i8042_state *st)
{
	pthread_mutex_lock(&k->lock);
	*st = (struct i8042_state){ k->status, k->ctr, k->outbuf, k->pending_cmd };
	pthread_mutex_unlock(&k->lock);
}

void i8042_load(struct i8042 *k, const struct i8042_state *st)
{
	pthread_mutex_lock(&k->lock);
	k->status = st->status;
	k->ctr = st->ctr;
	k->outbuf = st->outbuf;
	k->pending_cmd = st->pending_cmd;
	pthread_mutex_unlock(&k->lock);
}
