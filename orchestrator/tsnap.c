/* The vm runtime's template snapshots (tsnap.h).
 *
 * A template's snapshot is made once per template, kernel, VMM and host
 * boot (a software-KVM host refuses snapshots of another boot), under
 * <snapshot_dir>/<name>-<key>/ (default state-dir/templates): hopx-vmm boots our kernel on the
 * template image, read-only (every VM shares it), with the agent as /init
 * (--overlay-root: the guest writes into its own RAM) on vsock 7777; once
 * the agent answers and its warm python and bash have run once, the VM is
 * paused and snapshotted, and that VMM exits. Creates wait for it (on our
 * software-KVM machines a first boot takes minutes; later creates take
 * milliseconds). Snapshots being made are flock()ed, so hopxds sharing
 * snapshot_dir make each once; stale ones are pruned. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_client.h"
#include "config.h"
#include "event.h"
#include "relay.h"
#include "templates.h"
#include "tsnap.h"
#include "util.h"
#include "vm_launch.h"
#include "vmm_client.h"

/* The files of a snapshot's directory. */
#define TPL_STATE      "state"
#define TPL_MEM        "mem"
#define TPL_LOCK       "lock"
#define TPL_INPUTS     "inputs"      /* template_key's inputs, for pruning */
#define TPL_SUPERVISOR "supervisor"  /* the agent's token in the snapshot */
#define TPL_AGENT_SOCK "agent.sock"  /* hopxd's relay to the booting VM's agent */
#define TPL_VSOCK      "v.sock"
#define TPL_API        "api.sock"
#define TPL_CONSOLE    "console.log"

#define BOOT_ID "/proc/sys/kernel/random/boot_id" /* a snapshot is only good for the boot that made it */

static GHashTable *templates; /* name -> struct vm_template */

static char *file_key(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return g_strdup_printf("%s:missing", path);
	return g_strdup_printf("%s:%lld:%lld", path, (long long)st.st_size, (long long)st.st_mtime);
}

/* What the snapshot depends on: the image, kernel and VMM, memory size, the
 * host's boot; that text in *INPUTS (kept beside the snapshot, for
 * pruning), its hash returned. */
static char *template_key(const char *image, int mem_mib, char **inputs)
{
	char *boot = NULL, *a = file_key(image), *b = file_key(cfg.kernel), *c = file_key(cfg.vmm);
	char *all, *hash;

	g_file_get_contents(BOOT_ID, &boot, NULL, NULL);
	/* "net1": the VM has a NIC on a TAP in its jail (older snapshots have none) */
	all = g_strdup_printf("net1|%s|%s|%s|%d|%s", a, b, c, mem_mib, boot ? boot : "");
	hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, all, -1);
	hash[16] = '\0';
	g_free(boot);
	g_free(a);
	g_free(b);
	g_free(c);
	*inputs = all;
	return hash;
}

/* flock() T's dir/lock (kept in t->lock_fd): 0, -EWOULDBLOCK if another
 * hopxd holds it, or -errno (logged). */
static int template_lock(struct vm_template *t)
{
	char *path = g_build_filename(t->dir, TPL_LOCK, NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), err = 0;

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		if (err != -EWOULDBLOCK)
			log_event(LOG_ERROR, "template.lock", NULL, "lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	} else {
		t->lock_fd = fd;
	}
	g_free(path);
	return err;
}

static void template_unlock(struct vm_template *t)
{
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	t->lock_fd = -1;
}

static void template_failed(struct vm_template *t, const char *why)
{
	log_event(LOG_ERROR, "template.failed", NULL, "template %s: no snapshot: %s (see %s/" TPL_CONSOLE ")", t->name,
		  why, t->dir);
	stop_process(t->pid, t->pid_start, 2000);
	relay_stop(t->relay);
	t->relay = NULL;
	template_unlock(t);
	t->st = T_FAILED;
}

