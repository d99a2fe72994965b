/* hopx-jail: runs one program confined as a sandbox. hopxd's namespace
 * runtime runs the agent in it; the one confinement code path for every
 * sandbox process.
 *
 *   hopx-jail --id ID [--image ROOT.ext4] --scratch DIR --run-dir DIR [--cpus N]
 *             [--memory-mib N] [--pids N] [--disk-mib N] [--bind PATH] [--bind-ro PATH]
 *             [--egress] [--tap NAME] -- PROGRAM [ARG...]
 *
 * With --image the root is that template (the namespace runtime's agent);
 * without, the host's programs and libraries read-only plus the --bind
 * paths (the vm runtime's hopx-vmm: its binary, the kernel, images and
 * snapshots read-only, the sandbox's directory and /dev/kvm).
 *
 * This process (the keeper) creates the sandbox's cgroups (cpu, memory,
 * pids, freezer: cgroup.c) and clones the sandbox's init into new mount,
 * pid, network, ipc and uts namespaces. The init builds the root in its
 * own mount namespace: (with --image) the template image loop-mounted read-only under a
 * tmpfs overlay of --disk-mib (a copy-on-write view; every mount goes when
 * the namespace does), --run-dir bound at /run/hopx (the agent's socket),
 * fresh /proc (with /proc/sys and friends read-only or masked), /dev with
 * only the harmless nodes, /sys read-only, /tmp; then pivot_root, loopback
 * up, and forks PROGRAM with the dangerous capabilities dropped,
 * no_new_privs and a seccomp filter (no mounts, modules, kexec, new
 * namespaces, bpf, keyrings, clock changes). The network namespace has only
 * loopback (no route out, no route to other sandboxes or to hopxd) unless
 * --egress gives it a veth pair to the host, and --tap a VM's TAP
 * (jail_net.c).
 *
 * The keeper waits for the init; SIGTERM/SIGINT kill the sandbox, and on
 * the way out it kills whatever is left in the cgroups and removes them.
 * Exit status: the program's, 125 if the sandbox could not be made. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <linux/loop.h>
#include <net/if.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "jail_log.h"
#include "jail_net.h"

#define FAIL 125

#define MAX_BINDS 16

struct bind {
	const char *path;
	bool ro;
};

struct opts {
	const char *id, *image, *scratch, *run_dir, *tap;
	bool egress;
	struct bind binds[MAX_BINDS]; /* --bind/--bind-ro/--dev: host paths, at the same place inside */
	int nbinds;
	struct cg_limits limits;
	unsigned long disk_mib;
	char **argv;
};

static int die(const char *what, const char *arg)
{
	jail_log("%s%s%s: %s", what, arg ? " " : "", arg ? arg : "", strerror(errno));
	return -errno ?: -EIO;
}

/* BUF = A + B, or -ENAMETOOLONG (logged). */
static int pj(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);

	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return die("path too long:", a);
	}
	return 0;
}

static int mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		return die("mount", dst);
	return 0;
}

/* Attach IMAGE to a free loop device, read-only, gone with its last user:
 * returns the device's fd (keep it open until the mount holds the device),
 * or -errno. */
static int loop_attach(const char *image, char *dev, size_t size)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), img, loop, n;
	struct loop_config cfg = { .info = { .lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR } };

	if (ctl < 0)
		return die("open", "/dev/loop-control");
	img = open(image, O_RDONLY | O_CLOEXEC);
	if (img < 0) {
		close(ctl);
		return die("open template image", image);
	}
	for (int tries = 0; tries < 16; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		snprintf(dev, size, "/dev/loop%d", n);
		loop = open(dev, O_RDONLY | O_CLOEXEC);
		if (loop < 0)
			break;
		cfg.fd = (unsigned int)img;
		if (ioctl(loop, LOOP_CONFIGURE, &cfg) == 0) {
			close(img);
			close(ctl);
			return loop;
		}
		close(loop);
		if (errno != EBUSY) /* EBUSY: another process took it meanwhile */
			break;
	}
	die("attach a loop device to", image);
	close(img);
	close(ctl);
	return -EIO;
}

