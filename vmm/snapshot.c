/* Snapshots of a paused VM and restores from them (libhopxvmm).
 *
 * A snapshot is two files: the state file (vmm/snapfile.h: the machine's
 * shape and devices' backends in node "machine", KVM state in "vm" and
 * "vcpu@N", emulated devices in "devices") and the memory file (raw guest
 * RAM, sparse, written to a temporary name and renamed). A restore decodes
 * and checks the whole state file before it creates anything, maps the
 * memory file MAP_PRIVATE (pages load on first touch; clones share the page
 * cache), rebuilds the same devices (backends may be swapped: another drive
 * file, TAP or vsock socket), and applies the state. Restored vsock devices
 * tell the guest its connections are gone (TRANSPORT_RESET). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/util.h"
#include "vm.h"
#include "vstate.h"

static void boot_id(char *buf, size_t size)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)size, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

/* --- saving -------------------------------------------------------------------- */

static void save_machine(struct hopx_vm *vm, struct snapw *w)
{
	char id[64], node[32];

	boot_id(id, sizeof(id));
	snapw_begin(w, "machine");
	snapw_u64(w, "mem-size", vm->mem.size);
	snapw_u32(w, "vcpus", vm->nvcpus);
	snapw_u32(w, "pvm", vm->pvm);
	snapw_str(w, "cmdline", vm->cmdline);
	snapw_str(w, "host-boot-id", id);
	for (unsigned int i = 0; i < vm->nblks; i++) {
		struct virtio_blk *b = vm->blks[i];
		char did[VIRTIO_BLK_ID_BYTES + 1] = { 0 };

		memcpy(did, b->id, VIRTIO_BLK_ID_BYTES);
		snprintf(node, sizeof(node), "drive@%u", i);
		snapw_begin(w, node);
		snapw_str(w, "path", b->disk.path);
		snapw_str(w, "id", did);
		snapw_u32(w, "read-only", b->disk.read_only);
		snapw_u32(w, "direct", b->disk.direct);
		snapw_end(w);
	}
	for (unsigned int i = 0; i < vm->nnets; i++) {
		snprintf(node, sizeof(node), "net@%u", i);
		snapw_begin(w, node);
		snapw_str(w, "tap", vm->nets[i]->tap);
		snapw_blob(w, "mac", vm->nets[i]->config.mac, 6);
		snapw_end(w);
	}
	if (vm->vsock) {
		snapw_begin(w, "vsock");
		snapw_u32(w, "cid", vm->vsock->cid);
		snapw_str(w, "uds", vm->vsock->uds_path);
		snapw_end(w);
	}
	snapw_end(w);
}

static void save_devices(struct hopx_vm *vm, struct snapw *w)
{
	struct serial_state ss;
	struct i8042_state ks;
	char node[32];

	serial_save(&vm->serial, &ss);
	i8042_save(&vm->i8042, &ks);
	snapw_begin(w, "devices");
	snapw_blob(w, "serial", &ss, sizeof(ss));
	snapw_blob(w, "i8042", &ks, sizeof(ks));
	for (unsigned int i = 0; i < vm->nvirtio; i++) {
		struct virtio_mmio_state vs;

		virtio_mmio_save(vm->virtio[i], &vs);
		snprintf(node, sizeof(node), "virtio@%u", i);
		snapw_begin(w, node);
		snapw_str(w, "type", vm->virtio[i]->ops->type);
		snapw_blob(w, "transport", &vs, sizeof(vs));
		snapw_end(w);
	}
	snapw_end(w);
}

int hopx_vm_snapshot(struct hopx_vm *vm, const char *state_path, const char *mem_path,
		     struct hopx_snapshot_info *info)
{
	char tmp[4096];
	struct snapw w;
	uint64_t t0 = now_ns(), written = 0;
	int fd, ret;

	if (!hopx_vm_is_paused(vm)) {
		pr_err("snapshot: the VM must be paused first (PATCH /vm {\"state\":\"Paused\"})");
		return -EBUSY;
	}
	ret = snapw_init(&w);
	if (ret)
		return ret;
	save_machine(vm, &w);
	ret = vstate_save(vm, &w);
	if (ret) {
		free(w.fdt);
		return ret;
	}
	save_devices(vm, &w);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", mem_path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		pr_err("snapshot: create memory file %s: %s", tmp, strerror(errno));
		free(w.fdt);
		return ret;
	}
	ret = guest_mem_save(&vm->mem, fd, &written);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (!ret && rename(tmp, mem_path) < 0)
		ret = -errno;
	if (ret) {
		pr_err("snapshot: write memory file %s: %s", mem_path, strerror(-ret));
		unlink(tmp);
		free(w.fdt);
		return ret;
	}
	/* The state file last: a state file names a complete memory file. */
	ret = snapw_finish(&w, state_path);
	if (info) {
		info->mem_bytes = vm->mem.size;
		info->mem_written = written;
		info->duration_ns = now_ns() - t0;
	}
	return ret;
}

