/* The vm runtime: each sandbox is a hopx-vmm microVM restored from its
 * template's booted snapshot.
 *
 * A template's snapshot is made once per template, kernel, VMM and host
 * boot (a software-KVM host refuses snapshots of another boot), under
 * <snapshot_dir>/<name>-<key>/ (default state-dir/templates): hopx-vmm boots our kernel on the
 * template image, read-only (every VM shares it), with the agent as /init
 * (--overlay-root: the guest writes into its own RAM) on vsock 7777; once
 * the agent answers and its warm python and bash have run once, the VM is
 * paused and snapshotted, and that VMM exits. Creates wait for it (on our
 * software-KVM machines a first boot takes minutes; later creates take
 * milliseconds).
 *
 * A sandbox is `hopx-vmm restore` of that snapshot (its memory file mapped
 * copy-on-write, so clones share its pages) with its own vsock socket and
 * control API socket in state-dir/sandboxes/<id>/run/, and hopxd's relay
 * (relay.c) on run/agent.sock. Pause snapshots the VM into the sandbox's
 * directory and ends its VMM (the memory is freed); resume restores it.
 * The guest has no network device: no route out, none to other sandboxes.
 * Every VMM runs under hopx-jail (spawn_vmm), like the namespace runtime's
 * agents. */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hopxd.h"

#define AGENT_PORT 7777

enum tstate { T_NONE, T_BOOTING, T_READY, T_FAILED };

struct vm_template {
	char *name, *dir, *state, *mem, *supervisor;
	enum tstate st;
	int pid;
	unsigned long long pid_start;
	struct relay *relay;
	gint64 deadline;
	int step; /* 0: waiting for /health, 1: warming python, 2: warming bash */
	bool asking;
};

static GHashTable *templates; /* name -> struct vm_template */
static GHashTable *relays;    /* sandbox id -> struct relay */

bool vm_runtime_usable(void)
{
	return access("/dev/kvm", R_OK | W_OK) == 0 && access(cfg.vmm, X_OK) == 0 && access(cfg.kernel, R_OK) == 0;
}

static char *file_key(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return g_strdup_printf("%s:missing", path);
	return g_strdup_printf("%s:%lld:%lld", path, (long long)st.st_size, (long long)st.st_mtime);
}

/* What the snapshot depends on: the image, kernel and VMM, memory size, the host's boot. */
static char *template_key(const char *image, int mem_mib)
{
	char *boot = NULL, *a = file_key(image), *b = file_key(cfg.kernel), *c = file_key(cfg.vmm);
	char *all, *hash;

	g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot, NULL, NULL);
	all = g_strdup_printf("%s|%s|%s|%d|%s", a, b, c, mem_mib, boot ? boot : "");
	hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, all, -1);
	hash[16] = '\0';
	g_free(boot);
	g_free(a);
	g_free(b);
	g_free(c);
	g_free(all);
	return hash;
}

static void vmm_api(const char *api_sock, const char *method, const char *path, const char *body, int *status)
{
	GSocketAddress *addr = g_unix_socket_address_new(api_sock);
	SoupSession *session = soup_session_new_with_options("remote-connectable", addr, "timeout", 120, NULL);
	char *url = g_strconcat("http://vmm", path, NULL);
	SoupMessage *m = soup_message_new(method, url);
	GBytes *reply, *b = g_bytes_new(body, strlen(body));
	GError *e = NULL;

	soup_message_set_request_body_from_bytes(m, "application/json", b);
	reply = soup_session_send_and_read(session, m, NULL, &e);
	*status = reply ? (int)soup_message_get_status(m) : 0;
	if (!reply) {
		fprintf(stderr, "hopxd: vmm %s %s %s: %s\n", api_sock, method, path, e->message);
		g_error_free(e);
	} else if (*status >= 300) {
		fprintf(stderr, "hopxd: vmm %s %s: %d %.*s\n", method, path, *status, (int)g_bytes_get_size(reply),
			(const char *)g_bytes_get_data(reply, NULL));
	}
	if (reply)
		g_bytes_unref(reply);
	g_bytes_unref(b);
	g_object_unref(m);
	g_object_unref(session);
	g_object_unref(addr);
	g_free(url);
}