static int bind_file(const char *src, const char *dst, bool ro)
{
	int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
	if (mount_or_die(src, dst, NULL, MS_BIND, NULL))
		return -EIO;
	if (ro && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return die("remount read-only", dst);
	return 0;
}

static int bind_ro_dir(const char *dst)
{
	if (access(dst, F_OK) < 0)
		return 0;
	if (mount(dst, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return die("read-only", dst);
	return 0;
}

/* /dev: a tmpfs with the harmless nodes bound from the host, and its own ptys. */
static int make_dev(const char *root)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	char dev[4200], p[4300], q[4300];

	if (pj(dev, sizeof(dev), root, "/dev"))
		return -EIO;
	mkdir(dev, 0755);
	if (mount_or_die("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m"))
		return -EIO;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "/%s", nodes[i]);
		if (pj(p, sizeof(p), "/dev", name) || pj(q, sizeof(q), dev, name))
			return -EIO;
		if (bind_file(p, q, false))
			return -EIO;
	}
	if (pj(p, sizeof(p), dev, "/pts"))
		return -EIO;
	mkdir(p, 0755);
	if (mount_or_die("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"))
		return -EIO;
	if (pj(p, sizeof(p), dev, "/ptmx"))
		return -EIO;
	if (symlink("pts/ptmx", p) < 0)
		return die("symlink", p);
	if (pj(p, sizeof(p), dev, "/shm"))
		return -EIO;
	mkdir(p, 01777);
	if (mount_or_die("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"))
		return -EIO;
	if (pj(p, sizeof(p), dev, "/fd"))
		return -EIO;
	symlink("/proc/self/fd", p);
	if (pj(p, sizeof(p), dev, "/stdin"))
		return -EIO;
	symlink("/proc/self/fd/0", p);
	if (pj(p, sizeof(p), dev, "/stdout"))
		return -EIO;
	symlink("/proc/self/fd/1", p);
	if (pj(p, sizeof(p), dev, "/stderr"))
		return -EIO;
	symlink("/proc/self/fd/2", p);
	return 0;
}

/* /proc of the new pid namespace, with the host-wide knobs read-only or masked. */
static int make_proc(const char *root)
{
	static const char *const ro[] = { "sys", "sysrq-trigger", "irq", "bus", "fs" };
	static const char *const masked[] = { "kcore", "keys", "timer_list", "kallsyms", "sched_debug" };
	char p[4300];

	if (pj(p, sizeof(p), root, "/proc"))
		return -EIO;
	mkdir(p, 0555);
	if (mount_or_die("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -EIO;
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "/proc/%s", ro[i]);
		if (pj(p, sizeof(p), root, name))
			return -EIO;
		if (bind_ro_dir(p))
			return -EIO;
	}
	for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "/proc/%s", masked[i]);
		if (pj(p, sizeof(p), root, name))
			return -EIO;
		if (access(p, F_OK) == 0 && mount("/dev/null", p, NULL, MS_BIND, NULL) < 0)
			return die("mask", p);
	}
	return 0;
}

/* Without --image (a VMM's jail): the root is the scratch tmpfs with the
 * host's programs and libraries bound read-only. */