static void template_done(struct vm_template *t)
{
	char *api = g_build_filename(t->dir, TPL_API, NULL);
	int err = vmm_snapshot(api, t->state, t->mem);

	g_free(api);
	stop_process(t->pid, t->pid_start, 2000);
	relay_stop(t->relay);
	t->relay = NULL;
	if (err) {
		template_failed(t, "the snapshot failed");
		return;
	}
	template_unlock(t);
	t->st = T_READY;
	log_event(LOG_INFO, "template.ready", NULL, "template %s: booted and snapshotted in %s", t->name, t->dir);
}

static void template_answer(unsigned int status, json_t *body, gpointer data)
{
	struct vm_template *t = data;

	t->asking = false;
	if (t->st != T_BOOTING)
		return;
	if (t->step == 0 && status == 200) {
		t->step = 1;
	} else if (t->step > 0) {
		/* bash must work; python only where the template has it */
		if (status != 200 || (t->step == 2 && !json_is_true(json_object_get(body, "success")))) {
			char *why = g_strdup_printf("the agent could not run %s: HTTP %u, stderr: %.300s",
						    t->step == 1 ? "python" : "bash", status,
						    json_string_value(json_object_get(body, "stderr")) ?: "");

			template_failed(t, why);
			g_free(why);
			return;
		}
		if (++t->step == 3)
			template_done(t);
	}
}

static gboolean template_poll(gpointer data)
{
	struct vm_template *t = data;
	char *sock;

	if (t->st != T_BOOTING)
		return G_SOURCE_REMOVE;
	if (proc_start_time(t->pid) != t->pid_start) {
		template_failed(t, "its VM exited while booting");
		return G_SOURCE_REMOVE;
	}
	if (g_get_monotonic_time() > t->deadline) {
		template_failed(t, "its agent did not answer in 15 minutes");
		return G_SOURCE_REMOVE;
	}
	if (t->asking)
		return G_SOURCE_CONTINUE;
	t->asking = true;
	sock = g_build_filename(t->dir, TPL_AGENT_SOCK, NULL);
	if (t->step == 0)
		agent_call_at(sock, t->supervisor, "GET", "/health", NULL, template_answer, t);
	else /* one run each, so the warm workers are up (imported, forked) in the snapshot */
		agent_call_at(sock, t->supervisor, "POST", "/execute",
			      json_pack("{s:s,s:s,s:i}", "code", t->step == 1 ? "import json, os, sys" : "true",
					"language", t->step == 1 ? "python" : "bash", "timeout", 600),
			      template_answer, t);
	g_free(sock);
	return G_SOURCE_CONTINUE;
}

static void template_boot(struct vm_template *t, const char *image, int mem_mib)
{
	char *vsock = g_build_filename(t->dir, TPL_VSOCK, NULL), *api = g_build_filename(t->dir, TPL_API, NULL);
	char *agent = g_build_filename(t->dir, TPL_AGENT_SOCK, NULL), *console = g_build_filename(t->dir, TPL_CONSOLE, NULL);
	char *base = g_path_get_basename(t->dir); /* NAME-KEY: the jail's cgroup is this snapshot's alone */
	char *sup = g_build_filename(t->dir, TPL_SUPERVISOR, NULL), *id = g_strdup_printf("tpl-%s", base);
	char **argv = vmm_boot_argv(image, mem_mib, vsock, api, console, t->supervisor);

	unlink(vsock);
	unlink(api);
	if (!g_file_set_contents(sup, t->supervisor, -1, NULL) || chmod(sup, 0600) < 0 ||
	    vmm_spawn(id, t->dir, 1, mem_mib, image, NULL, false, argv, &t->pid, &t->pid_start)) {
		template_unlock(t);
		t->st = T_FAILED;
	} else {
		t->relay = relay_start(agent, vsock, AGENT_PORT);
		t->st = t->relay ? T_BOOTING : T_FAILED;
		t->step = 0;
		t->deadline = g_get_monotonic_time() + 15 * 60 * G_USEC_PER_SEC;
		if (t->st == T_BOOTING) {
			log_event(LOG_INFO, "template.booting", NULL, "template %s: booting it once for its snapshot (%s)",
				  t->name, t->dir);
			g_timeout_add(500, template_poll, t);
		} else {
			template_unlock(t);
		}
	}
	g_strfreev(argv);
	g_free(vsock);
	g_free(api);
	g_free(agent);
	g_free(console);
	g_free(id);
	g_free(base);
	g_free(sup);
}

