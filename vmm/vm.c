/* libhopxvmm's VM lifecycle: create (KVM, memory, devices, kernel, boot
 * structures, vCPUs), start, wait, stop, destroy, and the boot marks.
 * Devices are wired here, in one place, in a fixed order. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../boot/cmdline.h"
#include "../boot/kernel.h"
#include "../boot/longmode.h"
#include "../boot/mptable.h"
#include "../boot/zeropage.h"
#include "../lib/clock.h"
#include "../lib/log.h"
#include "../lib/util.h"

#define KVM_TSS_ADDR 0xfffbd000ULL
#define MAX_CPUID_ENTRIES 256

void hopx_vm_config_init(struct hopx_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mib = 128;
	cfg->vcpus = 1;
	cfg->console = HOPX_CONSOLE_STDIO;
	cfg->pvm = HOPX_PVM_AUTO;
}

const char *hopx_exit_reason_name(enum hopx_exit_reason r)
{
	static const char *const names[] = {
		[HOPX_EXIT_NONE] = "running",
		[HOPX_EXIT_POWEROFF] = "poweroff",
		[HOPX_EXIT_REBOOT] = "reboot",
		[HOPX_EXIT_PANIC] = "panic",
		[HOPX_EXIT_TRIPLE_FAULT] = "triple-fault",
		[HOPX_EXIT_ERROR] = "error",
		[HOPX_EXIT_STOPPED] = "stopped",
	};

	return (unsigned int)r < ARRAY_SIZE(names) ? names[r] : "unknown";
}

void vm_request_stop(struct hopx_vm *vm, enum hopx_exit_reason reason, const char *fmt, ...)
{
	va_list ap;
	bool first = false;
	struct hopx_vm_exit e;

	pthread_mutex_lock(&vm->lock);
	if (vm->exit.reason == HOPX_EXIT_NONE) {
		vm->exit.reason = reason;
		va_start(ap, fmt);
		vsnprintf(vm->exit.message, sizeof(vm->exit.message), fmt, ap);
		va_end(ap);
		first = true;
		e = vm->exit;
	}
	atomic_store(&vm->stopping, true);
	pthread_cond_broadcast(&vm->park_cond); /* parked vCPUs leave too */
	/* Under the lock: hopx_vm_start() marks threads started under it too,
	 * so no vCPU can enter KVM_RUN unkicked. */
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_cond_broadcast(&vm->stopped_cond);
	pthread_mutex_unlock(&vm->lock);
	/* Outside the lock: the callback may call back into the API. */
	if (first && vm->cfg.on_exit)
		vm->cfg.on_exit(vm, &e, vm->cfg.on_exit_ctx);
}

