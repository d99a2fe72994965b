/* The snapshot state file: a 24-byte header (magic "HOPXSNAP", format
 * version, CRC32 of the tree, tree size) followed by a flattened device tree
 * built and read with libfdt. Writing is atomic (temp file + fsync + rename);
 * reading checks everything (magic, version, size, CRC, fdt_check_full) and
 * every property's exact length before a caller sees a byte of it, so a
 * corrupt, truncated or foreign file is refused with a clear error. */
#ifndef HOPX_SNAPFILE_H
#define HOPX_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "HOPXSNAP"
#define SNAP_VERSION 1
#define SNAP_MAX_SIZE (64u << 20)

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t crc32;   /* zlib crc32 of the tree */
	uint64_t size;    /* bytes of tree after the header */
};

/* Writer: properties go into the node opened last. The first error sticks
 * and is returned by snapw_finish. */
struct snapw {
	void *fdt;
	size_t cap;
	int err;
};

int snapw_init(struct snapw *w);
void snapw_begin(struct snapw *w, const char *node);
void snapw_end(struct snapw *w);
void snapw_u32(struct snapw *w, const char *name, uint32_t v);
void snapw_u64(struct snapw *w, const char *name, uint64_t v);
void snapw_str(struct snapw *w, const char *name, const char *s);
void snapw_blob(struct snapw *w, const char *name, const void *p, size_t len);
/* Close the tree and write it to PATH atomically. Frees the writer. */
int snapw_finish(struct snapw *w, const char *path);

/* Reader. */
struct snapr {
	void *fdt;     /* the validated tree (owned) */
	size_t size;
	const char *path;
};

/* Load and validate PATH (also used on an in-memory image by the fuzzer). */
int snapr_load(struct snapr *r, const char *path);
int snapr_parse(struct snapr *r, const void *file, size_t size, const char *what);
void snapr_free(struct snapr *r);
/* Child NAME of node PARENT (0 is the root): its offset, or -ENOENT (logged). */
int snapr_node(struct snapr *r, int parent, const char *name);
/* The same for an optional node: -ENOENT without a log line. */
int snapr_child(struct snapr *r, int parent, const char *name);
/* Property NAME of NODE, exactly LEN bytes, into OUT. -EINVAL (logged) if absent or another size. */
int snapr_blob(struct snapr *r, int node, const char *name, void *out, size_t len);
/* A property of any length up to MAX; its length in *LEN. */
const void *snapr_blob_var(struct snapr *r, int node, const char *name, size_t max, size_t *len);
int snapr_u32(struct snapr *r, int node, const char *name, uint32_t *v);
int snapr_u64(struct snapr *r, int node, const char *name, uint64_t *v);
/* A NUL-terminated string property of at most MAX bytes; NULL if invalid. */
const char *snapr_str(struct snapr *r, int node, const char *name, size_t max);

#endif