/* Take over template T: a snapshot there (ready), or make it. Called with
 * its lock held, which template_boot keeps until the snapshot is done. */
static void template_take(struct vm_template *t)
{
	char *sup = g_build_filename(t->dir, TPL_SUPERVISOR, NULL);

	g_free(t->supervisor);
	t->supervisor = NULL;
	if (g_file_test(t->state, G_FILE_TEST_EXISTS) && g_file_test(t->mem, G_FILE_TEST_EXISTS) &&
	    g_file_get_contents(sup, &t->supervisor, NULL, NULL)) {
		template_unlock(t);
		t->st = T_READY;
		log_event(LOG_INFO, "template.ready", NULL, "template %s: using the snapshot in %s", t->name, t->dir);
	} else {
		char *inputs = g_build_filename(t->dir, TPL_INPUTS, NULL);

		g_file_set_contents(inputs, t->inputs, -1, NULL);
		g_free(inputs);
		t->supervisor = supervisor_token_new();
		template_boot(t, t->image, t->mem_mib);
	}
	g_free(sup);
}

/* Another hopxd is making this snapshot: wait for its lock, then take over. */
static gboolean template_wait(gpointer data)
{
	struct vm_template *t = data;

	if (template_lock(t) == -EWOULDBLOCK)
		return G_SOURCE_CONTINUE;
	if (t->lock_fd < 0) {
		t->st = T_FAILED;
		return G_SOURCE_REMOVE;
	}
	template_take(t);
	return G_SOURCE_REMOVE;
}

/* The template's snapshot: ready, or being made (started here if need be). */
struct vm_template *template_get(const char *name, const char *image, int mem_mib)
{
	struct vm_template *t;
	char *key, *base, *inputs;

	if (!templates)
		templates = g_hash_table_new(g_str_hash, g_str_equal);
	t = g_hash_table_lookup(templates, name);
	key = template_key(image, mem_mib, &inputs);
	base = g_strdup_printf("%s/%s-%s", cfg.snapshot_dir, name, key);
	g_free(key);
	if (t && strcmp(t->dir, base) != 0 && t->st != T_BOOTING && t->st != T_WAITING) { /* an input changed */
		g_hash_table_remove(templates, name);
		t = NULL; /* the old one is kept for the sandboxes restored from it */
	}
	if (!t) {
		t = g_new0(struct vm_template, 1);
		t->name = g_strdup(name);
		t->dir = g_strdup(base);
		t->state = g_build_filename(base, TPL_STATE, NULL);
		t->mem = g_build_filename(base, TPL_MEM, NULL);
		t->inputs = g_strdup(inputs);
		t->lock_fd = -1;
		g_hash_table_insert(templates, t->name, t);
	}
	g_free(inputs);
	g_free(base);
	if (t->st == T_NONE) {
		int err = g_mkdir_with_parents(t->dir, 0700) < 0 ? -errno : template_lock(t);

		g_free(t->image);
		t->image = g_strdup(image);
		t->mem_mib = mem_mib;
		if (err == -EWOULDBLOCK) {
			log_event(LOG_INFO, "template.waiting", NULL,
				  "template %s: another hopxd is making its snapshot in %s: waiting", t->name, t->dir);
			t->st = T_WAITING;
			g_timeout_add(1000, template_wait, t);
		} else if (err) {
			log_event(LOG_WARN, "template.failed", NULL, "template %s: %s: %s: sandboxes boot cold", t->name,
				  t->dir, strerror(-err));
			t->st = T_FAILED;
		} else {
			template_take(t);
		}
	}
	return t;
}