int64_t vm_kvm_stat(struct hopx_vm *vm, enum kvm_stat_id id)
{
	int64_t sum = 0;

	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		int64_t v = kvm_stats_read(&vm->vcpus[i].stats, id);

		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

void vm_mark(struct hopx_vm *vm, atomic_uint_fast64_t *t, atomic_int_fast64_t *exits,
	     atomic_int_fast64_t *emulated)
{
	if (atomic_load(t) != 0)
		return;
	atomic_store(exits, vm_kvm_stat(vm, KVM_STAT_EXITS));
	atomic_store(emulated, vm_kvm_stat(vm, KVM_STAT_INSN_EMULATION));
	atomic_store(t, now_ns() - vm->t0_ns);
}

/* --- device callbacks ------------------------------------------------------ */

static void serial_irq(void *ctx)
{
	struct hopx_vm *vm = ctx;
	struct kvm_irq_level l = { .irq = SERIAL_COM1_IRQ, .level = 1 };

	/* An edge on the IOAPIC's ISA pin: raise, then lower. */
	ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
	l.level = 0;
	ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

static void serial_out(void *ctx, uint8_t byte)
{
	struct hopx_vm *vm = ctx;
	char line[256];

	console_write(&vm->console, byte);
	switch (console_scan(&vm->console.scanner, byte, line, sizeof(line))) {
	case CONSOLE_EV_RUN_INIT:
		vm_mark(vm, &vm->t_run_init, &vm->kvm_exits_at_init, &vm->kvm_emul_at_init);
		break;
	case CONSOLE_EV_PANIC:
		vm_request_stop(vm, HOPX_EXIT_PANIC, "guest kernel panic: %s", line);
		break;
	case CONSOLE_EV_POWER_OFF:
	case CONSOLE_EV_HALTED:
		vm_request_stop(vm, HOPX_EXIT_POWEROFF, "guest powered off");
		break;
	case CONSOLE_EV_NONE:
		break;
	}
}

static size_t console_sink(void *ctx, const uint8_t *buf, size_t len)
{
	return serial_receive(&((struct hopx_vm *)ctx)->serial, buf, len);
}

static size_t console_room(void *ctx)
{
	return serial_rx_room(&((struct hopx_vm *)ctx)->serial);
}

static void i8042_reset(void *ctx)
{
	vm_request_stop(ctx, HOPX_EXIT_REBOOT, "guest reset the machine (i8042 reset line)");
}

static void boot_timer_signal(void *ctx, uint64_t value)
{
	struct hopx_vm *vm = ctx;
	uint64_t zero = 0;

	atomic_compare_exchange_strong(&vm->t_ready, &zero, now_ns() - vm->t0_ns);
	pr_info("guest signalled userspace ready (value %llu)", (unsigned long long)value);
}

/* --- creation -------------------------------------------------------------- */

static int open_kvm(struct hopx_vm *vm)
{
	int version;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			pr_err("open /dev/kvm: %s: KVM is not available on this host (load kvm_intel or kvm_amd, "
			       "or run on a machine with virtualization)", strerror(-err));
		else if (err == -EACCES)
			pr_err("open /dev/kvm: %s: run as root or join the group owning /dev/kvm", strerror(-err));
		else
			pr_err("open /dev/kvm: %s", strerror(-err));
		return err;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("KVM API version %d, expected %d", version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size <= 0) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -errno;
	}
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid)
		return -ENOMEM;
	vm->cpuid->nent = MAX_CPUID_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -errno;
	}
	pvm_xlayout_init(&vm->xlayout, vm->cpuid);
	vm->xsave_size = vm_xsave_size(vm);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR: %s (not needed on this host)", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %s: in-kernel IOAPIC/PIC/LAPIC required", strerror(errno));
		return -errno;
	}
	{
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

		if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
			pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int map_memory(struct hopx_vm *vm)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem.low_size,
		.userspace_addr = (uintptr_t)vm->mem.host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (low RAM): %s", strerror(errno));
		return -errno;
	}
	if (vm->mem.size > vm->mem.low_size) {
		r.slot = 1;
		r.guest_phys_addr = MMIO_GAP_END;
		r.memory_size = vm->mem.size - vm->mem.low_size;
		r.userspace_addr = (uintptr_t)(vm->mem.host + vm->mem.low_size);
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			pr_err("KVM_SET_USER_MEMORY_REGION (RAM above 4 GiB): %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* virtio-mmio transports make their eventfds; KVM is told about them here. */
static int kvm_irqfd(void *ctx, int fd, uint32_t gsi, bool assign)
{
	struct hopx_vm *vm = ctx;
	struct kvm_irqfd r = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	return ioctl(vm->vm_fd, KVM_IRQFD, &r) < 0 ? -errno : 0;
}

static int kvm_ioeventfd(void *ctx, int fd, uint64_t addr, uint32_t data, bool assign)
{
	struct hopx_vm *vm = ctx;
	struct kvm_ioeventfd r = {
		.datamatch = data,
		.addr = addr,
		.len = 4,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &r) < 0 ? -errno : 0;
}

/* The next virtio-mmio slot: its address and IRQ. */
static int virtio_slot(struct hopx_vm *vm, uint64_t *base, uint32_t *irq)
{
	static const uint32_t irqs[] = VIRTIO_IRQS;

	if (vm->nvirtio >= ARRAY_SIZE(irqs) || vm->nvirtio >= ARRAY_SIZE(vm->virtio)) {
		pr_err("too many virtio devices: at most %zu", ARRAY_SIZE(irqs));
		return -ENOSPC;
	}
	*base = VIRTIO_MMIO_BASE + vm->nvirtio * VIRTIO_MMIO_SLOT_SIZE;
	*irq = irqs[vm->nvirtio];
	return 0;
}

/* Put transport T on the MMIO bus and the guest command line. */
static int virtio_attach(struct hopx_vm *vm, struct virtio_mmio *t)
{
	char arg[96];
	int ret = bus_add(&vm->mmio, t->base, VIRTIO_MMIO_SLOT_SIZE, &virtio_mmio_bus_ops, t);

	if (ret)
		return ret;
	vm->virtio[vm->nvirtio++] = t;
	if (vm->restore)
		return 0; /* the snapshot's command line already names it */
	ret = virtio_mmio_cmdline(t, arg, sizeof(arg));
	if (!ret)
		ret = cmdline_add(vm->cmdline, sizeof(vm->cmdline), arg + 1); /* without its leading space */
	if (ret)
		pr_err("kernel command line too long with %s: shorten --cmdline", t->name);
	return ret;
}

/* virtio devices in slot order: drives (the first is /dev/vda), NICs, vsock. */
static int wire_virtio(struct hopx_vm *vm)
{
	uint64_t base;
	uint32_t irq;
	int ret;

	vm->virtio_host = (struct virtio_mmio_host){ .irqfd = kvm_irqfd, .ioeventfd = kvm_ioeventfd, .ctx = vm };
	if (vm->cfg.ndrives > HOPX_MAX_DRIVES) {
		pr_err("%u drives: at most %d", vm->cfg.ndrives, HOPX_MAX_DRIVES);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < vm->cfg.ndrives; i++) {
		const struct hopx_drive_config *d = &vm->cfg.drives[i];
		char id[32];

		if (!d->path) {
			pr_err("drive %u has no path: --drive path=IMAGE", i);
			return -EINVAL;
		}
		snprintf(id, sizeof(id), "vd%c", 'a' + i);
		ret = virtio_slot(vm, &base, &irq);
		if (ret)
			return ret;
		vm->blks[i] = calloc(1, sizeof(*vm->blks[i]));
		if (!vm->blks[i])
			return -ENOMEM;
		vm->nblks = i + 1;
		ret = virtio_blk_init(vm->blks[i], d->path, d->read_only, d->direct, d->id ? d->id : id,
				      &vm->virtio_host, &vm->mem, base, irq);
		if (!ret)
			ret = virtio_attach(vm, &vm->blks[i]->t);
		if (ret)
			return ret;
	}
	if (vm->cfg.nnets > HOPX_MAX_NETS) {
		pr_err("%u network interfaces: at most %d", vm->cfg.nnets, HOPX_MAX_NETS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < vm->cfg.nnets; i++) {
		const struct hopx_net_config *n = &vm->cfg.nets[i];

		if (!n->tap) {
			pr_err("network interface %u has no TAP: --net tap=NAME", i);
			return -EINVAL;
		}
		ret = virtio_slot(vm, &base, &irq);
		if (ret)
			return ret;
		vm->nets[i] = calloc(1, sizeof(*vm->nets[i]));
		if (!vm->nets[i])
			return -ENOMEM;
		vm->nnets = i + 1;
		ret = virtio_net_init(vm->nets[i], n->tap, n->mac_set ? n->mac : NULL, &vm->virtio_host,
				      &vm->mem, base, irq);
		if (!ret)
			ret = virtio_attach(vm, &vm->nets[i]->t);
		if (ret)
			return ret;
	}
	if (vm->cfg.vsock.cid) {
		if (!vm->cfg.vsock.uds_path || vm->cfg.vsock.cid < 3 || vm->cfg.vsock.cid == UINT32_MAX) {
			pr_err("vsock needs a guest CID from 3 and a socket path: --vsock cid=N,uds=PATH");
			return -EINVAL;
		}
		ret = virtio_slot(vm, &base, &irq);
		if (ret)
			return ret;
		vm->vsock = calloc(1, sizeof(*vm->vsock));
		if (!vm->vsock)
			return -ENOMEM;
		ret = virtio_vsock_init(vm->vsock, vm->cfg.vsock.cid, vm->cfg.vsock.uds_path,
					&vm->virtio_host, &vm->mem, base, irq);
		if (!ret)
			ret = virtio_attach(vm, &vm->vsock->t);
		if (ret)
			return ret;
	}
	return 0;
}

/* The devices, in their fixed order. */
static int wire_devices(struct hopx_vm *vm)
{
	int ret;

	serial_init(&vm->serial, serial_out, serial_irq, vm);
	i8042_init(&vm->i8042, i8042_reset, vm);
	vm->boot_timer = (struct boot_timer){ boot_timer_signal, vm };

	ret = bus_add(&vm->pio, SERIAL_COM1_BASE, 8, &serial_bus_ops, &vm->serial);
	if (!ret)
		ret = bus_add(&vm->pio, I8042_DATA_PORT, 5, &i8042_bus_ops, &vm->i8042);
	if (!ret)
		ret = bus_add(&vm->mmio, BOOT_TIMER_MMIO_ADDR, BOOT_TIMER_MMIO_SIZE, &boot_timer_bus_ops,
			      &vm->boot_timer);
	if (!ret)
		ret = genid_init(&vm->genid);
	if (!ret)
		ret = bus_add(&vm->mmio, GENID_MMIO_ADDR, GENID_MMIO_SIZE, &genid_bus_ops, &vm->genid);
	if (!ret)
		ret = wire_virtio(vm);
	return ret;
}

/* Read a whole file into memory (kernel, initrd). */
static int read_file(const char *path, const char *what, const char *flag, uint8_t **buf, size_t *size)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t off = 0;

	if (fd < 0) {
		int err = -errno;

		pr_err("open %s %s: %s: pass %s PATH", what, path, strerror(-err), flag);
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("%s %s: not a regular file", what, path);
		return -EINVAL;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > (GUEST_MEM_MAX_MIB << 20)) {
		pr_err("%s %s: size %lld bytes is absurd", what, path, (long long)st.st_size);
		return -EINVAL;
	}
	*size = (size_t)st.st_size;
	*buf = malloc(*size);
	if (!*buf)
		return -ENOMEM;
	while (off < *size) {
		ssize_t n = read(fd, *buf + off, *size - off);

		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			pr_err("read %s %s: %s", what, path, n < 0 ? strerror(errno) : "file shrank while reading");
			free(*buf);
			*buf = NULL;
			return err;
		}
		off += (size_t)n;
	}
	return 0;
}

static int load_guest(struct hopx_vm *vm)
{
	cleanup_free uint8_t *kernel = NULL;
	cleanup_free uint8_t *initrd = NULL;
	size_t ksize = 0, isize = 0;
	struct kernel_image k;
	struct boot_setup b = { .cmdline = vm->cmdline };
	uint8_t seed[BOOT_RNG_SEED_LEN];
	int ret;

	ret = read_file(vm->kernel_path, "kernel", "--kernel", &kernel, &ksize);
	if (ret)
		return ret;
	ret = kernel_load(&vm->mem, kernel, ksize, &k);
	if (ret) {
		pr_err("kernel %s could not be loaded (see above)", vm->kernel_path);
		return ret;
	}
	if (vm->initrd_path) {
		ret = read_file(vm->initrd_path, "initrd", "--initrd", &initrd, &isize);
		if (ret)
			return ret;
		ret = initrd_place(&vm->mem, &k, isize, &b.initrd_gpa);
		if (ret)
			return ret;
		memcpy(guest_mem_ptr(&vm->mem, b.initrd_gpa, isize), initrd, isize);
		b.initrd_size = isize;
	}
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
		pr_err("getrandom for the guest's RNG seed: %s", strerror(errno));
		return -errno;
	}
	b.rng_seed = seed;
	ret = zeropage_write(&vm->mem, &k, &b);
	explicit_bzero(seed, sizeof(seed));
	if (!ret)
		ret = mptable_write(&vm->mem, vm->nvcpus);
	if (!ret)
		ret = longmode_write_tables(&vm->mem);
	if (!ret)
		ret = vcpu_setup_boot(&vm->vcpus[0], k.entry);
	return ret;
}

