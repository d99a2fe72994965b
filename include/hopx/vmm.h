/* libhopxvmm: the hopx microVM monitor as a library.
 *
 * One VM per `struct hopx_vm`. Every call returns 0 or a negative
 * errno-style code, logs what failed on stderr and keeps that message for
 * hopx_last_error(). The `hopx-vmm` command (frontend/) is a thin CLI over
 * this header and uses nothing else of the library.
 *
 * Process-wide, not per VM: the log level (hopx_log_set_level), the SIGUSR1
 * handler hopx_vm_create installs to kick vCPU threads, and the terminal
 * while a VM's console is HOPX_CONSOLE_STDIO (one VM at a time should use
 * it). Everything else lives in the VM. The library exports only the
 * hopx_-prefixed names declared here.
 *
 *     struct hopx_vm_config cfg;
 *     hopx_vm_config_init(&cfg);
 *     cfg.kernel_path = "vmlinux";
 *     struct hopx_vm *vm;
 *     if (hopx_vm_create(&cfg, &vm) == 0 && hopx_vm_start(vm) == 0) {
 *         struct hopx_vm_exit e;
 *         hopx_vm_wait(vm, &e);     // blocks until the guest stops
 *     }
 *     hopx_vm_destroy(vm);
 */
#ifndef HOPX_VMM_H
#define HOPX_VMM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Built with -fvisibility=hidden: what this header declares is the export list. */
#pragma GCC visibility push(default)

enum hopx_console {
	HOPX_CONSOLE_STDIO, /* guest serial on stdout, stdin as its input */
	HOPX_CONSOLE_FILE,  /* guest serial appended to console_path */
	HOPX_CONSOLE_NONE,  /* discarded (still scanned for boot marks) */
};

enum hopx_pvm_mode {
	HOPX_PVM_AUTO = -1, /* detect the software KVM backend (kvm_pvm module) */
	HOPX_PVM_OFF = 0,
	HOPX_PVM_ON = 1,
};

#define HOPX_MAX_DRIVES 8
#define HOPX_MAX_NETS 4

/* A virtio-blk drive over a raw image. The first drive is /dev/vda. */
struct hopx_drive_config {
	const char *path;
	const char *id; /* what the guest's get-id returns (default "vdN") */
	bool read_only;
	bool direct;    /* O_DIRECT on the image */
};

/* A virtio-net interface over an existing or new TAP device. */
struct hopx_net_config {
	const char *tap; /* interface name */
	uint8_t mac[6];
	bool mac_set;    /* else a locally administered MAC derived from the TAP name */
};

/* virtio-vsock, Firecracker's hybrid design: the host connects to UDS_PATH and
 * sends "CONNECT <port>\n"; guest connections to host port P go to
 * UDS_PATH_P. cid 0: no vsock device. */
struct hopx_vsock_config {
	uint32_t cid;
	const char *uds_path;
};

struct hopx_vm;
struct hopx_vm_exit;

struct hopx_vm_config {
	const char *kernel_path; /* ELF vmlinux or bzImage (required) */
	const char *initrd_path; /* optional */
	const char *cmdline;     /* NULL: HOPX_DEFAULT_CMDLINE */
	uint32_t mem_mib;        /* default 128 */
	uint32_t vcpus;          /* default 1 */
	enum hopx_console console;
	const char *console_path; /* for HOPX_CONSOLE_FILE */
	enum hopx_pvm_mode pvm;
	struct hopx_drive_config drives[HOPX_MAX_DRIVES];
	unsigned int ndrives;
	struct hopx_net_config nets[HOPX_MAX_NETS];
	unsigned int nnets;
	struct hopx_vsock_config vsock;
	/* CLOCK_MONOTONIC ns of the embedding process's start, the zero of the
	 * boot timings (0: the time of hopx_vm_create). */
	uint64_t t0_ns;
	/* Called once when the VM stops, with why, on the thread that saw it
	 * (a vCPU or device thread, or the caller of hopx_vm_stop): keep it
	 * short, e.g. wake the orchestrator's event loop. NULL: none. */
	void (*on_exit)(struct hopx_vm *vm, const struct hopx_vm_exit *exit, void *ctx);
	void *on_exit_ctx;
};

