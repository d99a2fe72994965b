/* Minimal i8042 keyboard controller at ports 0x60/0x64: status, command byte
 * (CTR), self-tests, and the CPU reset line (command 0xfe, or output port
 * bit 0 cleared), which Linux's reboot=k uses. No keyboard is attached. */
#ifndef HOPX_DEVICES_I8042_H
#define HOPX_DEVICES_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

#define I8042_STR_OBF 0x01
#define I8042_STR_SYSFLAG 0x04
#define I8042_STR_CMDDAT 0x08

#define I8042_CMD_READ_CTR 0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_AUX_DISABLE 0xa7
#define I8042_CMD_AUX_ENABLE 0xa8
#define I8042_CMD_AUX_TEST 0xa9
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_KBD_TEST 0xab
#define I8042_CMD_KBD_DISABLE 0xad
#define I8042_CMD_KBD_ENABLE 0xae
#define I8042_CMD_WRITE_OUTPORT 0xd1
#define I8042_CMD_RESET 0xfe

#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20

struct i8042 {
	pthread_mutex_t lock;
	uint8_t status, ctr, outbuf, pending_cmd;
	void (*reset)(void *ctx); /* the guest pulled the CPU reset line */
	void *ctx;
};

void i8042_init(struct i8042 *k, void (*reset)(void *), void *ctx);
void i8042_destroy(struct i8042 *k);
uint8_t i8042_read(struct i8042 *k, uint16_t port);
void i8042_write(struct i8042 *k, uint16_t port, uint8_t val);

struct i8042_state {
	uint8_t status, ctr, outbuf, pending_cmd;
};

void i8042_save(struct i8042 *k, struct i8042_state *st);
void i8042_load(struct i8042 *k, const struct i8042_state *st);

/* Registered as one device covering 0x60..0x64; other ports in the range read 0xff. */
extern const struct bus_ops i8042_bus_ops;

#endif
