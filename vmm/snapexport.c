/* Moving snapshots between hosts: one gzip (zlib) file holding the state
 * file and the memory file, written by export and unpacked by import into a
 * state file and a sparse memory file (zero pages left as holes). Import
 * checks the state file (header, CRC, tree) and that the memory has the
 * size the state says before it writes anything under the final names.
 *
 *   gzip( "HOPXEXP1" | u64 state bytes | state | u64 memory bytes | memory ) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../lib/layout.h"
#include "../include/hopx/vmm.h"
#include "../lib/log.h"
#include "snapfile.h"
#include "../lib/util.h"

#define EXPORT_MAGIC "HOPXEXP1"
#define CHUNK (1u << 20)

static int gz_fail(gzFile gz, const char *what, const char *path)
{
	int zerr;
	const char *msg = gz ? gzerror(gz, &zerr) : "cannot open";

	pr_err("%s %s: %s", what, path, msg && *msg ? msg : strerror(errno));
	return -EIO;
}

static int read_all(int fd, void *p, size_t n, off_t off)
{
	while (n) {
		ssize_t r = pread(fd, p, n, off);

		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p = (uint8_t *)p + r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

int hopx_snapshot_export(const char *state_path, const char *mem_path, const char *out_path)
{
	struct snapr r;
	cleanup_close int mfd = -1, sfd = -1;
	cleanup_free uint8_t *buf = NULL;
	char tmp[4096];
	struct stat ms, ss;
	gzFile gz;
	uint64_t n;
	int ret;

	ret = snapr_load(&r, state_path); /* only export what a restore would accept */
	if (ret)
		return ret;
	snapr_free(&r);
	sfd = open(state_path, O_RDONLY | O_CLOEXEC);
	mfd = open(mem_path, O_RDONLY | O_CLOEXEC);
	if (sfd < 0 || mfd < 0 || fstat(sfd, &ss) < 0 || fstat(mfd, &ms) < 0) {
		pr_err("export: open %s: %s", sfd < 0 ? state_path : mem_path, strerror(errno));
		return -errno;
	}
	buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out_path, (int)getpid());
	gz = gzopen(tmp, "wb6");
	if (!gz)
		return gz_fail(gz, "export: create", tmp);
	ret = gzwrite(gz, EXPORT_MAGIC, 8) == 8 ? 0 : -EIO;
	n = (uint64_t)ss.st_size;
	if (!ret && gzwrite(gz, &n, 8) != 8)
		ret = -EIO;
	for (uint64_t off = 0; !ret && off < (uint64_t)ss.st_size; off += CHUNK) {
		size_t len = MIN((uint64_t)CHUNK, (uint64_t)ss.st_size - off);

		ret = read_all(sfd, buf, len, (off_t)off);
		if (!ret && gzwrite(gz, buf, (unsigned)len) != (int)len)
			ret = -EIO;
	}
	n = (uint64_t)ms.st_size;
	if (!ret && gzwrite(gz, &n, 8) != 8)
		ret = -EIO;
	for (uint64_t off = 0; !ret && off < (uint64_t)ms.st_size; off += CHUNK) {
		size_t len = MIN((uint64_t)CHUNK, (uint64_t)ms.st_size - off);

		ret = read_all(mfd, buf, len, (off_t)off);
		if (!ret && gzwrite(gz, buf, (unsigned)len) != (int)len)
			ret = -EIO;
	}
	if (ret)
		gz_fail(gz, "export: write", tmp);
	if (gzclose(gz) != Z_OK && !ret)
		ret = -EIO;
	if (!ret && rename(tmp, out_path) < 0)
		ret = -errno;
	if (ret) {
		pr_err("export to %s failed: %s", out_path, strerror(-ret));
		unlink(tmp);
	}
	return ret;
}