#define HOPX_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"

enum hopx_exit_reason {
	HOPX_EXIT_NONE,        /* still running */
	HOPX_EXIT_POWEROFF,    /* the guest powered off or halted */
	HOPX_EXIT_REBOOT,      /* the guest reset the machine */
	HOPX_EXIT_PANIC,       /* the guest kernel panicked */
	HOPX_EXIT_TRIPLE_FAULT,
	HOPX_EXIT_ERROR,       /* the VMM could not go on (message says why) */
	HOPX_EXIT_STOPPED,     /* hopx_vm_stop() */
};

struct hopx_vm_exit {
	enum hopx_exit_reason reason;
	char message[512];
};

/* Boot milestones in ns since t0 (0 = not reached) and counters. */
struct hopx_boot_timings {
	uint64_t kvm_ready_ns;       /* VM, memory, vCPUs and devices set up */
	uint64_t first_entry_ns;     /* first KVM_RUN of vCPU 0 */
	uint64_t run_init_ns;        /* console: "Run /init as init process" */
	uint64_t userspace_ready_ns; /* guest wrote the boot-timer register */
	uint64_t exits;              /* exits to hopx-vmm, all vCPUs */
	uint64_t fixups;             /* PVM instruction fix-ups, all kinds */
	/* KVM binary stats summed over vCPUs, where the host exposes them (-1: not). */
	int64_t kvm_exits, kvm_insn_emulation, kvm_insn_emulation_fail;
	/* The same KVM stats at the "Run /init" mark. */
	int64_t kvm_exits_at_init, kvm_insn_emulation_at_init;
	/* Software-KVM hosts: time and KVM stats at the first fix-up (-1: none). */
	uint64_t first_fixup_ns;
	int64_t kvm_exits_at_fixup, kvm_insn_emulation_at_fixup;
};

void hopx_vm_config_init(struct hopx_vm_config *cfg);

struct hopx_vm;

/* Set up a VM (KVM, memory, devices, kernel loaded) ready to start. On
 * failure nothing is left behind and *OUT is NULL. Installs a SIGUSR1 handler
 * (without SA_RESTART) used to kick vCPU threads out of KVM_RUN. */
int hopx_vm_create(const struct hopx_vm_config *cfg, struct hopx_vm **out);
/* Start the vCPUs. */
int hopx_vm_start(struct hopx_vm *vm);
/* Set (or clear, with NULL) the exit callback after creation, e.g. on a
 * restored VM; before hopx_vm_start. */
void hopx_vm_set_exit_callback(struct hopx_vm *vm,
			       void (*cb)(struct hopx_vm *vm, const struct hopx_vm_exit *exit, void *ctx), void *ctx);
/* Start with every vCPU parked, as if hopx_vm_pause() had run at once
 * (e.g. a restored snapshot to be resumed later). */
int hopx_vm_start_paused(struct hopx_vm *vm);
/* Block until the guest stops; fills EXIT. */
int hopx_vm_wait(struct hopx_vm *vm, struct hopx_vm_exit *exit);
/* Ask a running VM to stop (thread-safe, async-signal-unsafe). */
void hopx_vm_stop(struct hopx_vm *vm);
void hopx_vm_destroy(struct hopx_vm *vm);

/* Stop every vCPU at a consistent point (thread-safe; returns once they are
 * all parked). Devices keep completing I/O already in flight. -ESRCH if the
 * VM is not running. Pausing a paused VM does nothing. */
int hopx_vm_pause(struct hopx_vm *vm);
/* Let the vCPUs run again. The guest's clock has advanced by the pause. */
int hopx_vm_resume(struct hopx_vm *vm);
bool hopx_vm_is_paused(struct hopx_vm *vm);

/* Snapshots. The VM must be paused (-EBUSY otherwise). Writes the memory
 * file (sparse; via a temporary name) and then the state file. */
struct hopx_snapshot_info {
	uint64_t mem_bytes;   /* guest RAM */
	uint64_t mem_written; /* non-zero bytes written (the rest are holes) */
	uint64_t duration_ns;
};
int hopx_vm_snapshot(struct hopx_vm *vm, const char *state_path, const char *mem_path,
		     struct hopx_snapshot_info *info);

