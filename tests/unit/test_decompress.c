/* bzImage payload unpacking: gzip, xz and zstd round trips, trailing data
 * ignored, corrupt/truncated input and the output limit refused; and a
 * bzImage carrying a compressed vmlinux loads as that ELF. */
#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "../../boot/decompress.h"
#include "../../boot/kernel.h"
#include "test_helpers.h"

#define PLAIN_LEN 200000

static uint8_t plain[PLAIN_LEN];

static void fill_plain(void)
{
	uint32_t x = 12345;

	for (size_t i = 0; i < PLAIN_LEN; i++) {
		x = x * 1103515245u + 12345u;
		plain[i] = (uint8_t)((i % 64 < 32) ? 'a' + (x >> 28) : (x >> 24)); /* half compressible */
	}
}

static size_t gzip_buf(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	deflateEnd(&zs);
	return zs.total_out;
}

static size_t xz_buf(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t pos = 0;

	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, &pos, cap), LZMA_OK);
	return pos;
}

static size_t zstd_buf(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t n;

	/* With a content checksum, as the zstd tool (and so the kernel build) writes. */
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
	n = ZSTD_compress2(c, out, cap, in, len);
	ZSTD_freeCCtx(c);
	assert_false(ZSTD_isError(n));
	return n;
}

typedef size_t (*compressor)(const uint8_t *, size_t, uint8_t *, size_t);

static void round_trip(compressor c, enum payload_format f)
{
	static uint8_t packed[PLAIN_LEN + 4096];
	size_t n = c(plain, PLAIN_LEN, packed, sizeof(packed) - 4);
	uint8_t *out = NULL;
	size_t out_len = 0;

	assert_int_equal(payload_detect(packed, n), f);
	/* The kernel's build appends the uncompressed size: trailing bytes are ignored. */
	memcpy(packed + n, "\x40\x0d\x03\x00", 4);
	assert_int_equal(payload_decompress(packed, n + 4, 1 << 20, &out, &out_len), 0);
	assert_int_equal(out_len, PLAIN_LEN);
	assert_memory_equal(out, plain, PLAIN_LEN);
	free(out);

	/* Output limit. */
	assert_int_equal(payload_decompress(packed, n, PLAIN_LEN - 1, &out, &out_len), -EFBIG);
	/* Truncated stream. */
	assert_int_equal(payload_decompress(packed, n / 2, 1 << 20, &out, &out_len), -EINVAL);
	/* Corrupt stream (a flipped byte in the middle). */
	packed[n / 2] ^= 0x55;
	assert_int_equal(payload_decompress(packed, n, 1 << 20, &out, &out_len), -EINVAL);
}

static void test_gzip(void **state)
{
	(void)state;
	round_trip(gzip_buf, PAYLOAD_GZIP);
}

static void test_xz(void **state)
{
	(void)state;
	round_trip(xz_buf, PAYLOAD_XZ);
}

static void test_zstd(void **state)
{
	(void)state;
	round_trip(zstd_buf, PAYLOAD_ZSTD);
}

static void test_unknown(void **state)
{
	uint8_t *out;
	size_t n;

	(void)state;
	assert_int_equal(payload_detect((const uint8_t *)"\x5d\x00\x00", 3), PAYLOAD_UNKNOWN); /* lzma */
	assert_int_equal(payload_decompress((const uint8_t *)"BZh9", 4, 100, &out, &n), -ENOTSUP);
	assert_int_equal(payload_detect((const uint8_t *)"\x1f", 1), PAYLOAD_UNKNOWN);
}

/* A bzImage whose payload is a gzip'd vmlinux: loaded as the ELF, entered at
 * its physical entry, not at the protected-mode entry. */
static void test_bzimage_with_packed_vmlinux(void **state)
{
	struct guest_mem *m = *state;
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		uint8_t code[64];
	} elf;
	static uint8_t img[8192];
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);
	struct kernel_image k;
	size_t setup = 5 * 512, packed;

	memset(&elf, 0, sizeof(elf));
	memcpy(elf.eh.e_ident, ELFMAG, SELFMAG);
	elf.eh.e_ident[EI_CLASS] = ELFCLASS64;
	elf.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	elf.eh.e_type = ET_EXEC;
	elf.eh.e_machine = EM_X86_64;
	elf.eh.e_entry = 0x2000010;
	elf.eh.e_phoff = offsetof(__typeof__(elf), ph);
	elf.eh.e_phentsize = sizeof(Elf64_Phdr);
	elf.eh.e_phnum = 1;
	elf.ph.p_type = PT_LOAD;
	elf.ph.p_offset = offsetof(__typeof__(elf), code);
	elf.ph.p_paddr = 0x2000000;
	elf.ph.p_filesz = sizeof(elf.code);
	elf.ph.p_memsz = 4096;
	memset(elf.code, 0x90, sizeof(elf.code));

	memset(img, 0, sizeof(img));
	h->setup_sects = 4;
	h->boot_flag = 0xaa55;
	h->jump = 0x66eb;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->xloadflags = XLF_KERNEL_64;
	h->pref_address = 0x1000000;
	h->init_size = 0x10000;
	h->payload_offset = 0x100;
	packed = gzip_buf((const uint8_t *)&elf, sizeof(elf), img + setup + 0x100, sizeof(img) - setup - 0x100 - 8);
	h->payload_length = (uint32_t)packed;
	h->syssize = (uint32_t)((0x100 + packed + 15) / 16);

	assert_int_equal(kernel_load(m, img, setup + 0x100 + packed + 8, &k), 0);
	assert_true(k.bzimage);
	assert_true(k.host_decompressed);
	assert_int_equal(k.entry, 0x2000010);
	assert_int_equal(k.hdr.version, 0x020f);
	assert_memory_equal(guest_mem_ptr(m, 0x2000000, sizeof(elf.code)), elf.code, sizeof(elf.code));

	/* A payload that unpacks to something other than a vmlinux is refused. */
	memset(&elf.eh, 0, 4);
	packed = gzip_buf((const uint8_t *)&elf, sizeof(elf), img + setup + 0x100, sizeof(img) - setup - 0x100 - 8);
	h->payload_length = (uint32_t)packed;
	assert_int_equal(kernel_load(m, img, setup + 0x100 + packed + 8, &k), -ENOEXEC);
	/* A payload range outside the file falls back to the protected-mode path. */
	h->payload_offset = 0x7fffffff;
	assert_int_equal(kernel_load(m, img, setup + 0x100 + packed + 8, &k), 0);
	assert_false(k.host_decompressed);
	assert_int_equal(k.entry, 0x1000200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_xz),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_bzimage_with_packed_vmlinux),
	};

	fill_plain();
	return cmocka_run_group_tests_name("decompress", tests, mem_setup, mem_teardown);
}
