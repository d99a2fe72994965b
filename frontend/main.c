/* hopx-vmm: the command-line front end of libhopxvmm. Parses options, runs
 * one VM, prints the boot timings if asked, and turns the guest's exit into
 * the process's exit status. The only place that exits. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/hopx/vmm.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "api.h"
#include "cli_devices.h"
#include "fc_config.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hopx-vmm run --kernel PATH [options]\n"
		"       hopx-vmm run --config-file FILE.json [--api-sock PATH] [options]\n"
		"       hopx-vmm run --api-sock PATH      (configure or load a snapshot over the API)\n"
		"       hopx-vmm restore --state FILE --mem FILE [restore options]\n"
		"       hopx-vmm export --state FILE --mem FILE --out FILE.gz\n"
		"       hopx-vmm import --in FILE.gz --state FILE --mem FILE\n"
		"\n"
		"Boots a Linux guest (ELF vmlinux or bzImage) in a KVM microVM, or restores one\n"
		"from a snapshot.\n"
		"\n"
		"options:\n"
		"  --kernel PATH         guest kernel: uncompressed ELF vmlinux, or bzImage (required)\n"
		"  --initrd PATH         initramfs/initrd, loaded high in guest RAM\n"
		"  --cmdline \"ARGS\"      kernel command line (default: \"%s\");\n"
		"                        on software-KVM hosts the VMM appends its workarounds\n"
		"  --mem-mib N           guest RAM in MiB (default 128, %llu..%llu)\n"
		"  --vcpus N             number of vCPUs (default 1, at most %d)\n"
		"  --console stdio|FILE|none\n"
		"                        guest serial console: this terminal (default; stdin is the\n"
		"                        guest's input), appended to FILE, or discarded\n"
		"  --boot-timings        on exit, print process start -> KVM ready -> first vCPU entry\n"
		"                        -> 'Run /init' -> userspace ready, with exit, emulation and\n"
		"                        fix-up counts, on stderr\n"
		"  --pvm auto|on|off     software-KVM (PVM) workarounds: detect (default), force, disable\n"
		"  --drive path=IMAGE[,ro][,id=ID][,direct]\n"
		"                        virtio-blk over a raw image (repeatable, up to 8; the first is\n"
		"                        /dev/vda). ro: writes fail in the guest; id: get-id string\n"
		"                        (<= 20 bytes); direct: O_DIRECT (guest buffers 512-aligned)\n"
		"  --net tap=NAME[,mac=MAC]\n"
		"                        virtio-net over TAP device NAME (created if absent; up to 4)\n"
		"  --vsock cid=N,uds=PATH\n"
		"                        virtio-vsock with guest CID N; host side is the Unix socket\n"
		"                        PATH (send \"CONNECT <port>\\n\", get \"OK <port>\\n\"); guest\n"
		"                        connections to host port P go to PATH_P\n"
		"  --api-sock PATH       serve the control API (HTTP + JSON, Firecracker's endpoints:\n"
		"                        pause/resume, snapshots, metrics) on Unix socket PATH\n"
		"  --config-file FILE    Firecracker-schema JSON: boot-source, machine-config, drives,\n"
		"                        network-interfaces, vsock (instead of the options above)\n"
		"  -v, --verbose         more log output (repeat for debug)\n"
		"  -h, --help            this text\n"
		"\n"
		"\n"
		"restore options:\n"
		"  --state FILE --mem FILE   the snapshot's state and memory files (both required)\n"
		"  --drive-path N=PATH       drive N (0 = /dev/vda) uses another image\n"
		"  --tap N=NAME              interface N uses another TAP\n"
		"  --vsock-uds PATH          the vsock device's host socket moves to PATH\n"
		"  --paused                  stay paused (resume with PATCH /vm over --api-sock)\n"
		"  --console, --api-sock, -v as for run\n"
		"\n"
		"export packs a snapshot's two files into one gzip file for another host; import\n"
		"unpacks it (memory file sparse again) after checking it.\n"
		"\n"
		"exit status: 0 when the guest powers off or reboots; 1 on any failure (bad kernel,\n"
		"KVM unavailable, guest panic or triple fault, unhandled exit), with a one-line reason;\n"
		"2 on bad usage.\n",
		HOPX_DEFAULT_CMDLINE, HOPX_MEM_MIN_MIB, HOPX_MEM_MAX_MIB, HOPX_VCPUS_MAX);
}

static int parse_uint(const char *opt, const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max || s[0] == '-') {
		pr_err("%s %s: expected a number from 1 to %u", opt, s, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

struct signal_ctx {
	struct hopx_vm *_Atomic vm;
	struct api *api; /* when the API may still create the VM */
	sigset_t set;
};