/* Pause the VM behind API_SOCK and write its snapshot to STATE and MEM. -EIO. */
static int snapshot_to(const char *api_sock, const char *state, const char *mem)
{
	char *body = g_strdup_printf("{\"snapshot_type\":\"Full\",\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}",
				     state, mem);
	int st1 = 0, st2 = 0;

	vmm_api(api_sock, "PATCH", "/vm", "{\"state\":\"Paused\"}", &st1);
	if (st1 >= 200 && st1 < 300)
		vmm_api(api_sock, "PUT", "/snapshot/create", body, &st2);
	g_free(body);
	return st2 >= 200 && st2 < 300 ? 0 : -EIO;
}

/* Start hopx-vmm with VMM_ARGV under hopx-jail (jail.c, as the namespace
 * runtime's agent): its own namespaces, a cgroup (the guest's memory plus
 * room for the VMM), seccomp, and a root of the host's libraries with only
 * what it needs bound in: its binary, the kernel, the template's image and
 * snapshot read-only, its own directory DIR and /dev/kvm. */
static int spawn_vmm(const char *id, const char *dir, int vcpus, int mem_mib, const char *image, const char *snapdir,
		     char **vmm_argv, int *pid, unsigned long long *start)
{
	char *scratch = g_build_filename(dir, "scratch", NULL), *run = g_build_filename(dir, "run", NULL);
	char *log = g_build_filename(dir, "vmm.log", NULL);
	char cpus[16], mem[16];
	GPtrArray *argv = g_ptr_array_new();
	int err;

	g_mkdir_with_parents(scratch, 0700);
	g_mkdir_with_parents(run, 0700);
	snprintf(cpus, sizeof(cpus), "%d", vcpus > 0 ? vcpus : 1);
	snprintf(mem, sizeof(mem), "%d", mem_mib + 256);
	for (const char *const *a = (const char *const[]){ cfg.jail, "--id", id, "--scratch", scratch, "--run-dir", run,
							   "--cpus", cpus, "--memory-mib", mem, "--disk-mib", "16",
							   "--bind-ro", cfg.vmm, "--bind-ro", cfg.kernel, "--bind-ro",
							   image, "--bind", dir, "--bind", "/dev/kvm", NULL };
	     *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	if (snapdir) {
		g_ptr_array_add(argv, "--bind-ro");
		g_ptr_array_add(argv, (char *)snapdir);
	}
	g_ptr_array_add(argv, "--");
	for (char **a = vmm_argv; *a; a++)
		g_ptr_array_add(argv, *a);
	g_ptr_array_add(argv, NULL);
	err = spawn_detached((char **)argv->pdata, NULL, log, pid, start);
	g_ptr_array_free(argv, TRUE);
	g_free(scratch);
	g_free(run);
	g_free(log);
	return err;
}

/* --- template snapshots ------------------------------------------------------------------- */

static void template_failed(struct vm_template *t, const char *why)
{
	fprintf(stderr, "hopxd: template %s: no snapshot: %s (see %s/console.log)\n", t->name, why, t->dir);
	stop_process(t->pid, t->pid_start, 2000);
	relay_stop(t->relay);
	t->relay = NULL;
	t->st = T_FAILED;
}

static void template_done(struct vm_template *t)
{
	char *api = g_build_filename(t->dir, "api.sock", NULL);
	int err = snapshot_to(api, t->state, t->mem);

	g_free(api);
	stop_process(t->pid, t->pid_start, 2000);
	relay_stop(t->relay);
	t->relay = NULL;
	if (err) {
		template_failed(t, "the snapshot failed");
		return;
	}
	t->st = T_READY;
	fprintf(stderr, "hopxd: template %s: booted and snapshotted in %s\n", t->name, t->dir);
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
			template_failed(t, "the agent could not run code");
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
	sock = g_build_filename(t->dir, "agent.sock", NULL);
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
	char *vsock = g_build_filename(t->dir, "v.sock", NULL), *api = g_build_filename(t->dir, "api.sock", NULL);
	char *agent = g_build_filename(t->dir, "agent.sock", NULL), *console = g_build_filename(t->dir, "console.log", NULL);
	char *base = g_path_get_basename(t->dir); /* NAME-KEY: the jail's cgroup is this snapshot's alone */
	char *sup = g_build_filename(t->dir, "supervisor", NULL), *id = g_strdup_printf("tpl-%s", base);
	char *drive = g_strdup_printf("path=%s,ro", image), *vs = g_strdup_printf("cid=3,uds=%s", vsock);
	char *mem = g_strdup_printf("%d", mem_mib);
	char *cmdline = g_strdup_printf("console=ttyS0 reboot=k panic=-1 quiet root=/dev/vda ro init=/sbin/hopx-agent -- "
					"--listen vsock:%d --supervisor-token %s --overlay-root",
					AGENT_PORT, t->supervisor);
	char *argv[] = { cfg.vmm, "run", "--kernel", cfg.kernel, "--mem-mib", mem, "--drive", drive, "--vsock", vs,
			 "--api-sock", api, "--console", console, "--cmdline", cmdline, NULL };

	unlink(vsock);
	unlink(api);
	if (!g_file_set_contents(sup, t->supervisor, -1, NULL) || chmod(sup, 0600) < 0 ||
	    spawn_vmm(id, t->dir, 1, mem_mib, image, NULL, argv, &t->pid, &t->pid_start)) {
		t->st = T_FAILED;
	} else {
		t->relay = relay_start(agent, vsock, AGENT_PORT);
		t->st = t->relay ? T_BOOTING : T_FAILED;
		t->step = 0;
		t->deadline = g_get_monotonic_time() + 15 * 60 * G_USEC_PER_SEC;
		if (t->st == T_BOOTING) {
			fprintf(stderr, "hopxd: template %s: booting it once for its snapshot (%s)\n", t->name, t->dir);
			g_timeout_add(500, template_poll, t);
		}
	}
	g_free(vsock);
	g_free(api);
	g_free(agent);
	g_free(console);
	g_free(id);
	g_free(base);
	g_free(sup);
	g_free(drive);
	g_free(vs);
	g_free(mem);
	g_free(cmdline);
}

/* The template's snapshot: ready, or being made (started here if need be). */
static struct vm_template *template_get(const char *name, const char *image, int mem_mib)
{
	struct vm_template *t;
	char *key, *base;

	if (!templates)
		templates = g_hash_table_new(g_str_hash, g_str_equal);
	t = g_hash_table_lookup(templates, name);
	key = template_key(image, mem_mib);
	base = g_strdup_printf("%s/%s-%s", cfg.snapshot_dir, name, key);
	g_free(key);
	if (t && strcmp(t->dir, base) != 0 && t->st != T_BOOTING) { /* its image, kernel or VMM changed */
		g_hash_table_remove(templates, name);
		t = NULL; /* the old one is kept for the sandboxes restored from it */
	}
	if (!t) {
		t = g_new0(struct vm_template, 1);
		t->name = g_strdup(name);
		t->dir = g_strdup(base);
		t->state = g_build_filename(base, "state", NULL);
		t->mem = g_build_filename(base, "mem", NULL);
		g_hash_table_insert(templates, t->name, t);
	}
	g_free(base);
	if (t->st == T_NONE) {
		char *sup = g_build_filename(t->dir, "supervisor", NULL);

		g_free(t->supervisor);
		t->supervisor = NULL;
		if (g_file_test(t->state, G_FILE_TEST_EXISTS) && g_file_test(t->mem, G_FILE_TEST_EXISTS) &&
		    g_file_get_contents(sup, &t->supervisor, NULL, NULL)) {
			t->st = T_READY;
		} else if (g_mkdir_with_parents(t->dir, 0700) == 0) {
			t->supervisor = random_token("hopx_sv_", 24);
			template_boot(t, image, mem_mib);
		} else {
			t->st = T_FAILED;
		}
		g_free(sup);
	}
	return t;
}

/* --- sandboxes ------------------------------------------------------------------------------- */

static int restore(struct sandbox *s, const char *state, const char *mem, const char *image, const char *snapdir)
{
	char run[4096], vsock[4096], api[4096], console[4096], dir[4096];
	char *argv[] = { cfg.vmm, "restore", "--state", (char *)state, "--mem", (char *)mem, "--vsock-uds", vsock,
			 "--api-sock", api, "--console", console, NULL };

	sandbox_dir(s->id, "run", run, sizeof(run));
	sandbox_dir(s->id, "run/v.sock", vsock, sizeof(vsock));
	sandbox_dir(s->id, "run/api.sock", api, sizeof(api));
	sandbox_dir(s->id, "console.log", console, sizeof(console));
	sandbox_dir(s->id, "", dir, sizeof(dir));
	if (g_mkdir_with_parents(run, 0700) < 0)
		return -errno;
	unlink(vsock);
	unlink(api);
	return spawn_vmm(s->id, dir, s->vcpu, s->memory_mb, image, snapdir, argv, &s->keeper_pid, &s->keeper_start);
}

static int relay_for(struct sandbox *s)
{
	char agent[4096], vsock[4096];
	struct relay *r;

	if (!relays)
		relays = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)relay_stop);
	if (g_hash_table_lookup(relays, s->id))
		return 0;
	sandbox_dir(s->id, "run", agent, sizeof(agent));
	g_mkdir_with_parents(agent, 0700);
	sandbox_dir(s->id, "run/agent.sock", agent, sizeof(agent));
	sandbox_dir(s->id, "run/v.sock", vsock, sizeof(vsock));
	r = relay_start(agent, vsock, AGENT_PORT);
	if (!r)
		return -EIO;
	g_hash_table_insert(relays, g_strdup(s->id), r);
	return 0;
}

