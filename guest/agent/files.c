/* /files/...: read, download, write (text or base64, mode, overwrite), list,
 * exists, remove (recursive), mkdir (with parents) and multipart upload.
 * Request paths are absolute paths inside agent.root ("/" in a VM); one
 * that escapes it through ".." or a symlink is refused. Only regular files
 * are read or written: devices, FIFOs and sockets get FILE_OPERATION_FAILED.
 * Error messages keep the path out (the SDK maps "...sandbox...not found" to
 * SandboxExpiredError); it travels in "path". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static bool inside_root(const char *root, const char *p)
{
	size_t n = strlen(root);

	return strcmp(root, "/") == 0 || (strncmp(p, root, n) == 0 && (p[n] == '/' || p[n] == '\0'));
}

char *path_confine(const char *root, const char *path, const char **why)
{
	GString *out = g_string_new(strcmp(root, "/") == 0 ? "" : root);
	gchar **parts;
	char *real, *dir;

	if (!path || path[0] != '/' || strlen(path) > 4096) {
		*why = "paths must be absolute";
		g_string_free(out, TRUE);
		return NULL;
	}
	parts = g_strsplit(path, "/", -1);
	{
		GPtrArray *stack = g_ptr_array_new();

		for (gchar **p = parts; *p; p++) {
			if (!**p || strcmp(*p, ".") == 0)
				continue;
			if (strcmp(*p, "..") == 0) {
				if (stack->len == 0) {
					*why = "the path leaves the filesystem root";
					g_ptr_array_free(stack, TRUE);
					g_strfreev(parts);
					g_string_free(out, TRUE);
					return NULL;
				}
				g_ptr_array_remove_index(stack, stack->len - 1);
				continue;
			}
			g_ptr_array_add(stack, *p);
		}
		for (guint i = 0; i < stack->len; i++)
			g_string_append_printf(out, "/%s", (char *)g_ptr_array_index(stack, i));
		g_ptr_array_free(stack, TRUE);
	}
	g_strfreev(parts);
	if (out->len == 0)
		g_string_append_c(out, '/');
	/* Symlinks: the deepest existing ancestor must resolve inside the root. */
	dir = g_strdup(out->str);
	while ((real = realpath(dir, NULL)) == NULL && strcmp(dir, "/") != 0) {
		char *up = g_path_get_dirname(dir);

		g_free(dir);
		dir = up;
	}
	g_free(dir);
	if (real && !inside_root(root, real)) {
		*why = "the path leads outside the filesystem root";
		free(real);
		g_string_free(out, TRUE);
		return NULL;
	}
	free(real);
	return g_string_free(out, FALSE);
}

char *resolve_path(SoupServerMessage *msg, const char *path)
{
	const char *why = NULL;
	char *real = path_confine(agent.root, path, &why);

	if (!real)
		reply_error(msg, 400, "INVALID_PATH", path, "%s", why);
	return real;
}

static void reply_errno(SoupServerMessage *msg, int err, const char *path, const char *what)
{
	if (err == ENOENT || err == ENOTDIR)
		reply_error(msg, 404, "FILE_NOT_FOUND", path, "File not found");
	else if (err == EACCES || err == EPERM)
		reply_error(msg, 403, "PERMISSION_DENIED", path, "Permission denied (%s)", what);
	else if (err == EEXIST)
		reply_error(msg, 409, "FILE_OPERATION_FAILED", path, "File exists (%s)", what);
	else
		reply_error(msg, err == EFBIG ? 413 : 400, "FILE_OPERATION_FAILED", path, "%s: %s", what, strerror(err));
}

static const char *qpath(GHashTable *query)
{
	return query ? g_hash_table_lookup(query, "path") : NULL;
}

/* Read a regular file whole (at most AGENT_MAX_BODY bytes). */
static GBytes *read_regular(SoupServerMessage *msg, const char *real, const char *path)
{
	int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	GByteArray *buf;
	char chunk[65536];
	ssize_t n;

	if (fd < 0 && errno == ELOOP)
		fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a symlink inside the root: checked above */
	if (fd < 0) {
		reply_errno(msg, errno, path, "open");
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		reply_error(msg, 400, "FILE_OPERATION_FAILED", path, S_ISDIR(st.st_mode) ? "is a directory"
											 : "not a regular file");
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > AGENT_MAX_BODY) {
		reply_error(msg, 413, "FILE_OPERATION_FAILED", path, "file of %lld bytes: at most %u can be read",
			    (long long)st.st_size, AGENT_MAX_BODY);
		close(fd);
		return NULL;
	}
	buf = g_byte_array_sized_new((guint)st.st_size);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && buf->len + (guint)n <= AGENT_MAX_BODY)
		g_byte_array_append(buf, (guint8 *)chunk, (guint)n);
	close(fd);
	return g_byte_array_free_to_bytes(buf);
}

