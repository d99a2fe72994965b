/* Host-side decompression of a bzImage's payload (gzip, xz or zstd, by magic),
 * so the guest starts in the kernel proper instead of spending its first
 * seconds (minutes, on software-KVM hosts, where every guest kernel
 * instruction is emulated) in the in-guest decompressor. Bounded: the output
 * never exceeds the limit given. */
#ifndef HOPX_BOOT_DECOMPRESS_H
#define HOPX_BOOT_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum payload_format { PAYLOAD_UNKNOWN, PAYLOAD_GZIP, PAYLOAD_XZ, PAYLOAD_ZSTD };

enum payload_format payload_detect(const uint8_t *p, size_t len);
const char *payload_format_name(enum payload_format f);

/* Decompress the first stream of P into a malloc'd buffer of at most LIMIT
 * bytes (trailing data after the stream, like the size the kernel's build
 * appends, is ignored). 0 or -errno: -ENOTSUP unknown format, -EFBIG over
 * LIMIT, -EINVAL corrupt data. */
int payload_decompress(const uint8_t *p, size_t len, size_t limit, uint8_t **out, size_t *out_len);

#endif