static int vm_start(struct sandbox *s, const char *image, json_t *manifest)
{
	struct vm_template *t = template_get(s->template_name, image, s->memory_mb);
	int err;

	(void)manifest;
	if (t->st == T_BOOTING)
		return -EAGAIN;
	if (t->st != T_READY)
		return -EIO;
	snprintf(s->supervisor, sizeof(s->supervisor), "%s", t->supervisor); /* the agent in the snapshot has it */
	err = relay_for(s);
	return err ?: restore(s, t->state, t->mem, image, t->dir);
}

static bool vm_alive(const struct sandbox *s)
{
	char state[4096];

	if (strcmp(s->status, "paused") == 0) /* no VMM: its snapshot is the sandbox */
		return access(sandbox_dir(s->id, "snap/state", state, sizeof(state)), F_OK) == 0;
	return s->keeper_start && proc_start_time(s->keeper_pid) == s->keeper_start;
}

static int vm_pause(struct sandbox *s)
{
	char dir[4096], state[4096], mem[4096], api[4096];
	int err;

	sandbox_dir(s->id, "snap", dir, sizeof(dir));
	sandbox_dir(s->id, "snap/state", state, sizeof(state));
	sandbox_dir(s->id, "snap/mem", mem, sizeof(mem));
	sandbox_dir(s->id, "run/api.sock", api, sizeof(api));
	if (g_mkdir_with_parents(dir, 0700) < 0)
		return -errno;
	err = snapshot_to(api, state, mem);
	if (err) { /* it keeps running as it was */
		int st;

		vmm_api(api, "PATCH", "/vm", "{\"state\":\"Resumed\"}", &st);
		return err;
	}
	stop_process(s->keeper_pid, s->keeper_start, 2000);
	s->keeper_pid = 0;
	s->keeper_start = 0;
	return 0;
}

