/* virtio-blk scenarios of the test guest: reads checked against the pattern
 * the host wrote into the image, multi-segment reads, write + flush + read
 * back (the host checks the image afterwards), get-id, discard, and the
 * requests that must fail: beyond the end, wrong direction, writes to a
 * read-only drive. Also the I/O benchmark loops. */
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "guest.h"
#include "irq.h"
#include "lib.h"
#include "virtio.h"

#define TIMEOUT_MS 30000

/* The host fills images with this: 64-bit word i of the file. */
uint64_t blk_pattern(uint64_t word)
{
	return (word + 1) * 0x9e3779b97f4a7c15ULL;
}

static bool pattern_ok(const uint64_t *p, uint64_t first_word, uint64_t n, uint64_t xor)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != (blk_pattern(first_word + i) ^ xor))
			return false;
	return true;
}

struct blk_hdr {
	struct virtio_blk_outhdr h;
	uint8_t status;
};

/* One request: TYPE at SECTOR with LEN bytes of BUF split in NSEG segments.
 * DATA_WRITABLE overrides the direction of the data (for the wrong-direction
 * test). Returns the status byte, or -1 on timeout. */
int blk_req(struct gdev *d, uint32_t type, uint64_t sector, void *buf, uint32_t len, unsigned int nseg,
	    int data_writable, uint32_t *used_len)
{
	static struct blk_hdr *hdr;
	struct seg s[18];
	unsigned int n = 0;
	uint16_t id;
	uint32_t ulen;

	if (!hdr)
		hdr = page_alloc(sizeof(*hdr));
	hdr->h.type = type;
	hdr->h.ioprio = 0;
	hdr->h.sector = sector;
	hdr->status = 0xff;
	s[n++] = (struct seg){ &hdr->h, sizeof(hdr->h), false };
	if (len) {
		bool w = data_writable >= 0 ? data_writable : type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;

		for (unsigned int i = 0; i < nseg; i++)
			s[n++] = (struct seg){ (uint8_t *)buf + i * (len / nseg), len / nseg, w };
	}
	s[n++] = (struct seg){ &hdr->status, 1, true };
	if (vq_add(&d->q[0], s, n) < 0)
		return -1;
	vq_kick(d, 0);
	if (!vq_wait(d, 0, TIMEOUT_MS) || !vq_used(d, 0, &id, &ulen))
		return -1;
	if (used_len)
		*used_len = ulen;
	return hdr->status;
}

void blk_tests(struct gdev *d, struct gdev *ro)
{
	uint64_t *buf = page_alloc(64 * 1024);
	char id[21] = { 0 }, want_id[32];
	uint64_t cap;
	int st;

	if (!check(virtio_setup(d, (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_DISCARD) |
				      (1ULL << VIRTIO_RING_F_INDIRECT_DESC), 1),
		   "blk-setup", "status %x", virtio_status(d)))
		return;
	cap = virtio_config32(d, 0) | (uint64_t)virtio_config32(d, 4) << 32;
	gprintf("hopx-test-guest: blk capacity %lu sectors, features %lx\n", cap, d->features);

	st = blk_req(d, VIRTIO_BLK_T_IN, 0, buf, 4096, 1, -1, NULL);
	check(st == VIRTIO_BLK_S_OK && pattern_ok(buf, 0, 512, 0), "blk-read", "status %d, word0 %lx", st, buf[0]);

	st = blk_req(d, VIRTIO_BLK_T_IN, 100, buf, 4 * 512, 4, -1, NULL);
	check(st == VIRTIO_BLK_S_OK && pattern_ok(buf, 100 * 64, 256, 0), "blk-read-4-segments", "status %d", st);

	for (uint64_t i = 0; i < 512; i++)
		buf[i] = blk_pattern(16 * 64 + i) ^ ~0ULL;
	st = blk_req(d, VIRTIO_BLK_T_OUT, 16, buf, 4096, 2, -1, NULL);
	check(st == VIRTIO_BLK_S_OK, "blk-write", "status %d", st);
	st = blk_req(d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0, -1, NULL);
	check(st == VIRTIO_BLK_S_OK, "blk-flush", "status %d", st);
	memset(buf, 0, 4096);
	st = blk_req(d, VIRTIO_BLK_T_IN, 16, buf, 4096, 1, -1, NULL);
	check(st == VIRTIO_BLK_S_OK && pattern_ok(buf, 16 * 64, 512, ~0ULL), "blk-write-read-back", "status %d", st);

	st = blk_req(d, VIRTIO_BLK_T_GET_ID, 0, id, 20, 1, -1, NULL);
	if (!cmdline_get("hopxguest.blkid", want_id, sizeof(want_id)))
		want_id[0] = '\0';
	check(st == VIRTIO_BLK_S_OK && strncmp(id, want_id, 20) == 0, "blk-get-id", "status %d id '%s'", st, id);

	if (d->features & (1ULL << VIRTIO_BLK_F_DISCARD)) {
		struct virtio_blk_discard_write_zeroes *dz = (void *)buf;

		dz->sector = 32;
		dz->num_sectors = 8;
		dz->flags = 0;
		st = blk_req(d, VIRTIO_BLK_T_DISCARD, 0, dz, sizeof(*dz), 1, 0, NULL);
		memset(buf, 0xee, 4096);
		if (st == VIRTIO_BLK_S_OK)
			st = blk_req(d, VIRTIO_BLK_T_IN, 32, buf, 4096, 1, -1, NULL);
		check(st == VIRTIO_BLK_S_OK && buf[0] == 0 && buf[511] == 0, "blk-discard-reads-zeroes",
		      "status %d word %lx", st, buf[0]);
	}

	st = blk_req(d, VIRTIO_BLK_T_IN, cap, buf, 512, 1, -1, NULL);
	check(st == VIRTIO_BLK_S_IOERR, "blk-read-beyond-end-fails", "status %d", st);
	st = blk_req(d, VIRTIO_BLK_T_IN, cap - 1, buf, 1024, 1, -1, NULL);
	check(st == VIRTIO_BLK_S_IOERR, "blk-read-across-end-fails", "status %d", st);
	st = blk_req(d, VIRTIO_BLK_T_IN, 0, buf, 512, 1, 0, NULL); /* data readable: wrong direction */
	check(st == VIRTIO_BLK_S_IOERR, "blk-wrong-direction-fails", "status %d", st);
	st = blk_req(d, VIRTIO_BLK_T_IN, 0, buf, 4096, 1, -1, NULL);
	check(st == VIRTIO_BLK_S_OK && pattern_ok(buf, 0, 512, 0), "blk-works-after-errors", "status %d", st);

	if (ro) {
		check(virtio_setup(ro, 1ULL << VIRTIO_BLK_F_RO, 1) && (ro->features & (1ULL << VIRTIO_BLK_F_RO)),
		      "blk-ro-offers-RO", "features %lx", ro->features);
		for (uint64_t i = 0; i < 512; i++)
			buf[i] = 0x5555555555555555ULL;
		st = blk_req(ro, VIRTIO_BLK_T_OUT, 0, buf, 4096, 1, -1, NULL);
		check(st == VIRTIO_BLK_S_IOERR, "blk-ro-write-refused", "status %d", st);
		st = blk_req(ro, VIRTIO_BLK_T_IN, 0, buf, 4096, 1, -1, NULL);
		check(st == VIRTIO_BLK_S_OK && pattern_ok(buf, 0, 512, 0), "blk-ro-read", "status %d", st);
	}
}

