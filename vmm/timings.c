/* Boot timings and counters: what --boot-timings prints (see vmm.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

void hopx_vm_boot_timings(struct hopx_vm *vm, struct hopx_boot_timings *t)
{
	memset(t, 0, sizeof(*t));
	t->kvm_ready_ns = atomic_load(&vm->t_kvm_ready);
	t->first_entry_ns = atomic_load(&vm->t_first_entry);
	t->run_init_ns = atomic_load(&vm->t_run_init);
	t->userspace_ready_ns = atomic_load(&vm->t_ready);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		t->exits += atomic_load(&vm->vcpus[i].exits);
	for (int i = 0; i < EMU_NR_INSNS; i++)
		t->fixups += atomic_load(&vm->fixups[i]);
	t->kvm_exits = vm_kvm_stat(vm, KVM_STAT_EXITS);
	t->kvm_insn_emulation = vm_kvm_stat(vm, KVM_STAT_INSN_EMULATION);
	t->kvm_insn_emulation_fail = vm_kvm_stat(vm, KVM_STAT_INSN_EMULATION_FAIL);
	t->kvm_exits_at_init = t->run_init_ns ? atomic_load(&vm->kvm_exits_at_init) : -1;
	t->kvm_insn_emulation_at_init = t->run_init_ns ? atomic_load(&vm->kvm_emul_at_init) : -1;
	t->first_fixup_ns = atomic_load(&vm->t_first_fixup);
	t->kvm_exits_at_fixup = t->first_fixup_ns ? atomic_load(&vm->kvm_exits_at_fixup) : -1;
	t->kvm_insn_emulation_at_fixup = t->first_fixup_ns ? atomic_load(&vm->kvm_emul_at_fixup) : -1;
}

double vm_fixups_per_second(struct hopx_vm *vm, uint64_t fixups)
{
	uint64_t ns = now_ns() - vm->t0_ns;

	return ns ? (double)fixups * 1e9 / (double)ns : 0;
}

static void print_ms(FILE *f, const char *what, uint64_t ns)
{
	if (ns)
		fprintf(f, "boot-timings: %-22s %10.3f ms\n", what, (double)ns / 1e6);
	else
		fprintf(f, "boot-timings: %-22s %10s\n", what, "not reached");
}

static void print_count(FILE *f, const char *what, int64_t v)
{
	if (v >= 0)
		fprintf(f, "boot-timings: %-22s %10lld\n", what, (long long)v);
	else
		fprintf(f, "boot-timings: %-22s %10s\n", what, "n/a");
}

void hopx_vm_print_boot_timings(struct hopx_vm *vm, int fd)
{
	struct hopx_boot_timings t;
	FILE *f = fdopen(dup(fd), "w");

	if (!f)
		return;
	hopx_vm_boot_timings(vm, &t);
	fprintf(f, "boot-timings: host %s KVM, %u vCPU(s), %u MiB\n",
		vm->pvm ? "software (PVM)" : "hardware", vm->nvcpus, vm->cfg.mem_mib);
	fprintf(f, "boot-timings: %-22s %10.3f ms\n", "process start", 0.0);
	print_ms(f, "KVM ready", t.kvm_ready_ns);
	print_ms(f, "first vCPU entry", t.first_entry_ns);
	print_ms(f, "Run /init", t.run_init_ns);
	print_ms(f, "userspace ready", t.userspace_ready_ns);
	print_count(f, "vmm exits", (int64_t)t.exits);
	print_count(f, "kvm exits", t.kvm_exits);
	print_count(f, "kvm exits to /init", t.kvm_exits_at_init);
	print_count(f, "emulated insns", t.kvm_insn_emulation);
	print_count(f, "emulated to /init", t.kvm_insn_emulation_at_init);
	print_count(f, "emulation failures", t.kvm_insn_emulation_fail);
	print_count(f, "pvm fix-ups", (int64_t)t.fixups);
	if (vm->pvm)
		fprintf(f, "boot-timings: %-22s %10.1f\n", "fix-ups per second", vm_fixups_per_second(vm, t.fixups));
	for (int i = 0; i < EMU_NR_INSNS; i++) {
		uint64_t n = atomic_load(&vm->fixups[i]);
		char name[32];

		if (!n)
			continue;
		snprintf(name, sizeof(name), "  fix-up %s", emu_insn_names[i]);
		print_count(f, name, (int64_t)n);
	}
	if (vm->pvm) {
		print_ms(f, "first fix-up", t.first_fixup_ns);
		print_count(f, "kvm exits to fix-up", t.kvm_exits_at_fixup);
		print_count(f, "emulated to fix-up", t.kvm_insn_emulation_at_fixup);
	}
	fclose(f);
}
