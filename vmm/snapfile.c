/* Snapshot state files (see snapfile.h). */
#include "snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../lib/log.h"
#include "../lib/util.h"

#define SNAP_BUF (8u << 20)

static void fdt_fail(struct snapw *w, int ret, const char *what)
{
	if (ret < 0 && !w->err) {
		pr_err("snapshot: building the state tree (%s): %s", what, fdt_strerror(ret));
		w->err = ret == -FDT_ERR_NOSPACE ? -E2BIG : -EINVAL;
	}
}

int snapw_init(struct snapw *w)
{
	w->err = 0;
	w->cap = SNAP_BUF;
	w->fdt = calloc(1, w->cap);
	if (!w->fdt)
		return -ENOMEM;
	fdt_fail(w, fdt_create(w->fdt, (int)w->cap), "create");
	fdt_fail(w, fdt_finish_reservemap(w->fdt), "reservemap");
	fdt_fail(w, fdt_begin_node(w->fdt, ""), "root");
	return w->err;
}

void snapw_begin(struct snapw *w, const char *node)
{
	if (!w->err)
		fdt_fail(w, fdt_begin_node(w->fdt, node), node);
}

void snapw_end(struct snapw *w)
{
	if (!w->err)
		fdt_fail(w, fdt_end_node(w->fdt), "end node");
}

void snapw_u32(struct snapw *w, const char *name, uint32_t v)
{
	if (!w->err)
		fdt_fail(w, fdt_property_u32(w->fdt, name, v), name);
}

void snapw_u64(struct snapw *w, const char *name, uint64_t v)
{
	if (!w->err)
		fdt_fail(w, fdt_property_u64(w->fdt, name, v), name);
}

void snapw_str(struct snapw *w, const char *name, const char *s)
{
	if (!w->err)
		fdt_fail(w, fdt_property_string(w->fdt, name, s), name);
}

void snapw_blob(struct snapw *w, const char *name, const void *p, size_t len)
{
	if (!w->err)
		fdt_fail(w, fdt_property(w->fdt, name, p, (int)len), name);
}

static int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p = (const uint8_t *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

int snapw_finish(struct snapw *w, const char *path)
{
	struct snap_header h = { .magic = SNAP_MAGIC, .version = SNAP_VERSION };
	char tmp[4096];
	int fd, ret = w->err;

	if (!ret)
		fdt_fail(w, fdt_end_node(w->fdt), "root end");
	if (!w->err)
		fdt_fail(w, fdt_finish(w->fdt), "finish");
	ret = w->err;
	if (ret)
		goto out;
	h.size = fdt_totalsize(w->fdt);
	h.crc32 = (uint32_t)crc32(0, w->fdt, (uInt)h.size);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		pr_err("snapshot: create %s: %s", tmp, strerror(errno));
		goto out;
	}
	ret = write_all(fd, &h, sizeof(h));
	if (!ret)
		ret = write_all(fd, w->fdt, h.size);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret) {
		pr_err("snapshot: write %s: %s", path, strerror(-ret));
		unlink(tmp);
	}
out:
	free(w->fdt);
	w->fdt = NULL;
	return ret;
}

