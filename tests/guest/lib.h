/* The test guest's runtime: port and MMIO access, the serial console,
 * printf, string and memory helpers, and the command line. No libc:
 * this is a freestanding ring-0 program. */
#ifndef HOPX_GUEST_LIB_H
#define HOPX_GUEST_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#define barrier() __asm__ volatile("mfence" ::: "memory")

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

void putc_serial(char c);
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Format into BUF (SIZE > 0), always NUL-terminated. */
void gprintf_to(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Test results: "TEST <name>: ok" or "TEST <name>: FAILED (...)". */
extern int test_failures;
bool check(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The command line, and values of "key=value" words in it. */
void cmdline_init(const char *cmdline);
/* Copy the value of KEY (e.g. "hopxguest.run") into BUF; false if absent. */
bool cmdline_get(const char *key, char *buf, size_t size);
uint64_t parse_u64(const char **s);

/* Pseudo-random bytes (xorshift64*), reproducible from a seed on the host. */
uint64_t xorshift(uint64_t *state);

/* A bump allocator of page-aligned, zeroed guest memory (never freed). */
void *page_alloc(size_t bytes);

#endif