static int vm_resume(struct sandbox *s)
{
	char state[4096], mem[4096];
	int err;

	sandbox_dir(s->id, "snap/state", state, sizeof(state));
	sandbox_dir(s->id, "snap/mem", mem, sizeof(mem));
	err = relay_for(s);
	if (!err) {
		char *image = template_image(s->template_name);
		struct vm_template *t = templates ? g_hash_table_lookup(templates, s->template_name) : NULL;

		/* Its memory was saved whole into snap/; the template's directory
		 * is bound too in case the state refers to it. */
		err = restore(s, state, mem, image, t ? t->dir : NULL);
		g_free(image);
	}
	/* The files stay until the sandbox goes: the VMM reads them as it starts, and
	 * maps the memory file. The next pause replaces them by a rename, which
	 * leaves the mapped file to the running VM. */
	return err;
}

static int vm_stop(struct sandbox *s)
{
	static const char *const files[] = { "snap/state", "snap/mem", "snap", "run/v.sock", "run/api.sock",
					     "run/agent.sock", "run", "scratch", "console.log", "vmm.log", "" };

	stop_process(s->keeper_pid, s->keeper_start, 2000);
	if (relays)
		g_hash_table_remove(relays, s->id);
	sandbox_remove(s->id, files, G_N_ELEMENTS(files));
	return 0;
}

static int vm_adopt(struct sandbox *s)
{
	return strcmp(s->status, "running") == 0 ? relay_for(s) : 0;
}

const struct runtime rt_vm = {
	.name = "vm",
	.start = vm_start,
	.pause = vm_pause,
	.resume = vm_resume,
	.stop = vm_stop,
	.alive = vm_alive,
	.adopt = vm_adopt,
};

const struct runtime *runtime_get(const char *name)
{
	if (strcmp(name, rt_vm.name) == 0)
		return &rt_vm;
	return strcmp(name, rt_namespace.name) == 0 ? &rt_namespace : NULL;
}

void vm_prepare_templates(json_t *only)
{
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

json_t *vm_templates_status(void)
{
	static const char *const names[] = { "none", "preparing", "ready", "failed" };
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
