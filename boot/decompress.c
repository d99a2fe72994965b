/* bzImage payload decompression with zlib, liblzma and libzstd (see
 * decompress.h). Each decoder grows the output buffer geometrically up to the
 * limit; corrupt or truncated input is an error, never a partial result. */
#include "decompress.h"

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "../lib/log.h"

enum payload_format payload_detect(const uint8_t *p, size_t len)
{
	static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
	static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	if (len >= 2 && p[0] == 0x1f && (p[1] == 0x8b || p[1] == 0x9e))
		return PAYLOAD_GZIP;
	if (len >= sizeof(xz_magic) && memcmp(p, xz_magic, sizeof(xz_magic)) == 0)
		return PAYLOAD_XZ;
	if (len >= sizeof(zstd_magic) && memcmp(p, zstd_magic, sizeof(zstd_magic)) == 0)
		return PAYLOAD_ZSTD;
	return PAYLOAD_UNKNOWN;
}

const char *payload_format_name(enum payload_format f)
{
	switch (f) {
	case PAYLOAD_GZIP: return "gzip";
	case PAYLOAD_XZ: return "xz";
	case PAYLOAD_ZSTD: return "zstd";
	default: return "unknown";
	}
}

/* Make room for at least one more byte; 0, -EFBIG or -ENOMEM. */
static int grow(uint8_t **buf, size_t *cap, size_t limit)
{
	size_t ncap = *cap ? *cap * 2 : 16u << 20;
	uint8_t *n;

	if (*cap >= limit)
		return -EFBIG;
	if (ncap > limit)
		ncap = limit;
	n = realloc(*buf, ncap);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

static int gunzip(const uint8_t *p, size_t len, size_t limit, uint8_t **buf, size_t *cap, size_t *n)
{
	z_stream zs;
	int zr, ret = 0;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)p;
	zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	do {
		if (zs.total_out == *cap && (ret = grow(buf, cap, limit)))
			break;
		zs.next_out = *buf + zs.total_out;
		zs.avail_out = (uInt)(*cap - zs.total_out);
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && zs.avail_out == 0)) {
			ret = -EINVAL;
			break;
		}
	} while (zr != Z_STREAM_END);
	*n = zs.total_out;
	inflateEnd(&zs);
	return ret;
}

static int unxz(const uint8_t *p, size_t len, size_t limit, uint8_t **buf, size_t *cap, size_t *n)
{
	lzma_stream xs = LZMA_STREAM_INIT;
	lzma_ret lr;
	int ret = 0;

	if (lzma_stream_decoder(&xs, UINT64_MAX, 0) != LZMA_OK)
		return -ENOMEM;
	xs.next_in = p;
	xs.avail_in = len;
	do {
		if (xs.total_out == *cap && (ret = grow(buf, cap, limit)))
			break;
		xs.next_out = *buf + xs.total_out;
		xs.avail_out = *cap - xs.total_out;
		lr = lzma_code(&xs, LZMA_FINISH);
		if (lr != LZMA_OK && lr != LZMA_STREAM_END && !(lr == LZMA_BUF_ERROR && xs.avail_out == 0)) {
			ret = -EINVAL;
			break;
		}
	} while (lr != LZMA_STREAM_END);
	*n = xs.total_out;
	lzma_end(&xs);
	return ret;
}

static int unzstd(const uint8_t *p, size_t len, size_t limit, uint8_t **buf, size_t *cap, size_t *n)
{
	ZSTD_DStream *zs = ZSTD_createDStream();
	ZSTD_inBuffer in = { p, len, 0 };
	size_t r = 1;
	int ret = 0;

	if (!zs)
		return -ENOMEM;
	*n = 0;
	while (r != 0) {
		ZSTD_outBuffer out;

		if (*n == *cap && (ret = grow(buf, cap, limit)))
			break;
		out = (ZSTD_outBuffer){ *buf, *cap, *n };
		r = ZSTD_decompressStream(zs, &out, &in);
		*n = out.pos;
		if (ZSTD_isError(r) || (r != 0 && in.pos == in.size && out.pos < out.size)) {
			ret = -EINVAL; /* corrupt, or input ended inside the frame */
			break;
		}
	}
	ZSTD_freeDStream(zs);
	return ret;
}

int payload_decompress(const uint8_t *p, size_t len, size_t limit, uint8_t **out, size_t *out_len)
{
	enum payload_format f = payload_detect(p, len);
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;
	int ret;

	switch (f) {
	case PAYLOAD_GZIP: ret = gunzip(p, len, limit, &buf, &cap, &n); break;
	case PAYLOAD_XZ: ret = unxz(p, len, limit, &buf, &cap, &n); break;
	case PAYLOAD_ZSTD: ret = unzstd(p, len, limit, &buf, &cap, &n); break;
	default: return -ENOTSUP;
	}
	if (ret) {
		free(buf);
		if (ret == -EINVAL)
			pr_err("kernel: %s payload is corrupt or truncated", payload_format_name(f));
		else if (ret == -EFBIG)
			pr_err("kernel: %s payload decompresses to more than %zu MiB", payload_format_name(f), limit >> 20);
		return ret;
	}
	*out = buf;
	*out_len = n;
	return 0;
}
