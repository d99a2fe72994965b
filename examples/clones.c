/* Embedding libhopxvmm: boot a guest, let it run a moment, pause it, take a
 * snapshot, and run N clones of it side by side, each told to stop through
 * the exit callback. Build: make examples; run:
 *
 *     build/examples/clones KERNEL "CMDLINE" N DIR
 *
 * (tests/integration/example_clones.sh runs it with the test guest.) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hopx/vmm.h>

static atomic_int exited;

static void on_exit_cb(struct hopx_vm *vm, const struct hopx_vm_exit *e, void *ctx)
{
	(void)vm;
	printf("clone %ld: %s (%s)\n", (long)(intptr_t)ctx, hopx_exit_reason_name(e->reason), e->message);
	atomic_fetch_add(&exited, 1);
}

int main(int argc, char **argv)
{
	struct hopx_vm_config cfg;
	struct hopx_restore_config rc;
	struct hopx_snapshot_info info;
	struct hopx_vm *vm, *clones[64];
	char state[4096], mem[4096];
	int n, ret, failed = 0;

	if (argc != 5 || (n = atoi(argv[3])) < 1 || n > 64) {
		fprintf(stderr, "usage: %s KERNEL CMDLINE N(1..64) DIR\n", argv[0]);
		return 2;
	}
	snprintf(state, sizeof(state), "%s/state", argv[4]);
	snprintf(mem, sizeof(mem), "%s/mem", argv[4]);

	hopx_vm_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.cmdline = argv[2];
	cfg.console = HOPX_CONSOLE_NONE;
	if ((ret = hopx_vm_create(&cfg, &vm)) || (ret = hopx_vm_start(vm))) {
		fprintf(stderr, "boot: %s: %s\n", strerror(-ret), hopx_last_error());
		return 1;
	}
	usleep(500 * 1000);
	ret = hopx_vm_pause(vm);
	if (!ret)
		ret = hopx_vm_snapshot(vm, state, mem, &info);
	hopx_vm_destroy(vm); /* the original is done with */
	if (ret) {
		fprintf(stderr, "snapshot: %s\n", strerror(-ret));
		return 1;
	}
	printf("snapshot: %llu of %llu MiB written in %.1f ms\n", (unsigned long long)info.mem_written >> 20,
	       (unsigned long long)info.mem_bytes >> 20, info.duration_ns / 1e6);

	for (int i = 0; i < n; i++) {
		hopx_restore_config_init(&rc);
		rc.state_path = state;
		rc.mem_path = mem;
		rc.console = HOPX_CONSOLE_NONE;
		ret = hopx_vm_restore(&rc, &clones[i]);
		if (ret) {
			fprintf(stderr, "restore %d: %s: %s\n", i, strerror(-ret), hopx_last_error());
			return 1;
		}
		/* Not in hopx_restore_config: set on the restored VM's config. */
		hopx_vm_set_exit_callback(clones[i], on_exit_cb, (void *)(intptr_t)i);
		hopx_vm_start(clones[i]);
	}
	for (int i = 0; i < n; i++) {
		struct hopx_vm_exit e;

		hopx_vm_wait(clones[i], &e);
		failed += e.reason != HOPX_EXIT_POWEROFF;
		hopx_vm_destroy(clones[i]);
	}
	printf("%d clones ran, %d exit callbacks, %d did not power off cleanly\n", n, atomic_load(&exited), failed);
	return failed || atomic_load(&exited) != n;
}