/* Benchmarks: sequential reads of TOTAL bytes in 128 KiB requests, and 4 KiB
 * random reads, DEPTH requests in flight; the host times the marker lines. */
void blk_bench(struct gdev *d, uint64_t total_mib, uint64_t rand_ops)
{
	enum { DEPTH = 16, SEQ = 128 * 1024 };
	struct blk_hdr *hdrs = page_alloc(DEPTH * sizeof(*hdrs));
	uint8_t *bufs = page_alloc((uint64_t)DEPTH * SEQ);
	uint64_t cap, seed = 42, done = 0, issued = 0, errors = 0, total;
	uint16_t slot_of[QUEUE_SIZE];

	if (!virtio_setup(d, 0, 1)) {
		check(false, "blk-bench-setup", "status %x", virtio_status(d));
		return;
	}
	cap = virtio_config32(d, 0) | (uint64_t)virtio_config32(d, 4) << 32;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t len = pass == 0 ? SEQ : 4096;
		uint64_t ops = pass == 0 ? (total_mib << 20) / SEQ : rand_ops, seq_sector = 0;

		total = ops;
		done = issued = 0;
		gprintf("BENCH %s start\n", pass == 0 ? "blk-seq-read" : "blk-rand-read-4k");
		while (done < total) {
			while (issued < total && issued - done < DEPTH) {
				unsigned int slot = (unsigned int)(issued % DEPTH);
				uint64_t sector;
				struct seg s[3];
				int head;

				if (pass == 0) {
					sector = seq_sector;
					seq_sector = (seq_sector + len / 512) % (cap - len / 512);
				} else {
					sector = (xorshift(&seed) % (cap / 8)) * 8;
				}
				hdrs[slot].h.type = VIRTIO_BLK_T_IN;
				hdrs[slot].h.sector = sector;
				hdrs[slot].status = 0xff;
				s[0] = (struct seg){ &hdrs[slot].h, sizeof(hdrs[slot].h), false };
				s[1] = (struct seg){ bufs + (uint64_t)slot * SEQ, len, true };
				s[2] = (struct seg){ &hdrs[slot].status, 1, true };
				head = vq_add(&d->q[0], s, 3);
				if (head < 0)
					break;
				slot_of[head] = (uint16_t)slot;
				issued++;
			}
			vq_kick(d, 0);
			if (!vq_wait(d, 0, TIMEOUT_MS)) {
				check(false, "blk-bench", "timeout with %lu of %lu done", done, total);
				return;
			}
			for (uint16_t id; vq_used(d, 0, &id, &(uint32_t){ 0 });) {
				errors += hdrs[slot_of[id % QUEUE_SIZE]].status != VIRTIO_BLK_S_OK;
				done++;
			}
		}
		gprintf("BENCH %s end ops=%lu bytes=%lu errors=%lu\n", pass == 0 ? "blk-seq-read" : "blk-rand-read-4k",
			total, total * len, errors);
	}
}
