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
 * The guest's NIC is a TAP in its VMM's own network namespace (the same
 * address in every VM), with a way out only for internet_access (jail_net.c).
 * Every VMM runs under hopx-jail (spawn_vmm), like the namespace runtime's
 * agents. Snapshots being made are flock()ed, so hopxds sharing
 * snapshot_dir make each once; stale ones are pruned; a template with no
 * snapshot falls back to booting each sandbox's VM cold. */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <stdio.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hopxd.h"

#define AGENT_PORT 7777
#define VM_TAP "tap0" /* in the VM's own network namespace (hopx-jail --tap): the same name in every jail */
#define VM_GUEST_IP "172.16.0.2" /* the guest's side of it (jail_net.h) */
#define VM_GATEWAY "172.16.0.1"

/* T_WAITING: another hopxd holds the snapshot's lock (it is making it). */
enum tstate { T_NONE, T_BOOTING, T_READY, T_FAILED, T_WAITING };

struct vm_template {
	char *name, *dir, *state, *mem, *supervisor;
	char *inputs, *image; /* template_key's inputs; the image it was asked for */
	int mem_mib, lock_fd; /* lock_fd: dir/lock, flock()ed while we make the snapshot */
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

/* What the snapshot depends on: the image, kernel and VMM, memory size, the
 * host's boot; that text in *INPUTS (kept beside the snapshot, for
 * pruning), its hash returned. */
static char *template_key(const char *image, int mem_mib, char **inputs)
{
	char *boot = NULL, *a = file_key(image), *b = file_key(cfg.kernel), *c = file_key(cfg.vmm);
	char *all, *hash;

	g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot, NULL, NULL);
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
 * snapshot read-only, its own directory DIR, /dev/kvm and /dev/net/tun. Its
 * network namespace has the TAP VM_TAP for the guest's NIC, with a way out
 * to the host if EGRESS (the sandbox's internet_access). */
static int spawn_vmm(const char *id, const char *dir, int vcpus, int mem_mib, const char *image, const char *snapdir,
		     bool egress, char **vmm_argv, int *pid, unsigned long long *start)
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
							   image, "--bind", dir, "--bind", "/dev/kvm", "--bind",
							   "/dev/net/tun", "--tap", VM_TAP, NULL };
	     *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	if (snapdir) {
		g_ptr_array_add(argv, "--bind-ro");
		g_ptr_array_add(argv, (char *)snapdir);
	}
	if (egress)
		g_ptr_array_add(argv, "--egress");
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

/* The host's first nameserver that a sandbox can reach (not loopback), or NULL. */
static char *host_nameserver(void)
{
	char *text = NULL, **lines, *ns = NULL;

	if (!g_file_get_contents("/etc/resolv.conf", &text, NULL, NULL))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && !ns; l++) {
		char **w = g_strsplit_set(g_strstrip(*l), " \t", -1);

		if (w[0] && strcmp(w[0], "nameserver") == 0 && w[1] && strchr(w[1], '.') && !strchr(w[1], ':') &&
		    strncmp(w[1], "127.", 4) != 0 && strlen(w[1]) <= 15)
			ns = g_strdup(w[1]);
		g_strfreev(w);
	}
	g_strfreev(lines);
	g_free(text);
	return ns;
}

/* flock() T's dir/lock (kept in t->lock_fd): 0, -EWOULDBLOCK if another
 * hopxd holds it, or -errno (logged). */