static int host_root(const char *root)
{
	static const char *const dirs[] = { "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc" };
	char p[4300], link[4096], name[16];

	if (mount(root, root, NULL, MS_BIND, NULL) < 0) /* pivot_root wants a mount point */
		return die("bind", root);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		ssize_t n;

		snprintf(name, sizeof(name), "/%s", dirs[i]);
		if (lstat(name, &st) < 0 || pj(p, sizeof(p), root, name))
			continue;
		if (S_ISLNK(st.st_mode)) { /* merged /usr: bin -> usr/bin */
			n = readlink(name, link, sizeof(link) - 1);
			if (n < 0)
				return die("readlink", name);
			link[n] = '\0';
			if (symlink(link, p) < 0)
				return die("symlink", p);
			continue;
		}
		mkdir(p, 0755);
		if (mount(name, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			return die("bind read-only", name);
	}
	return 0;
}

/* B->path (a file, directory or device) at the same place under ROOT. */
static int bind_path(const char *root, const struct bind *b)
{
	char p[4300];
	struct stat st;

	if (stat(b->path, &st) < 0)
		return die("bind", b->path);
	if (pj(p, sizeof(p), root, b->path))
		return -EIO;
	if (S_ISDIR(st.st_mode)) {
		char *slash = p + strlen(root);

		for (char *q = strchr(slash + 1, '/'); q; q = strchr(q + 1, '/')) { /* mkdir -p */
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
		mkdir(p, 0755);
		if (mount(b->path, p, NULL, MS_BIND, NULL) < 0)
			return die("bind", b->path);
		if (b->ro && mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			return die("remount read-only", p);
		return 0;
	}
	for (char *q = strchr(p + strlen(root) + 1, '/'); q; q = strchr(q + 1, '/')) {
		*q = '\0';
		mkdir(p, 0755);
		*q = '/';
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) { /* a device (/dev/kvm): bind_file without nodev */
		int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
		return mount(b->path, p, NULL, MS_BIND, NULL) < 0 ? die("bind device", b->path) : 0;
	}
	return bind_file(b->path, p, b->ro);
}

/* The root: image (ro) + tmpfs upper, overlayed, then everything mounted into it. */
static int make_root(const struct opts *o, char *root, size_t size)
{
	char dev[64], lower[4200], upper[4200], work[4200], data[13000], p[4300];
	int loop, err;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return die("make mounts private", NULL);
	snprintf(data, sizeof(data), "size=%lum,mode=755", o->disk_mib);
	if (mount_or_die("tmpfs", o->scratch, "tmpfs", MS_NOSUID | MS_NODEV, data))
		return -EIO;
	if (pj(lower, sizeof(lower), o->scratch, "/lower"))
		return -EIO;
	if (pj(upper, sizeof(upper), o->scratch, "/upper"))
		return -EIO;
	if (pj(work, sizeof(work), o->scratch, "/work"))
		return -EIO;
	if (pj(root, size, o->scratch, "/root"))
		return -EIO;
	mkdir(lower, 0755);
	mkdir(upper, 0755);
	mkdir(work, 0755);
	mkdir(root, 0755);
	if (!o->image) {
		if (host_root(root))
			return -EIO;
	} else {
		loop = loop_attach(o->image, dev, sizeof(dev));
		if (loop < 0)
			return -EIO;
		err = mount_or_die(dev, lower, "ext4", MS_RDONLY | MS_NODEV, "noload");
		close(loop);
		if (err)
			return -EIO;
		snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
		if (mount_or_die("overlay", root, "overlay", MS_NODEV, data))
			return -EIO;
	}
	if (pj(p, sizeof(p), root, "/run/hopx"))
		return -EIO;
	mkdir(p, 0755); /* run/ may not exist in a minimal image */
	if (pj(p, sizeof(p), root, "/run"))
		return -EIO;
	mkdir(p, 0755);
	if (pj(p, sizeof(p), root, "/run/hopx"))
		return -EIO;
	mkdir(p, 0755);
	if (mount_or_die(o->run_dir, p, NULL, MS_BIND, NULL))
		return -EIO;
	if (make_proc(root) || make_dev(root))
		return -EIO;
	if (pj(p, sizeof(p), root, "/sys"))
		return -EIO;
	mkdir(p, 0555);
	if (mount_or_die("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -EIO;
	if (pj(p, sizeof(p), root, "/tmp"))
		return -EIO;
	mkdir(p, 01777);
	if (mount_or_die("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"))
		return -EIO;
	if (pj(p, sizeof(p), root, "/workspace"))
		return -EIO;
	mkdir(p, 0755);
	for (int i = 0; i < o->nbinds; i++)
		if (bind_path(root, &o->binds[i]))
			return -EIO;
	return 0;
}

static int enter_root(const char *root)
{
	char old[4300];

	if (pj(old, sizeof(old), root, "/.oldroot"))
		return -EIO;
	mkdir(old, 0700);
	if (syscall(SYS_pivot_root, root, old) < 0)
		return die("pivot_root into", root);
	if (chdir("/") < 0 || umount2("/.oldroot", MNT_DETACH) < 0)
		return die("leave the old root", NULL);
	rmdir("/.oldroot");
	return 0;
}

static int loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (s < 0)
		return die("socket", NULL);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
		err = die("bring up", "lo");
	close(s);
	return err;
}

/* Docker's default set, without CAP_MKNOD (no device nodes to reach host disks). */
static const int kept_caps[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_NET_RAW,
				 CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
				 CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE };

static int drop_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	uint64_t keep = 0;

	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		keep |= 1ull << kept_caps[i];
	for (int cap = 0; cap <= 63; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return die("drop a capability", NULL);
	}
	d[0].effective = d[0].permitted = d[0].inheritable = (uint32_t)keep;
	d[1].effective = d[1].permitted = d[1].inheritable = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return die("capset", NULL);
	return 0;
}

static int load_seccomp(void)
{
	static const int denied[] = {
		SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(swapon), SCMP_SYS(swapoff),
		SCMP_SYS(reboot), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
		SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
		SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(unshare), SCMP_SYS(setns),
		SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at), SCMP_SYS(iopl), SCMP_SYS(ioperm),
		SCMP_SYS(userfaultfd), SCMP_SYS(acct), SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
		SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(syslog), SCMP_SYS(vhangup),
		SCMP_SYS(quotactl), SCMP_SYS(lookup_dcookie), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
		SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(move_mount), SCMP_SYS(open_tree),
		SCMP_SYS(mount_setattr), SCMP_SYS(process_vm_writev),
	};
	static const unsigned long ns_flags[] = { CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET,
						  CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]) && !err; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	/* New namespaces through clone, one rule per flag; clone3 hides its
	 * flags in memory: ENOSYS sends libc back to clone. */
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]) && !err; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (!err)
		err = seccomp_load(ctx);
	if (err)
		jail_log("seccomp filter: %s", strerror(-err));
	seccomp_release(ctx);
	return err;
}

