/* The namespace runtime: a sandbox is hopx-jail (jail.c: its own mount,
 * pid, network, ipc and uts namespaces, cgroup limits, a copy-on-write
 * view of the template image, seccomp) running the template's own agent,
 * which listens on state-dir/sandboxes/<id>/run/agent.sock. Pause freezes
 * the sandbox's cgroup; resume thaws it. The jail's keeper process is
 * detached (its own session), so sandboxes outlive a hopxd restart and are
 * adopted again (sandbox_recover). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where the agent listens inside the jail: hopx-jail binds the sandbox's
 * run/ directory (SBX_RUN) on /run/hopx, so this is SBX_AGENT_SOCK outside. */
#define NS_AGENT_LISTEN "unix:/run/hopx/agent.sock"

#include "cgroup.h"
#include "config.h"
#include "event.h"
#include "paths.h"
#include "runtime.h"
#include "util.h"

static int ns_start(struct sandbox *s, const char *image, json_t *manifest)
{
	char dir[4096], run[4096], scratch[4096], logpath[4096], cpus[16], mem[16], disk[16];
	char *listen = g_strdup(NS_AGENT_LISTEN);
	char *argv[32];
	char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
			 "LANG=C.UTF-8", "TERM=xterm-256color", NULL };
	int n = 0, err;

	(void)manifest;
	sandbox_dir(s->id, "", dir, sizeof(dir));
	sandbox_dir(s->id, SBX_RUN, run, sizeof(run));
	sandbox_dir(s->id, SBX_SCRATCH, scratch, sizeof(scratch));
	sandbox_dir(s->id, SBX_JAIL_LOG, logpath, sizeof(logpath));
	if (g_mkdir_with_parents(run, 0700) < 0 || g_mkdir_with_parents(scratch, 0700) < 0) {
		int e = errno;

		log_event(LOG_ERROR, "sandbox.start_failed", s->id, "mkdir %s: %s", dir, strerror(e));
		g_free(listen);
		return -e;
	}
	snprintf(cpus, sizeof(cpus), "%d", s->vcpu);
	snprintf(mem, sizeof(mem), "%d", s->memory_mb);
	snprintf(disk, sizeof(disk), "%d", s->disk_mb);
	argv[n++] = cfg.jail;
	argv[n++] = "--id";
	argv[n++] = s->id;
	argv[n++] = "--image";
	argv[n++] = (char *)image;
	argv[n++] = "--scratch";
	argv[n++] = scratch;
	argv[n++] = "--run-dir";
	argv[n++] = run;
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--memory-mib";
	argv[n++] = mem;
	argv[n++] = "--disk-mib";
	argv[n++] = disk;
	if (s->internet)
		argv[n++] = "--egress";
	argv[n++] = "--";
	argv[n++] = GUEST_AGENT_BIN;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--supervisor-token";
	argv[n++] = s->supervisor;
	argv[n] = NULL;
	err = spawn_detached(argv, envp, logpath, &s->keeper_pid, &s->keeper_start);
	g_free(listen);
	return err;
}

static bool ns_alive(const struct sandbox *s)
{
	return s->keeper_pid > 0 && s->keeper_start && proc_start_time(s->keeper_pid) == s->keeper_start;
}

static int ns_pause(struct sandbox *s)
{
	return cg_freeze(s->id, true);
}

static int ns_resume(struct sandbox *s)
{
	return cg_freeze(s->id, false);
}

static int ns_stop(struct sandbox *s)
{
	/* The mounts lived in the sandbox's mount namespace: only empty directories and the log are left. */
	static const char *const files[] = { SBX_AGENT_SOCK, SBX_RUN, SBX_SCRATCH, SBX_JAIL_LOG, "" };
	int err;

	if (cg_exists(s->id))
		cg_freeze(s->id, false); /* frozen tasks do not die */
	stop_process(s->keeper_pid, s->keeper_start, 3000);
	err = cg_kill(s->id);
	if (!err && cg_exists(s->id))
		err = cg_remove(s->id);
	sandbox_remove(s->id, files, G_N_ELEMENTS(files));
	return err;
}

static int ns_check(bool quiet)
{
	int err = access(cfg.jail, X_OK) < 0 ? -errno : 0;

	if (err && !quiet)
		log_event(LOG_ERROR, "hopxd.config", NULL, "%s: %s: build it (make hopxd) or set \"jail\" in the config",
			  cfg.jail, strerror(-err));
	return err;
}

const struct runtime rt_namespace = {
	.name = "namespace",
	.isolation = "namespaces (weaker than a VM)",
	.start_timeout_s = 120,
	.unusable = "",
	.check = ns_check,
	.prepare = NULL,
	.prepared = NULL,
	.start = ns_start,
	.pause = ns_pause,
	.resume = ns_resume,
	.stop = ns_stop,
	.alive = ns_alive,
	.adopt = NULL,
};

