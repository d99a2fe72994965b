/* hopxd's registry: sandboxes and the hashes of their agent tokens in
 * SQLite (state-dir/hopxd.db, mode 0600: it holds each agent's supervisor
 * token). Everything hopxd needs to find its sandboxes again after a
 * restart is here; token values themselves are never stored. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "event.h"
#include "registry.h"
#include "util.h"

static sqlite3 *db;

static const char schema[] = "CREATE TABLE IF NOT EXISTS sandboxes ("
			     " id TEXT PRIMARY KEY, template TEXT NOT NULL, status TEXT NOT NULL,"
			     " runtime TEXT NOT NULL, created_at INTEGER, expires_at INTEGER,"
			     " last_active INTEGER, timeout_s INTEGER, keeper_pid INTEGER, keeper_start INTEGER,"
			     " supervisor TEXT, vcpu INTEGER, memory_mb INTEGER, disk_mb INTEGER, internet INTEGER);"
			     "CREATE TABLE IF NOT EXISTS tokens ("
			     " hash TEXT PRIMARY KEY, sandbox_id TEXT NOT NULL, expires_at INTEGER);"
			     "CREATE INDEX IF NOT EXISTS tokens_by_sandbox ON tokens(sandbox_id);";

static int db_error(const char *what)
{
	log_event(LOG_ERROR, "registry.error", NULL, "registry: %s: %s", what, sqlite3_errmsg(db));
	return -EIO;
}

int registry_open(const char *path)
{
	char *err = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return db_error(path);
	chmod(path, 0600);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &err) != SQLITE_OK ||
	    sqlite3_exec(db, schema, NULL, NULL, &err) != SQLITE_OK) {
		log_event(LOG_ERROR, "registry.error", NULL, "registry %s: %s", path, err);
		sqlite3_free(err);
		return -EIO;
	}
	return 0;
}

void registry_close(void)
{
	sqlite3_close(db);
	db = NULL;
}

int registry_put(const struct sandbox *s)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO sandboxes VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error("prepare put");
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->template_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->runtime, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, s->created_at);
	sqlite3_bind_int64(st, 6, s->expires_at);
	sqlite3_bind_int64(st, 7, s->last_active);
	sqlite3_bind_int64(st, 8, s->timeout_s);
	sqlite3_bind_int(st, 9, s->keeper_pid);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)s->keeper_start);
	sqlite3_bind_text(st, 11, s->supervisor, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 12, s->vcpu);
	sqlite3_bind_int(st, 13, s->memory_mb);
	sqlite3_bind_int(st, 14, s->disk_mb);
	sqlite3_bind_int(st, 15, s->internet);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error("put");
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static void row(sqlite3_stmt *st, struct sandbox *s)
{
	memset(s, 0, sizeof(*s));
	copy_text(s->id, sizeof(s->id), st, 0);
	copy_text(s->template_name, sizeof(s->template_name), st, 1);
	copy_text(s->status, sizeof(s->status), st, 2);
	copy_text(s->runtime, sizeof(s->runtime), st, 3);
	s->created_at = sqlite3_column_int64(st, 4);
	s->expires_at = sqlite3_column_int64(st, 5);
	s->last_active = sqlite3_column_int64(st, 6);
	s->timeout_s = sqlite3_column_int64(st, 7);
	s->keeper_pid = sqlite3_column_int(st, 8);
	s->keeper_start = (unsigned long long)sqlite3_column_int64(st, 9);
	copy_text(s->supervisor, sizeof(s->supervisor), st, 10);
	s->vcpu = sqlite3_column_int(st, 11);
	s->memory_mb = sqlite3_column_int(st, 12);
	s->disk_mb = sqlite3_column_int(st, 13);
	s->internet = sqlite3_column_int(st, 14);
}

int registry_get(const char *id, struct sandbox *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT * FROM sandboxes WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_error("prepare get");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row(st, out);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : db_error("get");
}

int registry_delete(const char *id)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	for (int i = 0; i < 2 && rc == SQLITE_DONE; i++) {
		if (sqlite3_prepare_v2(db, i ? "DELETE FROM tokens WHERE sandbox_id = ?1" : "DELETE FROM sandboxes WHERE id = ?1",
				       -1, &st, NULL) != SQLITE_OK)
			return db_error("prepare delete");
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	return rc == SQLITE_DONE ? 0 : db_error("delete");
}

int registry_list(const char *status, const char *cursor, int limit, struct sandbox **out, int *n, bool *more)
{
	sqlite3_stmt *st;
	int rc, cap = limit + 1;

	*out = g_new0(struct sandbox, cap);
	*n = 0;
	*more = false;
	if (sqlite3_prepare_v2(db,
			       "SELECT * FROM sandboxes WHERE id > ?1 AND (?2 = '' OR status = ?2) ORDER BY id LIMIT ?3",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error("prepare list");
	sqlite3_bind_text(st, 1, cursor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, cap);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == limit) {
			*more = true;
			break;
		}
		row(st, &(*out)[(*n)++]);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error("list");
}

int registry_count(void)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sandboxes", -1, &st, NULL) != SQLITE_OK)
		return db_error("prepare count");
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

int registry_add_token(const char *id, const char *hash, long long expires_at)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO tokens VALUES (?1, ?2, ?3)", -1, &st, NULL) != SQLITE_OK)
		return db_error("prepare token");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires_at);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_error("token");
}

int registry_token_sandbox(const char *hash, char *id, size_t size)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT sandbox_id FROM tokens WHERE hash = ?1 AND expires_at > ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return db_error("prepare token lookup");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_s());
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		copy_text(id, size, st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -ENOENT;
}