static void *signal_thread(void *arg)
{
	struct signal_ctx *c = arg;
	int sig;

	if (sigwait(&c->set, &sig) == 0 && sig != SIGUSR2) {
		struct hopx_vm *vm = atomic_load(&c->vm);

		pr_warn("got signal %d: stopping the VM", sig);
		if (vm)
			hopx_vm_stop(vm);
		else if (c->api)
			api_stop_waiting(c->api);
	}
	return NULL;
}

struct cli {
	struct hopx_vm_config cfg;
	bool timings;
	const char *api_sock, *config_file;
	bool restore, paused;
	struct hopx_restore_config rc;
};

/* N=VALUE for the restore overrides. */
static int parse_indexed(const char *opt, char *arg, unsigned int max, const char **slots)
{
	char *eq = strchr(arg, '='), *end;
	unsigned long n;

	errno = 0;
	n = eq ? strtoul(arg, &end, 10) : max;
	if (!eq || errno || end != eq || n >= max || !eq[1]) {
		pr_err("%s %s: expected N=VALUE with N from 0 to %u", opt, arg, max - 1);
		return -EINVAL;
	}
	slots[n] = eq + 1;
	return 0;
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
	struct hopx_vm_config *cfg = &cli->cfg;
	bool *timings = &cli->timings;
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_MEM, O_VCPUS, O_CONSOLE, O_TIMINGS, O_PVM, O_DRIVE, O_NET, O_VSOCK,
	       O_API, O_CONFIG, O_STATE, O_MEMFILE, O_DRIVE_PATH, O_TAP, O_VSOCK_UDS, O_PAUSED };
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "mem-mib", required_argument, NULL, O_MEM },
		{ "vcpus", required_argument, NULL, O_VCPUS },
		{ "console", required_argument, NULL, O_CONSOLE },
		{ "boot-timings", no_argument, NULL, O_TIMINGS },
		{ "pvm", required_argument, NULL, O_PVM },
		{ "drive", required_argument, NULL, O_DRIVE },
		{ "net", required_argument, NULL, O_NET },
		{ "vsock", required_argument, NULL, O_VSOCK },
		{ "api-sock", required_argument, NULL, O_API },
		{ "config-file", required_argument, NULL, O_CONFIG },
		{ "state", required_argument, NULL, O_STATE },
		{ "mem", required_argument, NULL, O_MEMFILE },
		{ "drive-path", required_argument, NULL, O_DRIVE_PATH },
		{ "tap", required_argument, NULL, O_TAP },
		{ "vsock-uds", required_argument, NULL, O_VSOCK_UDS },
		{ "paused", no_argument, NULL, O_PAUSED },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, verbose = 0;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case O_KERNEL: cfg->kernel_path = optarg; break;
		case O_INITRD: cfg->initrd_path = optarg; break;
		case O_CMDLINE: cfg->cmdline = optarg; break;
		case O_MEM:
			if (parse_uint("--mem-mib", optarg, (uint32_t)HOPX_MEM_MAX_MIB, &cfg->mem_mib))
				return -EINVAL;
			break;
		case O_VCPUS:
			if (parse_uint("--vcpus", optarg, HOPX_VCPUS_MAX, &cfg->vcpus))
				return -EINVAL;
			break;
		case O_CONSOLE:
			if (strcmp(optarg, "stdio") == 0) {
				cfg->console = HOPX_CONSOLE_STDIO;
			} else if (strcmp(optarg, "none") == 0) {
				cfg->console = HOPX_CONSOLE_NONE;
			} else {
				cfg->console = HOPX_CONSOLE_FILE;
				cfg->console_path = optarg;
			}
			break;
		case O_TIMINGS: *timings = true; break;
		case O_PVM:
			if (strcmp(optarg, "auto") == 0) {
				cfg->pvm = HOPX_PVM_AUTO;
			} else if (strcmp(optarg, "on") == 0) {
				cfg->pvm = HOPX_PVM_ON;
			} else if (strcmp(optarg, "off") == 0) {
				cfg->pvm = HOPX_PVM_OFF;
			} else {
				pr_err("--pvm %s: expected auto, on or off", optarg);
				return -EINVAL;
			}
			break;
		case O_DRIVE:
			if (cli_parse_drive(optarg, cfg))
				return -EINVAL;
			break;
		case O_NET:
			if (cli_parse_net(optarg, cfg))
				return -EINVAL;
			break;
		case O_VSOCK:
			if (cli_parse_vsock(optarg, cfg))
				return -EINVAL;
			break;
		case O_API: cli->api_sock = optarg; break;
		case O_CONFIG: cli->config_file = optarg; break;
		case O_STATE: cli->rc.state_path = optarg; break;
		case O_MEMFILE: cli->rc.mem_path = optarg; break;
		case O_DRIVE_PATH:
			if (parse_indexed("--drive-path", optarg, HOPX_MAX_DRIVES, cli->rc.drive_path))
				return -EINVAL;
			break;
		case O_TAP:
			if (parse_indexed("--tap", optarg, HOPX_MAX_NETS, cli->rc.tap))
				return -EINVAL;
			break;
		case O_VSOCK_UDS: cli->rc.vsock_uds_path = optarg; break;
		case O_PAUSED: cli->paused = true; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s': see hopx-vmm --help", argv[optind]);
		return -EINVAL;
	}
	if (verbose) {
		log_set_level(verbose > 1 ? LOG_DEBUG : LOG_INFO);
		hopx_log_set_level(verbose > 1 ? HOPX_LOG_DEBUG : HOPX_LOG_INFO);
	}
	if (cli->restore) {
		if (!cli->rc.state_path || !cli->rc.mem_path) {
			pr_err("restore needs --state FILE and --mem FILE: see hopx-vmm --help");
			return -EINVAL;
		}
		if (cfg->kernel_path || cfg->ndrives || cfg->nnets || cfg->vsock.cid || cli->config_file) {
			pr_err("restore takes the machine from the snapshot: use --drive-path/--tap/--vsock-uds to "
			       "change backends");
			return -EINVAL;
		}
		cli->rc.console = cfg->console;
		cli->rc.console_path = cfg->console_path;
		return 0;
	}
	if (cli->rc.state_path || cli->rc.mem_path || cli->paused) {
		pr_err("--state, --mem and --paused belong to hopx-vmm restore");
		return -EINVAL;
	}
	if (cli->config_file && (cfg->kernel_path || cfg->ndrives || cfg->nnets || cfg->vsock.cid)) {
		pr_err("--config-file describes the whole machine: do not mix it with --kernel/--drive/--net/--vsock");
		return -EINVAL;
	}
	if (!cfg->kernel_path && !cli->config_file && !cli->api_sock) {
		pr_err("--kernel PATH is required: see hopx-vmm --help");
		return -EINVAL;
	}
	return 0;
}

