/* Sandbox cgroups: cpu, memory and pids limits plus the freezer, on cgroup
 * v2 (/sys/fs/cgroup is cgroup2) or on v1, where the host binds those
 * controllers to per-controller hierarchies (our machines do). One group
 * per sandbox, named hopx/<id> in each hierarchy. Shared by hopx-jail
 * (creates and fills it) and hopxd (freezes, reads, removes it). */
#ifndef HOPX_CGROUP_H
#define HOPX_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_limits {
	double cpus;          /* CPU time in CPUs (1.0 = one core), 0: unlimited */
	uint64_t memory;      /* bytes, 0: unlimited */
	unsigned int pids;    /* tasks, 0: unlimited */
};

/* Create the sandbox's groups with LIMITS and move PID into them. -errno. */
int cg_create(const char *id, const struct cg_limits *limits, pid_t pid);
/* Freeze or thaw every task of the group; waits until it took. -errno. */
int cg_freeze(const char *id, bool frozen);
/* SIGKILL every task in the group (what cgroup.kill does on v2). -errno. */
int cg_kill(const char *id);
/* Remove the groups (they must be empty: cg_kill first). -errno. */
int cg_remove(const char *id);
/* Memory in use by the group, bytes; 0 if unknown. */
uint64_t cg_memory_current(const char *id);
/* Is the group there? */
bool cg_exists(const char *id);
/* Where this file's messages go: each program's own log (FN gets the text,
 * without a newline); stderr, as "cgroup: ...", until it is set. */
void cg_set_log(void (*fn)(const char *msg));

#endif
