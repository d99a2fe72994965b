/* Runtime of the hopx test guest (see lib.h). */
#include "lib.h"

#define COM1 0x3f8

int test_failures;
static const char *cmdline;
extern char stack[]; /* start.S: the bump allocator starts past the image */

/* Ring-0 code runs in the instruction emulator on software-KVM hosts: one
 * string instruction costs far less there than a loop of them. */
void *memset(void *d, int c, size_t n)
{
	void *p = d;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;

	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/* gprintf_to() points this at its buffer. */
static char *sbuf;
static size_t sbuf_len, sbuf_size;

void putc_serial(char c)
{
	if (sbuf) {
		if (sbuf_len + 1 < sbuf_size)
			sbuf[sbuf_len++] = c;
		return;
	}
	/* Wait for THR empty (bounded: a missing UART must not hang us). */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

static void put_num(uint64_t v, unsigned int base, int width, char pad, bool neg)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (n < width--)
		putc_serial(pad);
	while (n)
		putc_serial(buf[--n]);
}

static void vgprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			putc_serial(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

			put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0);
			break;
		}
		case 'u':
			put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 10, width, pad, false);
			break;
		case 'x':
			put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int), 16, width, pad, false);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			while (s && *s)
				putc_serial(*s++);
			break;
		}
		case 'c':
			putc_serial((char)va_arg(ap, int));
			break;
		default:
			putc_serial('%');
			putc_serial(*fmt);
			break;
		}
	}
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vgprintf(fmt, ap);
	va_end(ap);
}

void gprintf_to(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	sbuf = buf;
	sbuf_len = 0;
	sbuf_size = size;
	va_start(ap, fmt);
	vgprintf(fmt, ap);
	va_end(ap);
	buf[sbuf_len] = '\0';
	sbuf = NULL;
}

bool check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	extern uint64_t ticks(void);

	gprintf("[%lu] TEST %s: %s", ticks(), name, ok ? "ok" : "FAILED (");
	if (!ok) {
		va_start(ap, fmt);
		vgprintf(fmt, ap);
		va_end(ap);
		gprintf(")");
		test_failures++;
	}
	gprintf("\n");
	return ok;
}

void cmdline_init(const char *c)
{
	cmdline = c;
}

bool cmdline_get(const char *key, char *buf, size_t size)
{
	size_t kl = strlen(key);
	const char *p = cmdline;

	while (p && *p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t n = 0;

			p += kl + 1;
			while (*p && *p != ' ' && n + 1 < size)
				buf[n++] = *p++;
			buf[n] = '\0';
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

uint64_t parse_u64(const char **s)
{
	const char *p = *s;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		for (p += 2;; p++) {
			int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
				: *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
			if (d < 0)
				break;
			v = v * 16 + (uint64_t)d;
		}
	} else {
		while (*p >= '0' && *p <= '9')
			v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*s = p;
	return v;
}

uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void *page_alloc(size_t bytes)
{
	static uint64_t next;
	void *p;

	if (!next)
		next = ((uint64_t)stack + 65536 + 0xfffff) & ~0xfffffULL; /* 1 MiB past the stack */
	/* Guest RAM starts zeroed and nothing is freed: no need to clear. */
	p = (void *)next;
	next += (bytes + 4095) & ~4095ULL;
	return p;
}