static int gz_read(gzFile gz, void *p, size_t n)
{
	while (n) {
		int r = gzread(gz, p, (unsigned)MIN(n, (size_t)CHUNK));

		if (r <= 0)
			return -EIO;
		p = (uint8_t *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int hopx_snapshot_import(const char *in_path, const char *state_path, const char *mem_path)
{
	gzFile gz = gzopen(in_path, "rb");
	cleanup_free uint8_t *state = NULL;
	cleanup_free uint8_t *buf = NULL;
	char magic[8], stmp[4096], mtmp[4096];
	uint64_t slen, mlen, want = 0;
	struct snapr r;
	int sfd = -1, mfd = -1, ret, m;

	if (!gz)
		return gz_fail(gz, "import: open", in_path);
	ret = gz_read(gz, magic, 8);
	if (!ret && memcmp(magic, EXPORT_MAGIC, 8) != 0) {
		pr_err("import %s: not a hopx snapshot export", in_path);
		ret = -EINVAL;
	}
	if (!ret)
		ret = gz_read(gz, &slen, 8);
	if (!ret && (slen < sizeof(struct snap_header) || slen > SNAP_MAX_SIZE + sizeof(struct snap_header))) {
		pr_err("import %s: state of %llu bytes is absurd", in_path, (unsigned long long)slen);
		ret = -EINVAL;
	}
	if (!ret && !(state = malloc(slen)))
		ret = -ENOMEM;
	if (!ret)
		ret = gz_read(gz, state, slen);
	if (!ret)
		ret = snapr_parse(&r, state, slen, in_path); /* CRC, version, tree */
	if (!ret) {
		m = snapr_node(&r, 0, "machine");
		ret = m < 0 ? m : snapr_u64(&r, m, "mem-size", &want);
		snapr_free(&r);
	}
	if (!ret)
		ret = gz_read(gz, &mlen, 8);
	if (!ret && mlen != want) {
		pr_err("import %s: memory of %llu bytes, the state says %llu", in_path, (unsigned long long)mlen,
		       (unsigned long long)want);
		ret = -EINVAL;
	}
	if (ret) {
		if (ret == -EIO)
			pr_err("import %s: truncated or corrupt (gzip)", in_path);
		gzclose(gz);
		return ret;
	}
	snprintf(stmp, sizeof(stmp), "%s.tmp.%d", state_path, (int)getpid());
	snprintf(mtmp, sizeof(mtmp), "%s.tmp.%d", mem_path, (int)getpid());
	sfd = open(stmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	mfd = open(mtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	buf = malloc(CHUNK);
	if (sfd < 0 || mfd < 0 || !buf) {
		ret = sfd < 0 || mfd < 0 ? -errno : -ENOMEM;
		pr_err("import: create %s: %s", sfd < 0 ? stmp : mtmp, strerror(-ret));
		goto out;
	}
	if (write(sfd, state, slen) != (ssize_t)slen || ftruncate(mfd, (off_t)mlen) < 0) {
		ret = -errno;
		goto out;
	}
	/* Memory: write only non-zero pages; the rest stay holes. */
	for (uint64_t off = 0; off < mlen; off += CHUNK) {
		size_t len = MIN((uint64_t)CHUNK, mlen - off);

		if (gz_read(gz, buf, len)) {
			pr_err("import %s: memory truncated at %llu bytes", in_path, (unsigned long long)off);
			ret = -EIO;
			goto out;
		}
		for (size_t p = 0; p < len; p += 4096) {
			size_t l = MIN((size_t)4096, len - p);

			if (!all_zero(buf + p, l) && pwrite(mfd, buf + p, l, (off_t)(off + p)) != (ssize_t)l) {
				ret = -errno;
				goto out;
			}
		}
	}
	if (gzread(gz, buf, 1) != 0) {
		pr_err("import %s: trailing data after the memory", in_path);
		ret = -EINVAL;
		goto out;
	}
	if (fsync(sfd) < 0 || fsync(mfd) < 0 || rename(mtmp, mem_path) < 0 || rename(stmp, state_path) < 0)
		ret = -errno;
out:
	gzclose(gz);
	if (sfd >= 0)
		close(sfd);
	if (mfd >= 0)
		close(mfd);
	if (ret) {
		unlink(stmp);
		unlink(mtmp);
		pr_err("import of %s failed: %s", in_path, strerror(-ret));
	}
	return ret;
}
