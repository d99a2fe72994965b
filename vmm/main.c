/* hopx-vmm: the command-line front end of libhopxvmm. Parses options, runs
 * one VM, prints the boot timings if asked, and turns the guest's exit into
 * the process's exit status. The only place that exits. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/hopx/vmm.h"
#include "cli_devices.h"
#include "log.h"
#include "vm.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hopx-vmm run --kernel PATH [options]\n"
		"\n"
		"Boots a Linux guest (ELF vmlinux or bzImage) in a KVM microVM.\n"
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
		"  -v, --verbose         more log output (repeat for debug)\n"
		"  -h, --help            this text\n"
		"\n"
		"exit status: 0 when the guest powers off or reboots; 1 on any failure (bad kernel,\n"
		"KVM unavailable, guest panic or triple fault, unhandled exit), with a one-line reason;\n"
		"2 on bad usage.\n",
		HOPX_DEFAULT_CMDLINE, GUEST_MEM_MIN_MIB, GUEST_MEM_MAX_MIB, GUEST_VCPUS_MAX);
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
	struct hopx_vm *vm;
	sigset_t set;
};

static void *signal_thread(void *arg)
{
	struct signal_ctx *c = arg;
	int sig;

	if (sigwait(&c->set, &sig) == 0 && sig != SIGUSR2) {
		pr_warn("got signal %d: stopping the VM", sig);
		hopx_vm_stop(c->vm);
	}
	return NULL;
}

static int parse_args(int argc, char **argv, struct hopx_vm_config *cfg, bool *timings)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_MEM, O_VCPUS, O_CONSOLE, O_TIMINGS, O_PVM, O_DRIVE, O_NET, O_VSOCK };
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
			if (parse_uint("--mem-mib", optarg, (uint32_t)GUEST_MEM_MAX_MIB, &cfg->mem_mib))
				return -EINVAL;
			break;
		case O_VCPUS:
			if (parse_uint("--vcpus", optarg, GUEST_VCPUS_MAX, &cfg->vcpus))
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
		case 'v': verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s': see hopx-vmm --help", argv[optind]);
		return -EINVAL;
	}
	if (verbose)
		log_set_level(verbose > 1 ? LOG_DEBUG : LOG_INFO);
	if (!cfg->kernel_path) {
		pr_err("--kernel PATH is required: see hopx-vmm --help");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct hopx_vm_config cfg;
	struct hopx_vm *vm = NULL;
	struct hopx_vm_exit ex = { 0 };
	struct signal_ctx sc;
	pthread_t sig_thread;
	bool timings = false;
	int ret;

	hopx_vm_config_init(&cfg);
	cfg.t0_ns = now_ns();

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (parse_args(argc - 1, argv + 1, &cfg, &timings))
		return EXIT_USAGE;

	/* SIGINT/SIGTERM stop the VM cleanly (terminal restored) via a signal thread. */
	sigemptyset(&sc.set);
	sigaddset(&sc.set, SIGINT);
	sigaddset(&sc.set, SIGTERM);
	sigaddset(&sc.set, SIGHUP);
	sigaddset(&sc.set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sc.set, NULL);

	ret = hopx_vm_create(&cfg, &vm);
	if (ret == 0)
		ret = hopx_vm_start(vm);
	if (ret) {
		fprintf(stderr, "hopx-vmm: failed: %s\n", strerror(-ret));
		hopx_vm_destroy(vm);
		return 1;
	}
	sc.vm = vm;
	pthread_create(&sig_thread, NULL, signal_thread, &sc);
	hopx_vm_wait(vm, &ex);
	pthread_kill(sig_thread, SIGUSR2);
	pthread_join(sig_thread, NULL);

	if (timings)
		hopx_vm_print_boot_timings(vm, STDERR_FILENO);
	hopx_vm_destroy(vm);

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
