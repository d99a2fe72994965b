/* hopxd's small helpers: random ids and tokens, token hashes, times. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hopxd.h"

char *random_token(const char *prefix, size_t bytes)
{
	unsigned char buf[64];
	GString *s = g_string_new(prefix);

	if (bytes > sizeof(buf))
		bytes = sizeof(buf);
	if (getrandom(buf, bytes, 0) != (ssize_t)bytes) /* blocks only before the pool is ready */
		g_error("getrandom failed");
	for (size_t i = 0; i < bytes; i++)
		g_string_append_printf(s, "%02x", buf[i]);
	return g_string_free(s, FALSE);
}

char *token_hash(const char *token)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
}

void iso_time(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
}

long long now_s(void)
{
	return (long long)(g_get_real_time() / G_USEC_PER_SEC);
}

/* Constant time in the contents of B (the secret). */
bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned char)(b[i] ^ (i < la ? a[i] : 0));
	return diff == 0;
}
