/* hopxd's registry (registry.c): the sandboxes and the hashes of their
 * agent tokens in SQLite. All calls return -errno on failure (logged). */
#ifndef HOPXD_REGISTRY_H
#define HOPXD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

/* A sandbox as the registry keeps it. */
struct sandbox {
	char id[40];
	char template_name[64];
	char status[16];         /* creating, running, paused, resuming */
	char runtime[16];
	long long created_at, expires_at, last_active, timeout_s;
	int keeper_pid;
	unsigned long long keeper_start; /* /proc/PID/stat start time: the pid is still ours */
	char supervisor[80];     /* the agent's supervisor token (never leaves hopxd) */
	int vcpu, memory_mb, disk_mb;
	bool internet;
};

int registry_open(const char *path);
void registry_close(void);
int registry_put(const struct sandbox *s);
int registry_get(const char *id, struct sandbox *out);       /* -ENOENT */
int registry_delete(const char *id);
/* Sandboxes in id order after CURSOR ("" for the first page), with STATUS
 * ("" for all); up to LIMIT; *more when there are more. *out is always
 * allocated (g_free it). */
int registry_list(const char *status, const char *cursor, int limit, struct sandbox **out, int *n, bool *more);
int registry_count(void);
int registry_add_token(const char *id, const char *token_hash, long long expires_at);
/* The sandbox a token (by hash) belongs to, if unexpired; -ENOENT. */
int registry_token_sandbox(const char *token_hash, char *id, size_t size);

#endif