/* Restoring a snapshot into a new VM (in this or another process, on the
 * same host boot). Backends may be swapped; NULL keeps the snapshot's. */
struct hopx_restore_config {
	const char *state_path, *mem_path;
	const char *drive_path[HOPX_MAX_DRIVES];
	const char *tap[HOPX_MAX_NETS];
	const char *vsock_uds_path;
	enum hopx_console console;
	const char *console_path;
	uint64_t t0_ns;
};
void hopx_restore_config_init(struct hopx_restore_config *rc);
/* Everything is checked before KVM is touched: a corrupt, truncated,
 * foreign or wrong-version state file, or a memory file of the wrong size,
 * fails with a logged reason. The VM is ready to hopx_vm_start(). */
int hopx_vm_restore(const struct hopx_restore_config *rc, struct hopx_vm **out);

/* Pack a snapshot's two files into one gzip file for another host, and
 * unpack it (the memory file comes back sparse). Import checks the state
 * file and the memory size before writing under the final names. */
int hopx_snapshot_export(const char *state_path, const char *mem_path, const char *out_path);
int hopx_snapshot_import(const char *in_path, const char *state_path, const char *mem_path);

void hopx_vm_boot_timings(struct hopx_vm *vm, struct hopx_boot_timings *t);
/* Print the boot timings and fix-up counts, one item a line. */
void hopx_vm_print_boot_timings(struct hopx_vm *vm, int fd);
/* Whether the VM runs with the software-KVM (PVM) workarounds. */
bool hopx_vm_pvm(const struct hopx_vm *vm);
/* The command line the guest was given. */
const char *hopx_vm_cmdline(const struct hopx_vm *vm);

const char *hopx_exit_reason_name(enum hopx_exit_reason r);

/* The message of the last error libhopxvmm reported on the calling thread
 * (what it also logged), e.g. after a call returned a negative code: "open
 * drive /x: No such file or directory: pass --drive path=IMAGE ...". "" if
 * none. Valid until this thread's next libhopxvmm call. */
const char *hopx_last_error(void);

#define HOPX_FIXUP_KINDS 32
/* Counters of a running (or paused) VM, read under each device's lock. */
struct hopx_blk_metrics {
	const char *path; /* the image (valid while the VM lives) */
	uint64_t reads, writes, flushes, errors;
};
struct hopx_net_metrics {
	const char *tap;
	uint64_t rx_frames, tx_frames, rx_dropped, tx_errors;
};
struct hopx_vm_metrics {
	uint32_t vcpus, mem_mib;
	bool paused;
	uint64_t vcpu_exits; /* exits to hopx-vmm, all vCPUs */
	uint64_t pauses;
	int64_t kvm_exits, kvm_insn_emulation; /* KVM binary stats (-1: not exposed) */
	unsigned int nblks, nnets;
	struct hopx_blk_metrics blk[HOPX_MAX_DRIVES];
	struct hopx_net_metrics net[HOPX_MAX_NETS];
	bool has_vsock;
	struct {
		uint64_t streams, rx_bytes, tx_bytes, resets_sent;
	} vsock;
	/* Software-KVM hosts: instructions the VMM completed for KVM, in all and
	 * by kind, and per second since the VM was created or restored. */
	uint64_t fixups;
	double fixups_per_second;
	unsigned int nfixup_kinds;
	struct {
		const char *name; /* "int3", "xsave", ... */
		uint64_t count;
	} fixup[HOPX_FIXUP_KINDS];
};
int hopx_vm_metrics(struct hopx_vm *vm, struct hopx_vm_metrics *m);

enum hopx_log_level { HOPX_LOG_SILENT = -1, HOPX_LOG_ERROR, HOPX_LOG_WARN, HOPX_LOG_INFO, HOPX_LOG_DEBUG };
/* What the library logs on stderr (process-wide; default HOPX_LOG_WARN). */
void hopx_log_set_level(enum hopx_log_level level);

/* Guest sizes the library accepts. */
#define HOPX_MEM_MIN_MIB 32ULL
#define HOPX_MEM_MAX_MIB (1024ULL * 1024) /* 1 TiB */
#define HOPX_VCPUS_MAX 32

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