int snapr_parse(struct snapr *r, const void *file, size_t size, const char *what)
{
	struct snap_header h;
	int ret;

	memset(r, 0, sizeof(*r));
	r->path = what;
	if (size < sizeof(h)) {
		pr_err("snapshot %s: %zu bytes: truncated (not even a header)", what, size);
		return -EINVAL;
	}
	memcpy(&h, file, sizeof(h));
	if (memcmp(h.magic, SNAP_MAGIC, 8) != 0) {
		pr_err("snapshot %s: not a hopx state file (bad magic)", what);
		return -EINVAL;
	}
	if (h.version != SNAP_VERSION) {
		pr_err("snapshot %s: format version %u, this hopx-vmm reads version %d", what, h.version, SNAP_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h.size != size - sizeof(h) || h.size > SNAP_MAX_SIZE) {
		pr_err("snapshot %s: header says %llu bytes of state, file has %zu: truncated or padded", what,
		       (unsigned long long)h.size, size - sizeof(h));
		return -EINVAL;
	}
	if ((uint32_t)crc32(0, (const uint8_t *)file + sizeof(h), (uInt)h.size) != h.crc32) {
		pr_err("snapshot %s: CRC32 mismatch: the file is corrupt", what);
		return -EBADMSG;
	}
	r->fdt = malloc(h.size);
	if (!r->fdt)
		return -ENOMEM;
	memcpy(r->fdt, (const uint8_t *)file + sizeof(h), h.size);
	r->size = h.size;
	ret = fdt_check_full(r->fdt, r->size);
	if (ret) {
		pr_err("snapshot %s: malformed state tree: %s", what, fdt_strerror(ret));
		snapr_free(r);
		return -EINVAL;
	}
	return 0;
}

int snapr_load(struct snapr *r, const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_free uint8_t *buf = NULL;
	struct stat st;
	size_t off = 0;

	if (fd < 0) {
		int err = -errno;

		pr_err("open snapshot state %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)(SNAP_MAX_SIZE + sizeof(struct snap_header))) {
		pr_err("snapshot state %s: not a regular file of a sane size", path);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n <= 0) {
			pr_err("read snapshot state %s: %s", path, n < 0 ? strerror(errno) : "short read");
			return -EIO;
		}
		off += (size_t)n;
	}
	return snapr_parse(r, buf, off, path);
}

void snapr_free(struct snapr *r)
{
	free(r->fdt);
	r->fdt = NULL;
}

int snapr_node(struct snapr *r, int parent, const char *name)
{
	int off = fdt_subnode_offset(r->fdt, parent, name);

	if (off < 0) {
		pr_err("snapshot %s: no '%s' node: %s", r->path, name, fdt_strerror(off));
		return -ENOENT;
	}
	return off;
}

int snapr_child(struct snapr *r, int parent, const char *name)
{
	int off = fdt_subnode_offset(r->fdt, parent, name);

	return off < 0 ? -ENOENT : off;
}

const void *snapr_blob_var(struct snapr *r, int node, const char *name, size_t max, size_t *len)
{
	int l = 0;
	const void *p = fdt_getprop(r->fdt, node, name, &l);

	if (!p || l < 0 || (size_t)l > max) {
		pr_err("snapshot %s: property '%s' of node '%s' %s", r->path, name, fdt_get_name(r->fdt, node, NULL),
		       p ? "is too long" : "is missing");
		return NULL;
	}
	*len = (size_t)l;
	return p;
}

int snapr_blob(struct snapr *r, int node, const char *name, void *out, size_t len)
{
	size_t l;
	const void *p = snapr_blob_var(r, node, name, len, &l);

	if (!p)
		return -EINVAL;
	if (l != len) {
		pr_err("snapshot %s: property '%s' of node '%s' has %zu bytes, expected %zu", r->path, name,
		       fdt_get_name(r->fdt, node, NULL), l, len);
		return -EINVAL;
	}
	memcpy(out, p, len);
	return 0;
}

int snapr_u32(struct snapr *r, int node, const char *name, uint32_t *v)
{
	fdt32_t x;
	int ret = snapr_blob(r, node, name, &x, sizeof(x));

	if (!ret)
		*v = fdt32_to_cpu(x);
	return ret;
}

int snapr_u64(struct snapr *r, int node, const char *name, uint64_t *v)
{
	fdt64_t x;
	int ret = snapr_blob(r, node, name, &x, sizeof(x));

	if (!ret)
		*v = fdt64_to_cpu(x);
	return ret;
}

const char *snapr_str(struct snapr *r, int node, const char *name, size_t max)
{
	size_t l;
	const char *p = snapr_blob_var(r, node, name, max, &l);

	if (!p)
		return NULL;
	if (l == 0 || p[l - 1] != '\0' || strlen(p) != l - 1) {
		pr_err("snapshot %s: property '%s' is not a string", r->path, name);
		return NULL;
	}
	return p;
}
