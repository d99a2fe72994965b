/* Guest RAM mapping and bounds-checked guest-physical access (see memory.h). */
#include "memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "util.h"

static bool size_ok(uint64_t size)
{
	return size >= GUEST_MEM_MIN_MIB << 20 && size <= GUEST_MEM_MAX_MIB << 20 && size % 4096 == 0;
}

/* Take the mapping P of SIZE bytes as guest RAM. */
static void adopt(struct guest_mem *m, void *p, uint64_t size)
{
	/* Guest RAM must not end up in core dumps or be merged across VMs by accident. */
	madvise(p, size, MADV_DONTDUMP);
	m->host = p;
	m->size = size;
	m->low_size = MIN(size, MMIO_GAP_START);
}

int guest_mem_init(struct guest_mem *m, uint64_t size)
{
	void *p;

	memset(m, 0, sizeof(*m));
	if (!size_ok(size)) {
		pr_err("guest memory of %llu bytes: must be %llu MiB..%llu MiB, page aligned",
		       (unsigned long long)size, GUEST_MEM_MIN_MIB, GUEST_MEM_MAX_MIB);
		return -EINVAL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		pr_err("mmap %llu MiB of guest memory: %s: try a smaller --mem-mib",
		       (unsigned long long)(size >> 20), strerror(-err));
		return err;
	}
	adopt(m, p, size);
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	memset(m, 0, sizeof(*m));
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (range_within(gpa, len, m->low_size))
		return m->host + gpa;
	if (gpa >= MMIO_GAP_END && range_within(gpa - MMIO_GAP_END, len, m->size - m->low_size))
		return m->host + m->low_size + (gpa - MMIO_GAP_END);
	return NULL;
}

uint64_t guest_mem_end(const struct guest_mem *m)
{
	if (m->size == m->low_size)
		return m->size;
	return MMIO_GAP_END + (m->size - m->low_size);
}

int guest_mem_map_file(struct guest_mem *m, int fd, uint64_t size)
{
	void *p;

	memset(m, 0, sizeof(*m));
	if (!size_ok(size)) {
		pr_err("guest memory of %llu bytes in a snapshot: not a valid size", (unsigned long long)size);
		return -EINVAL;
	}
	/* MAP_PRIVATE: pages load on first touch, clones share the page cache,
	 * and guest writes never reach the file. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		pr_err("mmap the snapshot memory file (%llu MiB): %s", (unsigned long long)(size >> 20), strerror(-err));
		return err;
	}
	adopt(m, p, size);
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned int i = 0; i < 4096 / 8; i++)
		if (q[i])
			return false;
	return true;
}

int guest_mem_save(const struct guest_mem *m, int fd, uint64_t *written)
{
	uint64_t off = 0, nonzero = 0;

	/* A sparse file: zero pages stay holes. */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)m->size) < 0)
		return -errno;
	while (off < m->size) {
		uint64_t start, len;

		while (off < m->size && page_is_zero(m->host + off))
			off += 4096;
		start = off;
		while (off < m->size && !page_is_zero(m->host + off))
			off += 4096;
		for (len = off - start; len;) {
			ssize_t n = pwrite(fd, m->host + start, len, (off_t)start);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			start += (uint64_t)n;
			len -= (uint64_t)n;
			nonzero += (uint64_t)n;
		}
	}
	if (written)
		*written = nonzero;
	return 0;
}