/* The sandbox's init: PID 1 of the new namespaces. */
static int sandbox_init(const struct opts *o, int sync_fd)
{
	char root[4200], *resolv = NULL;
	int32_t slot;
	pid_t prog;

	/* The keeper has put us in the cgroups, and given us an egress slot or -1. */
	if (read(sync_fd, &slot, sizeof(slot)) != sizeof(slot))
		return FAIL;
	close(sync_fd);
	if ((slot >= 0 || o->tap) && jail_net_inside(slot, o->tap)) /* with the host's ip and nft */
		return FAIL;
	if (slot >= 0 && o->image)
		resolv = jail_net_resolv_conf(); /* the host's, before its files are out of sight */
	if (make_root(o, root, sizeof(root)) || enter_root(root) || loopback_up() ||
	    sethostname("sandbox", 7) < 0) {
		free(resolv);
		return FAIL;
	}
	if (resolv) {
		int fd;

		unlink("/etc/resolv.conf"); /* may be a symlink into the image's resolver */
		fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 || write(fd, resolv, strlen(resolv)) < 0)
			die("write", "/etc/resolv.conf");
		if (fd >= 0)
			close(fd);
		free(resolv);
	}
	prog = fork();
	if (prog < 0)
		return FAIL;
	if (prog == 0) {
		setsid();
		if (chdir("/workspace") < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || drop_caps() ||
		    load_seccomp())
			_exit(FAIL);
		execv(o->argv[0], o->argv);
		die("exec", o->argv[0]);
		_exit(FAIL);
	}
	for (;;) { /* reap everything; end with the program */
		int status;
		pid_t p = wait(&status);

		if (p == prog)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (p < 0 && errno != EINTR)
			return FAIL;
	}
}

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hopx-jail --id ID [--image ROOT.ext4] --scratch DIR --run-dir DIR [--cpus N]\n"
		   "                 [--memory-mib N] [--pids N] [--disk-mib N] [--bind PATH] [--bind-ro PATH]\n"
		   "                 [--egress] [--tap NAME] -- PROGRAM [ARG...]\n"
		   "Without --image the root is the host's /usr, /lib*, /bin, /sbin and /etc, read-only.\n"
		   "--bind/--bind-ro: a host file, directory or device at the same path inside.\n"
		   "--egress: a way out (veth hxN on the host, eth0 inside, 10.201.0.0/16); without it\n"
		   "the sandbox's network namespace has loopback only. --tap NAME: a TAP for a VM in\n"
		   "the namespace, " JAIL_TAP_GATEWAY "/30 on this side (the guest is " JAIL_TAP_GUEST "),\n"
		   "forwarded out of eth0 with --egress.\n");
}

