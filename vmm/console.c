/* Guest console plumbing and boot-mark scanner (see console.h). */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../include/hopx/vmm.h"
#include "../lib/log.h"

static const struct {
	const char *needle;
	enum console_event ev;
} marks[] = {
	{ "Run /init as init process", CONSOLE_EV_RUN_INIT },
	{ "Kernel panic - not syncing", CONSOLE_EV_PANIC },
	{ "reboot: Power down", CONSOLE_EV_POWER_OFF },
	{ "reboot: System halted", CONSOLE_EV_HALTED },
};

enum console_event console_scan(struct console_scanner *sc, uint8_t byte, char *line_out, size_t line_size)
{
	enum console_event ev = CONSOLE_EV_NONE;

	if (byte != '\n') {
		/* Keep the start of over-long lines: the marks sit near the start. */
		if (sc->len < sizeof(sc->line) - 1 && byte != '\r')
			sc->line[sc->len++] = (char)byte;
		return CONSOLE_EV_NONE;
	}
	sc->line[sc->len] = '\0';
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if (strstr(sc->line, marks[i].needle)) {
			ev = marks[i].ev;
			if (line_out && line_size)
				snprintf(line_out, line_size, "%s", sc->line);
			break;
		}
	}
	sc->len = 0;
	return ev;
}

int console_open(struct console *c, int mode, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->out_fd = -1;
	c->in_fd = -1;
	switch (mode) {
	case HOPX_CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->saved_tty) == 0) {
			struct termios raw = c->saved_tty;

			/* Keys go to the guest as typed; Ctrl-C still stops hopx-vmm. */
			raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
			raw.c_cc[VMIN] = 1;
			raw.c_cc[VTIME] = 0;
			if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
				c->restore_tty = true;
		}
		break;
	case HOPX_CONSOLE_FILE:
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			int err = -errno;

			pr_err("open console file %s: %s: pass a writable --console FILE", path, strerror(-err));
			return err;
		}
		break;
	case HOPX_CONSOLE_NONE:
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

void console_write(struct console *c, uint8_t byte)
{
	if (c->out_fd >= 0 && write(c->out_fd, &byte, 1) < 0 && errno != EAGAIN) {
		pr_warn("console output: %s: console output disabled", strerror(errno));
		c->out_fd = -1;
	}
}

static void *input_thread(void *arg)
{
	struct console *c = arg;
	uint8_t buf[256];

	while (!*c->stop) {
		struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
		size_t room = c->room(c->ctx);
		ssize_t n;
		int r;

		if (room == 0) { /* guest not reading: wait for it */
			usleep(10000);
			continue;
		}
		r = poll(&p, 1, 100);
		if (r <= 0)
			continue;
		n = read(c->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
		if (n <= 0)
			break; /* EOF or error: no more input */
		for (size_t off = 0; off < (size_t)n && !*c->stop;) {
			size_t put = c->sink(c->ctx, buf + off, (size_t)n - off);

			off += put;
			if (!put)
				usleep(10000);
		}
	}
	return NULL;
}

int console_start_input(struct console *c, size_t (*sink)(void *, const uint8_t *, size_t),
			size_t (*room)(void *), void *ctx, const atomic_bool *stop)
{
	int ret;

	if (c->in_fd < 0)
		return 0;
	c->sink = sink;
	c->room = room;
	c->ctx = ctx;
	c->stop = stop;
	ret = pthread_create(&c->in_thread, NULL, input_thread, c);
	if (ret) {
		pr_err("console input thread: %s", strerror(ret));
		return -ret;
	}
	c->in_thread_started = true;
	return 0;
}

void console_close(struct console *c)
{
	if (c->in_thread_started) {
		pthread_join(c->in_thread, NULL);
		c->in_thread_started = false;
	}
	if (c->restore_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved_tty);
	c->restore_tty = false;
	if (c->out_fd > STDERR_FILENO)
		close(c->out_fd);
	c->out_fd = -1;
}
