/* The vm runtime: each sandbox is a hopx-vmm microVM restored from its
 * template's booted snapshot (tsnap.c makes them).
 *
 * A sandbox is `hopx-vmm restore` of that snapshot (its memory file mapped
 * copy-on-write, so clones share its pages) with its own vsock socket and
 * control API socket in state-dir/sandboxes/<id>/run/, and hopxd's relay
 * (relay.c) on run/agent.sock. Pause snapshots the VM into the sandbox's
 * directory and ends its VMM (the memory is freed); resume restores it.
 * Every VMM runs under hopx-jail (vm_launch.c), like the namespace
 * runtime's agents. A template with no snapshot falls back to booting each
 * sandbox's VM cold. */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "event.h"
#include "paths.h"
#include "relay.h"
#include "runtime.h"
#include "templates.h"
#include "tsnap.h"
#include "util.h"
#include "vm_launch.h"
#include "vmm_client.h"

static GHashTable *relays;    /* sandbox id -> struct relay */

/* Can this host run the vm runtime (KVM, hopx-vmm, the kernel)? */
static int vm_check(bool quiet)
{
	if (access(KVM_DEV, R_OK | W_OK) == 0 && access(cfg.vmm, X_OK) == 0 && access(cfg.kernel, R_OK) == 0)
		return 0;
	if (!quiet)
		log_event(LOG_ERROR, "hopxd.config", NULL,
			  "--runtime vm needs /dev/kvm, %s and %s (set \"vmm\" and \"kernel\" in the config)", cfg.vmm,
			  cfg.kernel);
	return -ENODEV;
}

/* --- sandboxes ------------------------------------------------------------------------------- */

/* Where sandbox S's VMM keeps its sockets and logs. */
struct vm_paths {
	char run[4096], vsock[4096], api[4096], console[4096], dir[4096];
};

/* Fill P for S, make its run/ directory and clear old sockets there. -errno. */
static int vm_paths(const struct sandbox *s, struct vm_paths *p)
{
	sandbox_dir(s->id, SBX_RUN, p->run, sizeof(p->run));
	sandbox_dir(s->id, SBX_VSOCK, p->vsock, sizeof(p->vsock));
	sandbox_dir(s->id, SBX_VMM_API, p->api, sizeof(p->api));
	sandbox_dir(s->id, SBX_CONSOLE, p->console, sizeof(p->console));
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

	return err ?: vmm_spawn(s->id, p.dir, s->vcpu, s->memory_mb, image, snapdir, s->internet, argv,
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
	log_event(LOG_INFO, "sandbox.cold_boot", s->id, "template %s has no snapshot: booting its own VM", s->template_name);
	argv = vmm_boot_argv(image, s->memory_mb, p.vsock, p.api, p.console, s->supervisor);
	err = vmm_spawn(s->id, p.dir, s->vcpu, s->memory_mb, image, NULL, s->internet, argv, &s->keeper_pid,
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
	sandbox_dir(s->id, SBX_RUN, agent, sizeof(agent));
	g_mkdir_with_parents(agent, 0700);
	sandbox_dir(s->id, SBX_AGENT_SOCK, agent, sizeof(agent));
	sandbox_dir(s->id, SBX_VSOCK, vsock, sizeof(vsock));
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
		return access(sandbox_dir(s->id, SBX_SNAP_STATE, state, sizeof(state)), F_OK) == 0;
	return s->keeper_start && proc_start_time(s->keeper_pid) == s->keeper_start;
}

static int vm_pause(struct sandbox *s)
{
	char dir[4096], state[4096], mem[4096], api[4096];
	int err;

	sandbox_dir(s->id, SBX_SNAP, dir, sizeof(dir));
	sandbox_dir(s->id, SBX_SNAP_STATE, state, sizeof(state));
	sandbox_dir(s->id, SBX_SNAP_MEM, mem, sizeof(mem));
	sandbox_dir(s->id, SBX_VMM_API, api, sizeof(api));
	if (g_mkdir_with_parents(dir, 0700) < 0)
		return -errno;
	err = vmm_snapshot(api, state, mem);
	if (err) { /* it keeps running as it was */
		vmm_resume(api);
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

	sandbox_dir(s->id, SBX_SNAP_STATE, state, sizeof(state));
	sandbox_dir(s->id, SBX_SNAP_MEM, mem, sizeof(mem));
	err = relay_for(s);
	if (!err) {
		char *image = template_image(s->template_name);
		struct vm_template *t = template_known(s->template_name);

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

		log_event(LOG_WARN, "sandbox.died", s->id, "sandbox %s ended by itself; the end of its %s:\n%s", s->id, name,
			  tail);
	}
	g_free(text);
}

static int vm_stop(struct sandbox *s)
{
	static const char *const files[] = { SBX_SNAP_STATE, SBX_SNAP_MEM, SBX_SNAP, SBX_VSOCK, SBX_VMM_API,
					     SBX_AGENT_SOCK, SBX_RUN, SBX_SCRATCH, SBX_CONSOLE, SBX_VMM_LOG, "" };

	if (strcmp(s->status, "running") == 0 && !vm_alive(s)) /* it died: say how before its files go */
		log_tail(s, SBX_VMM_LOG);
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
	.isolation = "microvm",
	/* A first create of a template on a software-KVM host boots it: minutes. */
	.start_timeout_s = 900,
	.unusable = "no usable /dev/kvm, hopx-vmm or guest kernel for vm",
	.check = vm_check,
	.prepare = templates_prepare,
	.prepared = templates_status,
	.start = vm_start,
	.pause = vm_pause,
	.resume = vm_resume,
	.stop = vm_stop,
	.alive = vm_alive,
	.adopt = vm_adopt,
};

