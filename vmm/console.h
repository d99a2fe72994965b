/* The guest console: where the UART's output goes (stdout, a file, nowhere),
 * stdin fed to the UART's receiver, and a line scanner that spots the boot
 * marks and terminal events in the kernel's log ("Run /init as init
 * process", "Kernel panic - not syncing", "reboot: Power down"). */
#ifndef HOPX_CONSOLE_H
#define HOPX_CONSOLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

enum console_event {
	CONSOLE_EV_NONE,
	CONSOLE_EV_RUN_INIT,
	CONSOLE_EV_PANIC,
	CONSOLE_EV_POWER_OFF,
	CONSOLE_EV_HALTED,
};

struct console_scanner {
	char line[256];
	size_t len;
};

/* Feed one output byte; returns the event a completed line carries. */
enum console_event console_scan(struct console_scanner *sc, uint8_t byte, char *line_out, size_t line_size);

struct console {
	int out_fd;   /* -1: discard */
	int in_fd;    /* -1: no input */
	bool restore_tty;
	struct termios saved_tty; /* the terminal as it was, for restore_tty */
	struct console_scanner scanner;
	pthread_t in_thread;
	bool in_thread_started;
	/* input thread */
	size_t (*sink)(void *, const uint8_t *, size_t);
	size_t (*room)(void *);
	void *ctx;
	const atomic_bool *stop;
};

/* Open the output (and input for stdio). MODE is enum hopx_console. 0 or -errno. */
int console_open(struct console *c, int mode, const char *path);
void console_write(struct console *c, uint8_t byte);
/* Start a thread feeding stdin to SINK while there is ROOM, until *STOP. */
int console_start_input(struct console *c, size_t (*sink)(void *, const uint8_t *, size_t),
			size_t (*room)(void *), void *ctx, const atomic_bool *stop);
void console_close(struct console *c);

#endif