/* hopx-vmm export|import: snapshots as one portable gzip file. */
static int export_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' }, { "mem", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },   { "in", required_argument, NULL, 'i' },
		{ 0 },
	};
	const char *state = NULL, *mem = NULL, *out = NULL, *in = NULL;
	bool exporting = strcmp(argv[0], "export") == 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'm': mem = optarg; break;
		case 'o': out = optarg; break;
		case 'i': in = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc || !state || !mem || (exporting ? !out || in : !in || out)) {
		pr_err(exporting ? "usage: hopx-vmm export --state FILE --mem FILE --out FILE.gz"
				 : "usage: hopx-vmm import --in FILE.gz --state FILE --mem FILE");
		return EXIT_USAGE;
	}
	if (exporting ? hopx_snapshot_export(state, mem, out) : hopx_snapshot_import(in, state, mem))
		return 1;
	return 0;
}

/* The VM to run: from the command line, the config file, a snapshot, or
 * (with only --api-sock) whatever the API is told to create. NULL + 0: the
 * API was stopped before any VM existed. */
static int make_vm(struct cli *cli, struct fc_config *fc, struct api *api, struct signal_ctx *sc, struct hopx_vm **vm)
{
	char err[256];
	int ret;

	*vm = NULL;
	if (cli->restore) {
		ret = hopx_vm_restore(&cli->rc, vm);
		if (!ret)
			ret = cli->paused ? hopx_vm_start_paused(*vm) : hopx_vm_start(*vm);
	} else if (cli->config_file || cli->cfg.kernel_path) {
		const struct hopx_vm_config *cfg = &cli->cfg;

		if (cli->config_file) {
			if (fc_config_load_file(fc, cli->config_file, err, sizeof(err)) ||
			    fc_config_finish(fc, err, sizeof(err))) {
				pr_err("--config-file %s", err);
				return -EINVAL;
			}
			fc->cfg.console = cli->cfg.console;
			fc->cfg.console_path = cli->cfg.console_path;
			fc->cfg.pvm = cli->cfg.pvm;
			fc->cfg.t0_ns = cli->cfg.t0_ns;
			cfg = &fc->cfg;
		}
		ret = hopx_vm_create(cfg, vm);
		if (!ret)
			ret = hopx_vm_start(*vm);
	} else {
		/* Only the API: it configures or restores the VM. */
		sc->api = api;
		*vm = api_wait_vm(api);
		return 0;
	}
	if (!ret && cli->api_sock)
		ret = api_start(api, cli->api_sock, *vm, cli->cfg.console, cli->cfg.console_path, cli->cfg.t0_ns);
	return ret;
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	struct fc_config fc;
	struct api api = { .listen_fd = -1 };
	struct hopx_vm *vm = NULL;
	struct hopx_vm_exit ex = { 0 };
	struct signal_ctx sc = { 0 };
	pthread_t sig_thread;
	bool api_only;
	int ret;

	hopx_vm_config_init(&cli.cfg);
	hopx_restore_config_init(&cli.rc);
	cli.cfg.t0_ns = cli.rc.t0_ns = now_ns();

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "export") == 0 || strcmp(argv[1], "import") == 0))
		return export_import(argc - 1, argv + 1);
	if (argc < 2 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "restore") != 0)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cli.restore = strcmp(argv[1], "restore") == 0;
	if (parse_args(argc - 1, argv + 1, &cli))
		return EXIT_USAGE;

	/* SIGINT/SIGTERM stop the VM cleanly (terminal restored) via a signal thread. */
	sigemptyset(&sc.set);
	sigaddset(&sc.set, SIGINT);
	sigaddset(&sc.set, SIGTERM);
	sigaddset(&sc.set, SIGHUP);
	sigaddset(&sc.set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
	pthread_create(&sig_thread, NULL, signal_thread, &sc);

	api_only = !cli.restore && !cli.config_file && !cli.cfg.kernel_path;
	if (api_only) {
		ret = api_start(&api, cli.api_sock, NULL, cli.cfg.console, cli.cfg.console_path, cli.cfg.t0_ns);
		if (ret) {
			api_stop(&api);
			fprintf(stderr, "hopx-vmm: failed: %s\n", strerror(-ret));
			return 1;
		}
	}
	fc_config_init(&fc);
	ret = make_vm(&cli, &fc, &api, &sc, &vm);
	atomic_store(&sc.vm, vm);
	if (ret || !vm) {
		pthread_kill(sig_thread, SIGUSR2);
		pthread_join(sig_thread, NULL);
		api_stop(&api);
		hopx_vm_destroy(vm);
		fc_config_free(&fc);
		if (!ret)
			return 0; /* stopped before the API created a VM */
		fprintf(stderr, "hopx-vmm: failed: %s\n", strerror(-ret));
		return 1;
	}
	hopx_vm_wait(vm, &ex);
	pthread_kill(sig_thread, SIGUSR2);
	pthread_join(sig_thread, NULL);
	api_stop(&api);

	if (cli.timings)
		hopx_vm_print_boot_timings(vm, STDERR_FILENO);
	hopx_vm_destroy(vm);
	fc_config_free(&fc);

	switch (ex.reason) {
	case HOPX_EXIT_POWEROFF:
	case HOPX_EXIT_REBOOT:
		pr_info("guest stopped: %s", ex.message);
		return 0;
	default:
		fprintf(stderr, "hopx-vmm: %s: %s\n", hopx_exit_reason_name(ex.reason), ex.message);
		return 1;
	}
}