static int build_cmdline(struct hopx_vm *vm, const char *user)
{
	const char *base = user ? user : HOPX_DEFAULT_CMDLINE;
	int n = snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", base);

	if (n < 0 || (size_t)n >= sizeof(vm->cmdline)) {
		pr_err("--cmdline is %zu bytes: at most %zu", strlen(base), sizeof(vm->cmdline) - 1);
		return -E2BIG;
	}
	{
		char genid[64];

		snprintf(genid, sizeof(genid), "hopx.genid=%llx:%d", (unsigned long long)GENID_MMIO_ADDR, GENID_IRQ);
		if (cmdline_add(vm->cmdline, sizeof(vm->cmdline), genid)) {
			pr_err("--cmdline is too long: at most about %zu bytes", sizeof(vm->cmdline) - 256);
			return -E2BIG;
		}
	}
	if (vm->pvm)
		return pvm_cmdline(vm->cmdline, sizeof(vm->cmdline));
	return 0;
}

static void sigusr1_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

static int install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1_handler; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0) {
		pr_err("sigaction SIGUSR1: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int vm_setup(struct hopx_vm *vm, const struct hopx_vm_config *cfg);

int vm_create(const struct hopx_vm_config *cfg, struct vm_restore *restore, struct hopx_vm **out)
{
	struct hopx_vm *vm;
	int ret;

	*out = NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->restore = restore;
	ret = vm_setup(vm, cfg);
	vm->restore = NULL;
	if (ret) {
		hopx_vm_destroy(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

int hopx_vm_create(const struct hopx_vm_config *cfg, struct hopx_vm **out)
{
	struct hopx_vm *vm;
	int ret;

	*out = NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	ret = vm_setup(vm, cfg);
	if (ret) {
		hopx_vm_destroy(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

static int vm_setup(struct hopx_vm *vm, const struct hopx_vm_config *cfg)
{
	int ret = 0;

	vm->kvm_fd = vm->vm_fd = -1;
	vm->console.out_fd = vm->console.in_fd = -1;
	for (unsigned int i = 0; i < GUEST_VCPUS_MAX; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->stopped_cond, NULL);
	pthread_cond_init(&vm->park_cond, NULL);
	if (!cfg->kernel_path && !vm->restore) {
		pr_err("no kernel given: pass --kernel PATH (an ELF vmlinux or a bzImage)");
		return -EINVAL;
	}
	if (cfg->vcpus < 1 || cfg->vcpus > GUEST_VCPUS_MAX) {
		pr_err("--vcpus %u: must be 1..%d", cfg->vcpus, GUEST_VCPUS_MAX);
		return -EINVAL;
	}
	if (cfg->console == HOPX_CONSOLE_FILE && !cfg->console_path) {
		pr_err("console to a file needs a path: --console FILE");
		return -EINVAL;
	}
	vm->cfg = *cfg;
	vm->t0_ns = cfg->t0_ns ? cfg->t0_ns : now_ns();
	vm->kernel_path = dup_opt(cfg->kernel_path);
	vm->initrd_path = dup_opt(cfg->initrd_path);
	vm->console_path = dup_opt(cfg->console_path);
	vm->cfg.kernel_path = vm->kernel_path;
	vm->cfg.initrd_path = vm->initrd_path;
	vm->cfg.console_path = vm->console_path;
	vm->cfg.cmdline = vm->cmdline; /* the final one, built below */
	vm->pvm = cfg->pvm == HOPX_PVM_AUTO ? pvm_detect() : cfg->pvm == HOPX_PVM_ON;

	if ((cfg->kernel_path && !vm->kernel_path) || (cfg->initrd_path && !vm->initrd_path) ||
	    (cfg->console_path && !vm->console_path))
		return -ENOMEM;
	if (vm->restore)
		snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", cfg->cmdline);
	else
		ret = build_cmdline(vm, cfg->cmdline);
	if (ret)
		return ret;
	ret = install_kick_handler();
	if (ret)
		return ret;
	ret = open_kvm(vm);
	if (ret)
		return ret;
	if (vm->restore)
		ret = guest_mem_map_file(&vm->mem, vm->restore->mem_fd, (uint64_t)cfg->mem_mib << 20);
	else
		ret = guest_mem_init(&vm->mem, (uint64_t)cfg->mem_mib << 20);
	if (ret)
		return ret;
	ret = map_memory(vm);
	if (ret)
		return ret;
	ret = console_open(&vm->console, cfg->console, vm->console_path);
	if (ret)
		return ret;
	ret = wire_devices(vm);
	if (ret)
		return ret;
	for (vm->nvcpus = 0; vm->nvcpus < cfg->vcpus; vm->nvcpus++) {
		ret = vcpu_create(vm, vm->nvcpus);
		if (ret) {
			vm->nvcpus++; /* so destroy releases its handles */
			return ret;
		}
	}
	ret = vm->restore ? vm_restore_state(vm) : load_guest(vm);
	if (ret)
		return ret;
	pr_info("guest command line: %s", vm->cmdline);
	atomic_store(&vm->t_kvm_ready, now_ns() - vm->t0_ns);
	return 0;
}

int hopx_vm_start(struct hopx_vm *vm)
{
	int ret;

	if (vm->started)
		return -EALREADY;
	vm->started = true;
	ret = console_start_input(&vm->console, console_sink, console_room, vm, &vm->stopping);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < vm->nvirtio; i++) {
		ret = virtio_mmio_start(vm->virtio[i]);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		pthread_mutex_lock(&vm->lock);
		ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
		v->thread_started = ret == 0;
		pthread_mutex_unlock(&vm->lock);
		if (ret) {
			pr_err("vCPU %u thread: %s", i, strerror(ret));
			vm_request_stop(vm, HOPX_EXIT_ERROR, "could not start vCPU %u", i);
			return -ret;
		}
	}
	return 0;
}

int hopx_vm_wait(struct hopx_vm *vm, struct hopx_vm_exit *exit)
{
	pthread_mutex_lock(&vm->lock);
	while (!atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->stopped_cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		bool started;

		/* Cleared before the join, under the lock kicks take: no kick
		 * can reach a thread that has been joined. */
		pthread_mutex_lock(&vm->lock);
		started = vm->vcpus[i].thread_started;
		vm->vcpus[i].thread_started = false;
		pthread_mutex_unlock(&vm->lock);
		if (started)
			pthread_join(vm->vcpus[i].thread, NULL);
	}
	console_close(&vm->console);
	if (exit)
		*exit = vm->exit;
	return 0;
}

void hopx_vm_stop(struct hopx_vm *vm)
{
	vm_request_stop(vm, HOPX_EXIT_STOPPED, "stopped by the VMM's user");
}

void hopx_vm_destroy(struct hopx_vm *vm)
{
	if (!vm)
		return;
	if (vm->started && !atomic_load(&vm->stopping))
		hopx_vm_stop(vm);
	if (vm->started)
		hopx_vm_wait(vm, NULL);
	else
		console_close(&vm->console);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nblks; i++) {
		if (vm->blks[i])
			virtio_blk_destroy(vm->blks[i]);
		free(vm->blks[i]);
	}
	for (unsigned int i = 0; i < vm->nnets; i++) {
		if (vm->nets[i])
			virtio_net_destroy(vm->nets[i]);
		free(vm->nets[i]);
	}
	if (vm->vsock)
		virtio_vsock_destroy(vm->vsock);
	free(vm->vsock);
	serial_destroy(&vm->serial);
	i8042_destroy(&vm->i8042);
	genid_destroy(&vm->genid);
	guest_mem_free(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm->kernel_path);
	free(vm->initrd_path);
	free(vm->console_path);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->stopped_cond);
	pthread_cond_destroy(&vm->park_cond);
	free(vm);
}

void hopx_vm_set_exit_callback(struct hopx_vm *vm,
			       void (*cb)(struct hopx_vm *vm, const struct hopx_vm_exit *exit, void *ctx), void *ctx)
{
	pthread_mutex_lock(&vm->lock);
	vm->cfg.on_exit = cb;
	vm->cfg.on_exit_ctx = ctx;
	pthread_mutex_unlock(&vm->lock);
}

bool hopx_vm_pvm(const struct hopx_vm *vm)
{
	return vm->pvm;
}

const char *hopx_vm_cmdline(const struct hopx_vm *vm)
{
	return vm->cmdline;
}