static void files_read(SoupServerMessage *msg, const char *path, const char *real, bool raw)
{
	GBytes *data = read_regular(msg, real, path);
	gsize len;
	const char *p;

	if (!data)
		return;
	if (raw) {
		reply_bytes(msg, "application/octet-stream", data);
		g_bytes_unref(data);
		return;
	}
	p = g_bytes_get_data(data, &len);
	if (g_utf8_validate(p, (gssize)len, NULL))
		reply_json(msg, 200, json_pack("{s:s%,s:s,s:I}", "content", p ? p : "", len, "path", path, "size",
					       (json_int_t)len));
	else {
		char *b64 = g_base64_encode((const guchar *)p, len);

		reply_json(msg, 200, json_pack("{s:s,s:s,s:s,s:I}", "content", b64, "encoding", "base64", "path", path,
					       "size", (json_int_t)len));
		g_free(b64);
	}
	g_bytes_unref(data);
}

/* Write DATA to REAL atomically (temp file + rename) with MODE. */
static int write_file(const char *real, const void *data, size_t len, mode_t mode, bool overwrite)
{
	char *tmp = g_strdup_printf("%s.hopx-tmp.%d", real, (int)getpid());
	struct stat st;
	int fd, err = 0;

	if (lstat(real, &st) == 0) {
		if (!overwrite)
			return EEXIST;
		if (!S_ISREG(st.st_mode))
			return S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		err = errno;
		g_free(tmp);
		return err;
	}
	for (size_t off = 0; off < len && !err;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0)
			err = errno;
		else
			off += (size_t)n;
	}
	if (!err && fchmod(fd, mode) < 0)
		err = errno;
	close(fd);
	if (!err && rename(tmp, real) < 0)
		err = errno;
	if (err)
		unlink(tmp);
	g_free(tmp);
	return err;
}

static bool parse_mode(SoupServerMessage *msg, json_t *body, mode_t *mode)
{
	const char *m = "0644";
	char *end;
	unsigned long v;

	if (!body_str(msg, body, "mode", false, &m))
		return false;
	v = strtoul(m, &end, 8);
	if (*end || !*m || v > 07777) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'mode' must be octal like \"0644\"");
		return false;
	}
	*mode = (mode_t)v;
	return true;
}

static void files_write(SoupServerMessage *msg, json_t *body)
{
	const char *path = NULL, *content = NULL, *enc = NULL;
	json_t *ow = json_object_get(body, "overwrite");
	guchar *decoded = NULL;
	gsize len;
	mode_t mode;
	char *real;
	int err;

	if (!body_str(msg, body, "path", true, &path) || !body_str(msg, body, "content", true, &content) ||
	    !body_str(msg, body, "encoding", false, &enc) || !parse_mode(msg, body, &mode))
		return;
	if (enc && strcmp(enc, "base64") != 0 && strcmp(enc, "utf-8") != 0 && strcmp(enc, "utf8") != 0) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "field 'encoding' must be \"base64\" or \"utf-8\"");
		return;
	}
	if (!(real = resolve_path(msg, path)))
		return;
	len = json_string_length(json_object_get(body, "content"));
	if (enc && strcmp(enc, "base64") == 0)
		decoded = g_base64_decode(content, &len);
	err = write_file(real, decoded ? (void *)decoded : (void *)content, len, mode, !json_is_false(ow));
	if (err)
		reply_errno(msg, err, path, "write");
	else
		reply_json(msg, 200, json_pack("{s:b,s:s,s:I}", "success", 1, "path", path, "size", (json_int_t)len));
	g_free(decoded);
	g_free(real);
}

static void files_list(SoupServerMessage *msg, const char *path, const char *real)
{
	DIR *d = opendir(real);
	struct dirent *e;
	json_t *files;

	if (!d) {
		reply_errno(msg, errno, path, "list");
		return;
	}
	files = json_array();
	while ((e = readdir(d))) {
		struct stat st;
		char *full, *rpath, ts[32], perms[8];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		full = g_build_filename(real, e->d_name, NULL);
		rpath = g_build_filename(path, e->d_name, NULL);
		if (lstat(full, &st) == 0) {
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st.st_mtime));
			snprintf(perms, sizeof(perms), "%04o", (unsigned int)(st.st_mode & 07777));
			json_array_append_new(files, json_pack("{s:s,s:s,s:I,s:b,s:s,s:s}", "name", e->d_name, "path",
							       rpath, "size", (json_int_t)st.st_size, "is_dir",
							       S_ISDIR(st.st_mode), "modified", ts, "permissions", perms));
		}
		g_free(full);
		g_free(rpath);
	}
	closedir(d);
	reply_json(msg, 200, json_pack("{s:o,s:s}", "files", files, "path", path));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

