/* hopx-agent: the HopX Agent API inside a sandbox.
 *
 *   hopx-agent --listen unix:PATH|tcp:HOST:PORT|vsock:PORT --token TOKEN [--token ...]
 *              [--token-file FILE] [--supervisor-token TOKEN] [--root DIR] [--no-warm]
 *              [--overlay-root]
 *
 * As PID 1 (the /init of a sandbox VM) it first does an init's job: mounts
 * /proc, /sys, /dev, /tmp and /workspace, sets the hostname, writes
 * /etc/resolv.conf from the kernel's ip= nameserver, then forks:
 * the child serves the API, the parent stays PID 1, reaps orphans and
 * powers the VM off when the agent exits. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

struct agent agent;

static void usage(FILE *f)
{
	fprintf(f, "usage: hopx-agent --listen unix:PATH|tcp:HOST:PORT|vsock:PORT --token TOKEN [--token ...]\n"
		   "                  [--token-file FILE] [--supervisor-token TOKEN] [--root DIR] [--no-warm]\n"
		   "                  [--overlay-root]\n"
		   "Serves the HopX Agent API. Requests need 'Authorization: Bearer TOKEN' with one of the\n"
		   "given tokens (GET /health excepted). --token-file FILE: one token per line; SIGHUP\n"
		   "re-reads it and adds the new ones. --supervisor-token TOKEN: accepted everywhere, and\n"
		   "the only token for POST /auth/tokens {\"tokens\":[...],\"replace\":false}, which adds\n"
		   "(or replaces) the accepted tokens. --root DIR: chroot into DIR first (a template's\n"
		   "root filesystem), after opening the listening socket. --no-warm: no warm interpreters;\n"
		   "every /execute starts its own. --overlay-root (as PID 1): a tmpfs overlay over a\n"
		   "read-only root, so VMs can share one template image.\n");
}

/* --overlay-root (as PID 1 on a read-only root, e.g. a template image that
 * many VMs share): the root becomes an overlay of itself under a tmpfs, so
 * the sandbox can write anywhere and its writes live in its own RAM (and in
 * its snapshots). Returns -errno; the root stays as it was on failure. */
static int overlay_root(void)
{
	static const char *const dirs[] = { "/mnt/upper", "/mnt/work", "/mnt/merged" };

	if (mount("tmpfs", "/mnt", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") < 0) {
		fprintf(stderr, "hopx-agent: --overlay-root: tmpfs on /mnt: %s\n", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++)
		mkdir(dirs[i], 0755);
	if (mount("overlay", "/mnt/merged", "overlay", 0, "lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work") < 0 ||
	    chdir("/mnt/merged") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		fprintf(stderr, "hopx-agent: --overlay-root: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

static void init_mounts(void)
{
	static const struct {
		const char *src, *dst, *type;
		unsigned long flags;
	} m[] = {
		{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID },
		{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(m); i++) {
		mkdir(m[i].dst, 0755);
		if (mount(m[i].src, m[i].dst, m[i].type, m[i].flags, NULL) < 0 && errno != EBUSY)
			fprintf(stderr, "hopx-agent: mount %s: %s\n", m[i].dst, strerror(errno));
	}
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666");
	mkdir("/workspace", 0755);
	sethostname("sandbox", 7);
}

/* The nameserver the kernel was given (ip=...:DNS, kept in /proc/net/pnp,
 * which is resolv.conf's format) becomes /etc/resolv.conf: the VM's NIC
 * is configured by the kernel, and this is the one file it cannot write. */
static void resolv_from_kernel(void)
{
	gchar *pnp = NULL;
	GError *e = NULL;

	if (!g_file_get_contents("/proc/net/pnp", &pnp, NULL, NULL) || !strstr(pnp, "nameserver")) {
		g_free(pnp);
		return;
	}
	unlink("/etc/resolv.conf"); /* often a symlink into a resolver's runtime directory */
	if (!g_file_set_contents("/etc/resolv.conf", pnp, -1, &e)) {
		fprintf(stderr, "hopx-agent: /etc/resolv.conf: %s\n", e->message);
		g_error_free(e);
	}
	g_free(pnp);
}

/* PID 1: reap everything; when the agent (CHILD) exits, power off. */
static void init_loop(pid_t child)
{
	for (;;) {
		int status;
		pid_t p = wait(&status);

		if (p == child || (p < 0 && errno == ECHILD)) {
			fprintf(stderr, "hopx-agent: exited (status %d): powering off\n", status);
			sync();
			reboot(RB_POWER_OFF);
			for (;;)
				pause();
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'f' }, { "root", required_argument, NULL, 'r' },
		{ "supervisor-token", required_argument, NULL, 's' }, { "no-warm", no_argument, NULL, 'n' },
		{ "overlay-root", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *listen_spec = NULL, *root = "/";
	bool warm = true, overlay = false;
	GMainLoop *loop;
	char *real_root;

	int c, fd;

	agent.tokens = g_ptr_array_new_with_free_func(g_free);
	agent.supervisor = g_ptr_array_new_with_free_func(g_free);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_spec = optarg; break;
		case 't':
		case 's':
			if (tokens_add(c == 't' ? agent.tokens : agent.supervisor, optarg)) {
				fprintf(stderr, "hopx-agent: --%s: 8 to 512 printable characters\n",
					c == 't' ? "token" : "supervisor-token");
				return 2;
			}
			break;
		case 'f':
			if (tokens_add_file(optarg))
				return 2;
			break;
		case 'r': root = optarg; break;
		case 'n': warm = false; break;
		case 'o': overlay = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* As PID 1 the kernel hands over the command-line words it did not
	 * know (e.g. "noxsave"): those are not ours, and not an error. */
	if (!listen_spec || agent.tokens->len + agent.supervisor->len == 0 || (optind < argc && getpid() != 1)) {
		usage(stderr);
		return 2;
	}
	if (getpid() == 1) {
		pid_t child;

		if (overlay && overlay_root())
			fprintf(stderr, "hopx-agent: serving on the read-only root\n");
		init_mounts();
		resolv_from_kernel();
		child = fork();
		if (child > 0)
			init_loop(child);
		if (child < 0)
			fprintf(stderr, "hopx-agent: fork: %s: serving as PID 1 without a reaper\n", strerror(errno));
	}
	real_root = realpath(root, NULL);
	if (!real_root) {
		fprintf(stderr, "hopx-agent: --root %s: %s\n", root, strerror(errno));
		return 2;
	}
	agent.started_us = (uint64_t)g_get_monotonic_time();
	signal(SIGPIPE, SIG_IGN);
	env_init();
	fd = agent_listen(listen_spec); /* a unix: path is outside the new root */
	if (fd < 0)
		return 1;
	if (strcmp(real_root, "/") != 0 && (chroot(real_root) < 0 || chdir("/") < 0)) {
		fprintf(stderr, "hopx-agent: --root %s: chroot: %s (needs root or CAP_SYS_CHROOT)\n", root,
			strerror(errno));
		return 1;
	}
	free(real_root);
	agent.root = "/";
	if (http_start(fd))
		return 1;
	tokens_watch();
	if (warm)
		warm_start();
	fprintf(stderr, "hopx-agent %s: listening on %s\n", AGENT_VERSION, listen_spec);
	loop = g_main_loop_new(NULL, FALSE);
	g_main_loop_run(loop);
	return 0;
}
