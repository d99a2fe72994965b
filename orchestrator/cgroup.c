/* Sandbox cgroups on v2 or v1 (cgroup.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

#define ROOT "/sys/fs/cgroup"

static void (*log_fn)(const char *msg);

void cg_set_log(void (*fn)(const char *msg))
{
	log_fn = fn;
}

static void cg_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cg_log(const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(text);
	else
		fprintf(stderr, "cgroup: %s\n", text);
}

static bool is_v2(void)
{
	return access(ROOT "/cgroup.controllers", F_OK) == 0;
}

/* The group's directory for CONTROLLER (ignored on v2). */
static void group_dir(char *buf, size_t size, const char *controller, const char *id)
{
	if (is_v2())
		snprintf(buf, size, ROOT "/hopx/%s", id);
	else
		snprintf(buf, size, ROOT "/%s/hopx/%s", controller, id);
}

static int write_file(const char *dir, const char *file, const char *value)
{
	char path[512];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		cg_log("write %s to %s: %s", value, path, strerror(-err));
	return err;
}

static int read_file(const char *dir, const char *file, char *buf, size_t size)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static const char *const v1_controllers[] = { "cpu", "memory", "pids", "freezer" };

static int make_dirs(const char *id)
{
	char dir[512], parent[512];

	if (is_v2()) {
		mkdir(ROOT "/hopx", 0755);
		/* Limits of children need the controllers enabled in the parent. */
		write_file(ROOT, "cgroup.subtree_control", "+cpu +memory +pids");
		write_file(ROOT "/hopx", "cgroup.subtree_control", "+cpu +memory +pids");
		group_dir(dir, sizeof(dir), "", id);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			cg_log("mkdir %s: %s", dir, strerror(errno));
			return -errno;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++) {
		snprintf(parent, sizeof(parent), ROOT "/%s/hopx", v1_controllers[i]);
		mkdir(parent, 0755);
		group_dir(dir, sizeof(dir), v1_controllers[i], id);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int err = -errno;

			cg_log("mkdir %s: %s (is the %s controller mounted?)", dir, strerror(errno),
				v1_controllers[i]);
			return err;
		}
	}
	return 0;
}

int cg_create(const char *id, const struct cg_limits *l, pid_t pid)
{
	char dir[512], v[64], pidstr[32];
	int err = make_dirs(id);

	if (err)
		return err;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	if (is_v2()) {
		group_dir(dir, sizeof(dir), "", id);
		if (l->cpus > 0) {
			snprintf(v, sizeof(v), "%" PRIu64 " 100000", (uint64_t)(l->cpus * 100000));
			err = err ?: write_file(dir, "cpu.max", v);
		}
		if (l->memory) {
			snprintf(v, sizeof(v), "%" PRIu64, l->memory);
			err = err ?: write_file(dir, "memory.max", v);
			write_file(dir, "memory.swap.max", "0");
		}
		if (l->pids) {
			snprintf(v, sizeof(v), "%u", l->pids);
			err = err ?: write_file(dir, "pids.max", v);
		}
		return err ?: write_file(dir, "cgroup.procs", pidstr);
	}
	group_dir(dir, sizeof(dir), "cpu", id);
	if (l->cpus > 0) {
		snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)(l->cpus * 100000));
		err = err ?: write_file(dir, "cpu.cfs_period_us", "100000");
		err = err ?: write_file(dir, "cpu.cfs_quota_us", v);
	}
	group_dir(dir, sizeof(dir), "memory", id);
	if (l->memory) {
		snprintf(v, sizeof(v), "%" PRIu64, l->memory);
		err = err ?: write_file(dir, "memory.limit_in_bytes", v);
	}
	group_dir(dir, sizeof(dir), "pids", id);
	if (l->pids) {
		snprintf(v, sizeof(v), "%u", l->pids);
		err = err ?: write_file(dir, "pids.max", v);
	}
	for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]) && !err; i++) {
		group_dir(dir, sizeof(dir), v1_controllers[i], id);
		err = write_file(dir, "cgroup.procs", pidstr);
	}
	return err;
}

int cg_freeze(const char *id, bool frozen)
{
	char dir[512], state[64];
	int err;

	group_dir(dir, sizeof(dir), "freezer", id);
	if (is_v2()) {
		err = write_file(dir, "cgroup.freeze", frozen ? "1" : "0");
		for (int i = 0; !err && i < 500; i++) { /* "frozen 1" in cgroup.events once it took */
			if (read_file(dir, "cgroup.events", state, sizeof(state)) == 0 &&
			    strstr(state, frozen ? "frozen 1" : "frozen 0"))
				return 0;
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		}
		return err ?: -ETIMEDOUT;
	}
	err = write_file(dir, "freezer.state", frozen ? "FROZEN" : "THAWED");
	for (int i = 0; !err && i < 500; i++) { /* FREEZING until every task stopped */
		if (read_file(dir, "freezer.state", state, sizeof(state)) == 0 &&
		    strncmp(state, frozen ? "FROZEN" : "THAWED", 6) == 0)
			return 0;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return err ?: -ETIMEDOUT;
}

int cg_kill(const char *id)
{
	char dir[512], path[600], line[32];
	bool any = true;

	group_dir(dir, sizeof(dir), "freezer", id);
	if (is_v2() && write_file(dir, "cgroup.kill", "1") == 0)
		return 0;
	/* v1: kill what is listed until nothing is (a frozen task dies once thawed). */
	if (!is_v2())
		write_file(dir, "freezer.state", "THAWED");
	for (int round = 0; any && round < 200; round++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		f = fopen(path, "re");
		if (!f)
			return errno == ENOENT ? 0 : -errno;
		any = false;
		while (fgets(line, sizeof(line), f)) {
			kill(atoi(line), SIGKILL);
			any = true;
		}
		fclose(f);
		if (any)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return any ? -EBUSY : 0;
}

int cg_remove(const char *id)
{
	char dir[512];
	int err = 0;

	if (is_v2()) {
		group_dir(dir, sizeof(dir), "", id);
		for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++) /* tasks still exiting */
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		return access(dir, F_OK) == 0 ? -EBUSY : 0;
	}
	for (size_t i = 0; i < sizeof(v1_controllers) / sizeof(v1_controllers[0]); i++) {
		group_dir(dir, sizeof(dir), v1_controllers[i], id);
		for (int k = 0; k < 100 && rmdir(dir) < 0 && errno == EBUSY; k++)
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
		if (access(dir, F_OK) == 0) {
			cg_log("rmdir %s: still busy", dir);
			err = -EBUSY;
		}
	}
	return err;
}

uint64_t cg_memory_current(const char *id)
{
	char dir[512], v[64];

	group_dir(dir, sizeof(dir), "memory", id);
	if (read_file(dir, is_v2() ? "memory.current" : "memory.usage_in_bytes", v, sizeof(v)) < 0)
		return 0;
	return strtoull(v, NULL, 10);
}

bool cg_exists(const char *id)
{
	char dir[512];

	group_dir(dir, sizeof(dir), "freezer", id);
	return access(dir, F_OK) == 0;
}