void route_upload(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest)
{
	SoupMessageBody *b = soup_server_message_get_request_body(msg);
	GBytes *all = soup_message_body_flatten(b);
	SoupMultipart *mp = soup_multipart_new_from_message(soup_server_message_get_request_headers(msg), all);
	GBytes *file = NULL;
	char *path = NULL, *real;
	int err;

	(void)query;
	(void)body;
	(void)rest;
	g_bytes_unref(all);
	if (strcmp(soup_server_message_get_method(msg), "POST") != 0) {
		reply_error(msg, 405, "METHOD_NOT_ALLOWED", NULL, "use POST");
		if (mp)
			soup_multipart_free(mp);
		return;
	}
	if (!mp) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "expected multipart/form-data with parts 'file' and 'path'");
		return;
	}
	for (int i = 0; i < soup_multipart_get_length(mp); i++) {
		SoupMessageHeaders *h;
		GBytes *part;
		GHashTable *params = NULL;
		const char *name;

		if (!soup_multipart_get_part(mp, i, &h, &part))
			continue;
		if (!soup_message_headers_get_content_disposition(h, NULL, &params))
			continue;
		name = g_hash_table_lookup(params, "name");
		if (name && strcmp(name, "file") == 0 && !file)
			file = g_bytes_ref(part);
		else if (name && strcmp(name, "path") == 0 && !path)
			path = g_strndup(g_bytes_get_data(part, NULL), g_bytes_get_size(part));
		g_hash_table_destroy(params);
	}
	soup_multipart_free(mp);
	if (!file || !path) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "multipart upload needs parts 'file' and 'path'");
	} else if ((real = resolve_path(msg, path))) {
		err = write_file(real, g_bytes_get_data(file, NULL), g_bytes_get_size(file), 0644, true);
		if (err)
			reply_errno(msg, err, path, "upload");
		else
			reply_json(msg, 200, json_pack("{s:b,s:s,s:I}", "success", 1, "path", path, "size",
						       (json_int_t)g_bytes_get_size(file)));
		g_free(real);
	}
	if (file)
		g_bytes_unref(file);
	g_free(path);
}

void route_files(SoupServerMessage *msg, GHashTable *query, json_t *body, const char *rest)
{
	const char *method = soup_server_message_get_method(msg), *path = NULL;
	bool get = strcmp(method, "GET") == 0;
	char *real = NULL;
	struct stat st;

	if (strcmp(rest, "write") == 0 && strcmp(method, "POST") == 0) {
		if (!body)
			reply_error(msg, 400, "INVALID_REQUEST", NULL, "the body must be JSON with 'path' and 'content'");
		else
			files_write(msg, body);
		return;
	}
	if (strcmp(rest, "mkdir") == 0 && strcmp(method, "POST") == 0) {
		if (!body_str(msg, body, "path", true, &path) || !(real = resolve_path(msg, path)))
			return;
		if (g_mkdir_with_parents(real, 0755) < 0)
			reply_errno(msg, errno, path, "mkdir");
		else
			reply_json(msg, 200, json_pack("{s:b,s:s}", "success", 1, "path", path));
		g_free(real);
		return;
	}
	path = qpath(query);
	if (!path) {
		reply_error(msg, 400, "INVALID_REQUEST", NULL, "missing query parameter 'path'");
		return;
	}
	if (!(real = resolve_path(msg, path)))
		return;
	if (get && strcmp(rest, "read") == 0)
		files_read(msg, path, real, false);
	else if (get && strcmp(rest, "download") == 0)
		files_read(msg, path, real, true);
	else if (get && strcmp(rest, "list") == 0)
		files_list(msg, path, real);
	else if (get && strcmp(rest, "exists") == 0)
		reply_json(msg, 200, json_pack("{s:b,s:s}", "exists", lstat(real, &st) == 0, "path", path));
	else if (strcmp(method, "DELETE") == 0 && strcmp(rest, "remove") == 0) {
		if (strcmp(real, agent.root) == 0 || strcmp(path, "/") == 0)
			reply_error(msg, 400, "FILE_OPERATION_FAILED", path, "refusing to remove the root");
		else if (lstat(real, &st) < 0)
			reply_errno(msg, errno, path, "remove");
		else if (nftw(real, rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0)
			reply_errno(msg, errno, path, "remove");
		else
			reply_json(msg, 200, json_pack("{s:b,s:s}", "success", 1, "path", path));
	} else
		reply_error(msg, 404, "NOT_FOUND", NULL, "no such endpoint: %s /files/%s", method, rest);
	g_free(real);
}