struct vm_template *template_known(const char *name)
{
	return templates ? g_hash_table_lookup(templates, name) : NULL;
}

/* Are INPUTS (a template_key text) still those of today's files and boot? */
static bool inputs_current(const char *inputs)
{
	char **f = g_strsplit(inputs, "|", -1), *boot = NULL;
	bool ok = g_strv_length(f) == 6 && strcmp(f[0], "net1") == 0;

	for (int i = 1; ok && i <= 3; i++) { /* PATH:SIZE:MTIME, as file_key writes it */
		char *end = strrchr(f[i], ':'), *now;

		end = end ? g_strrstr_len(f[i], end - f[i], ":") : NULL;
		if (!end) {
			ok = false;
			break;
		}
		*end = '\0';
		now = file_key(f[i]);
		*end = ':';
		ok = strcmp(now, f[i]) == 0;
		g_free(now);
	}
	if (ok)
		ok = g_file_get_contents(BOOT_ID, &boot, NULL, NULL) && strcmp(boot, f[5]) == 0;
	g_free(boot);
	g_strfreev(f);
	return ok;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		log_event(LOG_WARN, "template.prune", NULL, "remove %s: %s", path, strerror(errno));
	return 0;
}

/* Remove the template snapshots no VM can use any more: one of their inputs
 * (image, kernel, VMM, host boot) changed since they were made. A snapshot
 * another hopxd is making (locked) is left alone; so are directories that
 * are not snapshots. Snapshots older hopxds left without an inputs file go
 * after a day. Running sandboxes are not affected: their VMM has mapped
 * the memory file. */
static gboolean prune_snapshots(gpointer data)
{
	GDir *d = g_dir_open(cfg.snapshot_dir, 0, NULL);
	const char *name;

	(void)data;
	while (d && (name = g_dir_read_name(d))) {
		char *dir = g_build_filename(cfg.snapshot_dir, name, NULL), *inputs = g_build_filename(dir, TPL_INPUTS, NULL);
		char *state = g_build_filename(dir, TPL_STATE, NULL), *text = NULL;
		struct vm_template probe = { .dir = dir, .lock_fd = -1 };
		struct stat st;
		bool stale;

		if (g_file_get_contents(inputs, &text, NULL, NULL))
			stale = !inputs_current(text);
		else
			stale = stat(state, &st) == 0 && st.st_mtime < time(NULL) - 86400;
		if (stale && template_lock(&probe) == 0) {
			log_event(LOG_INFO, "template.prune", NULL, "removing the stale template snapshot %s", dir);
			nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			template_unlock(&probe);
		}
		g_free(text);
		g_free(state);
		g_free(inputs);
		g_free(dir);
	}
	if (d)
		g_dir_close(d);
	return G_SOURCE_CONTINUE;
}

void templates_prepare(json_t *only)
{
	prune_snapshots(NULL);
	g_timeout_add_seconds(3600, prune_snapshots, NULL);
	json_t *list = templates_list(), *t, *n;
	size_t i, k;

	json_array_foreach(list, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		bool wanted = !json_is_array(only);

		json_array_foreach(only, k, n)
			wanted |= json_is_string(n) && strcmp(json_string_value(n), name) == 0;
		if (!wanted)
			continue;
		json_t *res = json_object_get(t, "default_resources");
		int mem = (int)json_integer_value(json_object_get(res, "memory_mb")) ?: 1024;
		char *image = template_image(name);

		if (image && name)
			template_get(name, image, mem);
		g_free(image);
	}
	json_decref(list);
}

json_t *templates_status(void)
{
	static const char *const names[] = { "none", "preparing", "ready", "failed", "preparing" };
	json_t *o = json_object();
	GHashTableIter it;
	gpointer k, v;

	if (!templates)
		return o;
	g_hash_table_iter_init(&it, templates);
	while (g_hash_table_iter_next(&it, &k, &v))
		json_object_set_new(o, k, json_string(names[((struct vm_template *)v)->st]));
	return o;
}