/* --- restoring ------------------------------------------------------------------- */

static int copy_str(struct snapr *r, int node, const char *name, char **out)
{
	const char *s = snapr_str(r, node, name, 4096);

	if (!s)
		return -EINVAL;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* Read the "machine" node into CFG (strings owned by STRS, freed by the caller). */
static int decode_machine(struct snapr *r, const struct hopx_restore_config *rc, struct hopx_vm_config *cfg,
			  char **strs, unsigned int *nstrs)
{
	int m = snapr_node(r, 0, "machine"), ret;
	uint64_t mem;
	uint32_t vcpus, pvm, v;
	char id[64], node[32];
	const char *saved_id;

	if (m < 0)
		return m;
	ret = snapr_u64(r, m, "mem-size", &mem);
	if (!ret)
		ret = snapr_u32(r, m, "vcpus", &vcpus);
	if (!ret)
		ret = snapr_u32(r, m, "pvm", &pvm);
	if (ret)
		return ret;
	if (mem % (1 << 20) || mem < GUEST_MEM_MIN_MIB << 20 || mem > GUEST_MEM_MAX_MIB << 20 || vcpus < 1 ||
	    vcpus > GUEST_VCPUS_MAX) {
		pr_err("snapshot %s: %llu bytes of RAM and %u vCPUs: not a machine hopx-vmm makes", r->path,
		       (unsigned long long)mem, vcpus);
		return -EINVAL;
	}
	cfg->mem_mib = (uint32_t)(mem >> 20);
	cfg->vcpus = vcpus;
	cfg->pvm = pvm ? HOPX_PVM_ON : HOPX_PVM_OFF;
	saved_id = snapr_str(r, m, "host-boot-id", 64);
	boot_id(id, sizeof(id));
	if (pvm && saved_id && strcmp(saved_id, id) != 0) {
		/* Software KVM cannot offset the guest TSC: across host boots it
		 * could run backwards. */
		pr_err("snapshot %s was taken in another boot of this host (or another host): on a software-KVM "
		       "host the guest's TSC cannot be carried over; restore only within one host boot", r->path);
		return -EXDEV;
	}
	if ((ret = copy_str(r, m, "cmdline", &strs[(*nstrs)++])))
		return ret;
	cfg->cmdline = strs[*nstrs - 1];
	for (unsigned int i = 0; i < HOPX_MAX_DRIVES; i++) {
		struct hopx_drive_config *d = &cfg->drives[i];
		int n;

		snprintf(node, sizeof(node), "drive@%u", i);
		n = snapr_child(r, m, node);
		if (n < 0)
			break;
		if ((ret = copy_str(r, n, "path", &strs[(*nstrs)++])) || (ret = copy_str(r, n, "id", &strs[(*nstrs)++])))
			return ret;
		d->path = rc->drive_path[i] ? rc->drive_path[i] : strs[*nstrs - 2];
		d->id = strs[*nstrs - 1];
		if ((ret = snapr_u32(r, n, "read-only", &v)))
			return ret;
		d->read_only = v;
		if ((ret = snapr_u32(r, n, "direct", &v)))
			return ret;
		d->direct = v;
		cfg->ndrives = i + 1;
	}
	for (unsigned int i = 0; i < HOPX_MAX_NETS; i++) {
		struct hopx_net_config *nc = &cfg->nets[i];
		int n;

		snprintf(node, sizeof(node), "net@%u", i);
		n = snapr_child(r, m, node);
		if (n < 0)
			break;
		if ((ret = copy_str(r, n, "tap", &strs[(*nstrs)++])) || (ret = snapr_blob(r, n, "mac", nc->mac, 6)))
			return ret;
		nc->tap = rc->tap[i] ? rc->tap[i] : strs[*nstrs - 1];
		nc->mac_set = true;
		cfg->nnets = i + 1;
	}
	{
		int n = snapr_child(r, m, "vsock");

		if (n >= 0) {
			if ((ret = snapr_u32(r, n, "cid", &cfg->vsock.cid)) ||
			    (ret = copy_str(r, n, "uds", &strs[(*nstrs)++])))
				return ret;
			cfg->vsock.uds_path = rc->vsock_uds_path ? rc->vsock_uds_path : strs[*nstrs - 1];
		}
	}
	return 0;
}

/* Clones must not share what was random in the original: a new generation
 * ID, and its interrupt pending before any vCPU runs, so the guest reseeds
 * its RNG first thing (guest-kernel-config/patches/0002-...). */
static int reseed_guest(struct hopx_vm *vm)
{
	struct kvm_irq_level l = { .irq = GENID_IRQ, .level = 1 };
	int ret = genid_refresh(&vm->genid);

	if (ret) {
		pr_err("restore: fresh entropy for the guest: %s", strerror(-ret));
		return ret;
	}
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	l.level = 0;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	return 0;
}

int vm_restore_state(struct hopx_vm *vm)
{
	struct vm_restore *rs = vm->restore;
	struct snapr *r = &rs->r;
	struct serial_state ss;
	struct i8042_state ks;
	int dev = snapr_node(r, 0, "devices"), ret;

	if (dev < 0)
		return dev;
	ret = snapr_blob(r, dev, "serial", &ss, sizeof(ss));
	if (!ret)
		ret = snapr_blob(r, dev, "i8042", &ks, sizeof(ks));
	if (!ret && serial_load(&vm->serial, &ss)) {
		pr_err("snapshot %s: impossible UART state", r->path);
		ret = -EINVAL;
	}
	if (ret)
		return ret;
	i8042_load(&vm->i8042, &ks);
	for (unsigned int i = 0; i < vm->nvirtio; i++) {
		struct virtio_mmio_state vs;
		char node[32];
		const char *type;
		int n;

		snprintf(node, sizeof(node), "virtio@%u", i);
		n = snapr_node(r, dev, node);
		if (n < 0)
			return n;
		type = snapr_str(r, n, "type", 32);
		if (!type || strcmp(type, vm->virtio[i]->ops->type) != 0) {
			pr_err("snapshot %s: device %u is %s, here %s", r->path, i, type ? type : "?",
			       vm->virtio[i]->ops->type);
			return -EINVAL;
		}
		ret = snapr_blob(r, n, "transport", &vs, sizeof(vs));
		if (!ret)
			ret = virtio_mmio_load(vm->virtio[i], &vs);
		if (ret)
			return ret;
	}
	if (vm->vsock)
		virtio_vsock_restored(vm->vsock);
	ret = vstate_apply(vm, &rs->vms, rs->vcs);
	if (!ret)
		ret = reseed_guest(vm);
	vm->restored = true;
	return ret;
}

void hopx_restore_config_init(struct hopx_restore_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->console = HOPX_CONSOLE_STDIO;
}

int hopx_vm_restore(const struct hopx_restore_config *rc, struct hopx_vm **out)
{
	struct vm_restore rs = { .mem_fd = -1 };
	struct hopx_vm_config cfg;
	char *strs[2 * HOPX_MAX_DRIVES + HOPX_MAX_NETS + 4] = { 0 };
	unsigned int nstrs = 0;
	struct stat st;
	int ret;

	*out = NULL;
	if (!rc->state_path || !rc->mem_path) {
		pr_err("restore needs a state file and a memory file");
		return -EINVAL;
	}
	hopx_vm_config_init(&cfg);
	cfg.console = rc->console;
	cfg.console_path = rc->console_path;
	cfg.t0_ns = rc->t0_ns;
	ret = snapr_load(&rs.r, rc->state_path);
	if (ret)
		return ret;
	ret = decode_machine(&rs.r, rc, &cfg, strs, &nstrs);
	if (ret)
		goto out;
	rs.nvcpus = cfg.vcpus;
	rs.vcs = calloc(cfg.vcpus, sizeof(*rs.vcs));
	if (!rs.vcs) {
		ret = -ENOMEM;
		goto out;
	}
	/* Everything decoded and checked before KVM sees any of it. */
	ret = vstate_decode(&rs.r, cfg.vcpus, &rs.vms, rs.vcs);
	if (ret)
		goto out;
	rs.mem_fd = open(rc->mem_path, O_RDONLY | O_CLOEXEC);
	if (rs.mem_fd < 0) {
		ret = -errno;
		pr_err("open snapshot memory file %s: %s", rc->mem_path, strerror(errno));
		goto out;
	}
	if (fstat(rs.mem_fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)cfg.mem_mib << 20) {
		pr_err("snapshot memory file %s: %lld bytes, the snapshot's guest has %llu: wrong file?", rc->mem_path,
		       (long long)st.st_size, (unsigned long long)cfg.mem_mib << 20);
		ret = -EINVAL;
		goto out;
	}
	ret = vm_create(&cfg, &rs, out);
out:
	if (rs.mem_fd >= 0)
		close(rs.mem_fd); /* the mapping keeps the file */
	vstate_free(rs.vcs, rs.nvcpus);
	free(rs.vcs);
	snapr_free(&rs.r);
	for (unsigned int i = 0; i < nstrs; i++)
		free(strs[i]);
	return ret;
}