static bool id_ok(const char *id)
{
	if (!id || !*id || strlen(id) > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

static void cgroup_log(const char *msg)
{
	jail_log("cgroup: %s", msg);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "id", required_argument, NULL, 'i' },      { "image", required_argument, NULL, 'm' },
		{ "scratch", required_argument, NULL, 's' }, { "run-dir", required_argument, NULL, 'r' },
		{ "cpus", required_argument, NULL, 'c' },    { "memory-mib", required_argument, NULL, 'M' },
		{ "pids", required_argument, NULL, 'p' },    { "disk-mib", required_argument, NULL, 'd' },
		{ "bind", required_argument, NULL, 'b' },    { "bind-ro", required_argument, NULL, 'B' },
		{ "egress", no_argument, NULL, 'e' },        { "tap", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },          { 0 },
	};
	struct opts o = { .disk_mib = 1024, .limits = { .pids = 1024 } };
	int sync[2], status = 0, opt;
	unsigned int slot = 0;
	pid_t init;

	cg_set_log(cgroup_log);
	while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		switch (opt) {
		case 'i': o.id = optarg; break;
		case 'm': o.image = optarg; break;
		case 's': o.scratch = optarg; break;
		case 'r': o.run_dir = optarg; break;
		case 'c': o.limits.cpus = strtod(optarg, NULL); break;
		case 'M': o.limits.memory = strtoull(optarg, NULL, 10) << 20; break;
		case 'p': o.limits.pids = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'd': o.disk_mib = strtoul(optarg, NULL, 10); break;
		case 'b':
		case 'B':
			if (o.nbinds == MAX_BINDS || optarg[0] != '/') {
				jail_log("--bind: absolute paths, at most %d", MAX_BINDS);
				return 2;
			}
			o.binds[o.nbinds++] = (struct bind){ optarg, opt == 'B' };
			break;
		case 'e': o.egress = true; break;
		case 't': o.tap = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.tap && (!*o.tap || strlen(o.tap) >= IFNAMSIZ || strcmp(o.tap, "eth0") == 0 || strcmp(o.tap, "lo") == 0)) {
		jail_log("--tap: an interface name of 1 to %d characters, not eth0 or lo", IFNAMSIZ - 1);
		return 2;
	}
	if (!id_ok(o.id) || !o.scratch || !o.run_dir || optind >= argc || o.disk_mib == 0) {
		usage(stderr);
		return 2;
	}
	o.argv = argv + optind;
	if (pipe2(sync, O_CLOEXEC) < 0)
		return die("pipe", NULL), FAIL;
	/* No SA_RESTART: the wait below must see the signal. */
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_stop }, NULL);
	sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_stop }, NULL);
	init = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
			      NULL, NULL, NULL, NULL);
	if (init < 0)
		return die("clone the sandbox's namespaces", NULL), FAIL;
	if (init == 0) {
		close(sync[1]);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		_exit(sandbox_init(&o, sync[0]));
	}
	close(sync[0]);
	if (cg_create(o.id, &o.limits, init) < 0 || (o.egress && jail_net_veth(init, &slot) < 0)) {
		kill(init, SIGKILL);
		status = FAIL << 8;
	} else if (write(sync[1], &(int32_t){ o.egress ? (int32_t)slot : -1 }, sizeof(int32_t)) != sizeof(int32_t)) {
		kill(init, SIGKILL);
	}
	close(sync[1]);
	for (;;) {
		pid_t p = waitpid(init, &status, 0);

		if (p == init)
			break;
		if (p < 0 && errno == EINTR && stop)
			kill(init, SIGKILL); /* PID 1 of its namespace: everything in it goes too */
		else if (p < 0 && errno != EINTR)
			break;
	}
	cg_kill(o.id);
	cg_remove(o.id);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