static int template_lock(struct vm_template *t)
{
	char *path = g_build_filename(t->dir, "lock", NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), err = 0;

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = -errno;
		if (err != -EWOULDBLOCK)
			fprintf(stderr, "hopxd: lock %s: %s\n", path, strerror(errno));
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
	fprintf(stderr, "hopxd: template %s: no snapshot: %s (see %s/console.log)\n", t->name, why, t->dir);
	stop_process(t->pid, t->pid_start, 2000);
	relay_stop(t->relay);
	t->relay = NULL;
	template_unlock(t);
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
	template_unlock(t);
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

/* hopx-vmm run's arguments: our kernel on IMAGE (read-only, shared) with
 * the agent as /init on a tmpfs overlay, answering SUPERVISOR on vsock
 * AGENT_PORT through VSOCK; the NIC on VM_TAP with the same address in
 * every VM (each has its own TAP in its own namespace). g_strfreev it. */
static char **boot_argv(const char *image, int mem_mib, const char *vsock, const char *api, const char *console,
			const char *supervisor)
{
	char *dns = host_nameserver();
	char *cmdline = g_strdup_printf("console=ttyS0 reboot=k panic=-1 quiet root=/dev/vda ro "
					"ip=%s::%s:255.255.255.252::eth0:off:%s init=/sbin/hopx-agent -- "
					"--listen vsock:%d --supervisor-token %s --overlay-root",
					VM_GUEST_IP, VM_GATEWAY, dns ? dns : "", AGENT_PORT, supervisor);
	char *mem = g_strdup_printf("%d", mem_mib), *drive = g_strdup_printf("path=%s,ro", image);
	char *vs = g_strdup_printf("cid=3,uds=%s", vsock);
	char *argv[] = { cfg.vmm, "run", "--kernel", cfg.kernel, "--mem-mib", mem, "--drive", drive, "--vsock", vs,
			 "--net", "tap=" VM_TAP, "--api-sock", (char *)api, "--console", (char *)console, "--cmdline",
			 cmdline, NULL };
	char **out = g_strdupv(argv);

	g_free(mem);
	g_free(drive);
	g_free(vs);
	g_free(cmdline);
	g_free(dns);
	return out;
}

static void template_boot(struct vm_template *t, const char *image, int mem_mib)
{
	char *vsock = g_build_filename(t->dir, "v.sock", NULL), *api = g_build_filename(t->dir, "api.sock", NULL);
	char *agent = g_build_filename(t->dir, "agent.sock", NULL), *console = g_build_filename(t->dir, "console.log", NULL);
	char *base = g_path_get_basename(t->dir); /* NAME-KEY: the jail's cgroup is this snapshot's alone */
	char *sup = g_build_filename(t->dir, "supervisor", NULL), *id = g_strdup_printf("tpl-%s", base);
	char **argv = boot_argv(image, mem_mib, vsock, api, console, t->supervisor);

	unlink(vsock);
	unlink(api);
	if (!g_file_set_contents(sup, t->supervisor, -1, NULL) || chmod(sup, 0600) < 0 ||
	    spawn_vmm(id, t->dir, 1, mem_mib, image, NULL, false, argv, &t->pid, &t->pid_start)) {
		template_unlock(t);
		t->st = T_FAILED;
	} else {
		t->relay = relay_start(agent, vsock, AGENT_PORT);
		t->st = t->relay ? T_BOOTING : T_FAILED;
		t->step = 0;
		t->deadline = g_get_monotonic_time() + 15 * 60 * G_USEC_PER_SEC;
		if (t->st == T_BOOTING) {
			fprintf(stderr, "hopxd: template %s: booting it once for its snapshot (%s)\n", t->name, t->dir);
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
	char *sup = g_build_filename(t->dir, "supervisor", NULL);

	g_free(t->supervisor);
	t->supervisor = NULL;
	if (g_file_test(t->state, G_FILE_TEST_EXISTS) && g_file_test(t->mem, G_FILE_TEST_EXISTS) &&
	    g_file_get_contents(sup, &t->supervisor, NULL, NULL)) {
		template_unlock(t);
		t->st = T_READY;
		fprintf(stderr, "hopxd: template %s: using the snapshot in %s\n", t->name, t->dir);
	} else {
		char *inputs = g_build_filename(t->dir, "inputs", NULL);

		g_file_set_contents(inputs, t->inputs, -1, NULL);
		g_free(inputs);
		t->supervisor = random_token("hopx_sv_", 24);
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
static struct vm_template *template_get(const char *name, const char *image, int mem_mib)
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
		t->state = g_build_filename(base, "state", NULL);
		t->mem = g_build_filename(base, "mem", NULL);
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
			fprintf(stderr, "hopxd: template %s: another hopxd is making its snapshot in %s: waiting\n",
				t->name, t->dir);
			t->st = T_WAITING;
			g_timeout_add(1000, template_wait, t);
		} else if (err) {
			fprintf(stderr, "hopxd: template %s: %s: %s: sandboxes boot cold\n", t->name, t->dir,
				strerror(-err));
			t->st = T_FAILED;
		} else {
			template_take(t);
		}
	}
	return t;
}

/* --- sandboxes ------------------------------------------------------------------------------- */

/* Where sandbox S's VMM keeps its sockets and logs. */
struct vm_paths {
	char run[4096], vsock[4096], api[4096], console[4096], dir[4096];
};

/* Fill P for S, make its run/ directory and clear old sockets there. -errno. */
static int vm_paths(const struct sandbox *s, struct vm_paths *p)
{
	sandbox_dir(s->id, "run", p->run, sizeof(p->run));
	sandbox_dir(s->id, "run/v.sock", p->vsock, sizeof(p->vsock));
	sandbox_dir(s->id, "run/api.sock", p->api, sizeof(p->api));
	sandbox_dir(s->id, "console.log", p->console, sizeof(p->console));
	sandbox_dir(s->id, "", p->dir, sizeof(p->dir));
	if (g_mkdir_with_parents(p->run, 0700) < 0)
		return -errno;
	unlink(p->vsock);
	unlink(p->api);
	return 0;
}

static int restore(struct sandbox *s, const char *state, const char *mem, const char *image, const char *snapdir)
{
	struct vm_paths p;
	char *argv[] = { cfg.vmm, "restore", "--state", (char *)state, "--mem", (char *)mem, "--vsock-uds", p.vsock,
			 "--api-sock", p.api, "--console", p.console, NULL };
	int err = vm_paths(s, &p);

	return err ?: spawn_vmm(s->id, p.dir, s->vcpu, s->memory_mb, image, snapdir, s->internet, argv,
				&s->keeper_pid, &s->keeper_start);
}

/* The fallback when the template has no snapshot: boot the sandbox's own
 * VM from the kernel (minutes on software-KVM hosts, where the create
 * waits for it; well under a second of kernel time on hardware KVM). */
static int cold_boot(struct sandbox *s, const char *image)
{
	struct vm_paths p;
	char **argv;
	int err = vm_paths(s, &p);

	if (err)
		return err;
	log_event("sandbox.cold_boot", s->id, "template %s has no snapshot: booting its own VM", s->template_name);
	argv = boot_argv(image, s->memory_mb, p.vsock, p.api, p.console, s->supervisor);
	err = spawn_vmm(s->id, p.dir, s->vcpu, s->memory_mb, image, NULL, s->internet, argv, &s->keeper_pid,
			&s->keeper_start);
	g_strfreev(argv);
	return err;
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
	if (t->st == T_BOOTING || t->st == T_WAITING)
		return -EAGAIN;
	err = relay_for(s);
	if (err)
		return err;
	if (t->st != T_READY) /* no snapshot to restore: this sandbox boots on its own */
		return cold_boot(s, image);
	snprintf(s->supervisor, sizeof(s->supervisor), "%s", t->supervisor); /* the agent in the snapshot has it */
	return restore(s, t->state, t->mem, image, t->dir);
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

/* The last lines of sandbox S's log NAME, into hopxd's log. */
static void log_tail(const struct sandbox *s, const char *name)
{
	char path[4096], *text = NULL;
	gsize len = 0;

	sandbox_dir(s->id, name, path, sizeof(path));
	if (g_file_get_contents(path, &text, &len, NULL) && len) {
		const char *tail = len > 1500 ? text + len - 1500 : text;

		fprintf(stderr, "hopxd: sandbox %s ended by itself; the end of its %s:\n%s%s", s->id, name, tail,
			text[len - 1] == '\n' ? "" : "\n");
	}
	g_free(text);
}

static int vm_stop(struct sandbox *s)
{
	static const char *const files[] = { "snap/state", "snap/mem", "snap", "run/v.sock", "run/api.sock",
					     "run/agent.sock", "run", "scratch", "console.log", "vmm.log", "" };

	if (strcmp(s->status, "running") == 0 && !vm_alive(s)) /* it died: say how before its files go */
		log_tail(s, "vmm.log");
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
		ok = g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot, NULL, NULL) && strcmp(boot, f[5]) == 0;
	g_free(boot);
	g_strfreev(f);
	return ok;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		fprintf(stderr, "hopxd: remove %s: %s\n", path, strerror(errno));
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
		char *dir = g_build_filename(cfg.snapshot_dir, name, NULL), *inputs = g_build_filename(dir, "inputs", NULL);
		char *state = g_build_filename(dir, "state", NULL), *text = NULL;
		struct vm_template probe = { .dir = dir, .lock_fd = -1 };
		struct stat st;
		bool stale;

		if (g_file_get_contents(inputs, &text, NULL, NULL))
			stale = !inputs_current(text);
		else
			stale = stat(state, &st) == 0 && st.st_mtime < time(NULL) - 86400;
		if (stale && template_lock(&probe) == 0) {
			fprintf(stderr, "hopxd: removing the stale template snapshot %s\n", dir);
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

void vm_prepare_templates(json_t *only)
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

json_t *vm_templates_status(void)
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
