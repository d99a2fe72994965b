/* An embedder of libhopxvmm that defines, for its own use, names the
 * library uses inside (log_msg, now_ns, bus_add, disk_open, vm_create). It
 * links only when the library keeps those names to itself, and it is linked
 * without libmicrohttpd or jansson (tests/integration/lib_exports.sh). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hopx/vmm.h>

int log_msg(void);
int now_ns(void);
int bus_add(void);
int disk_open(void);
int vm_create(void);

int log_msg(void) { return 1; }
int now_ns(void) { return 2; }
int bus_add(void) { return 3; }
int disk_open(void) { return 4; }
int vm_create(void) { return 5; }

int main(void)
{
	struct hopx_vm_config cfg;
	struct hopx_vm *vm = NULL;
	int ret;

	hopx_vm_config_init(&cfg);
	hopx_log_set_level(HOPX_LOG_SILENT);
	cfg.kernel_path = "/nonexistent/vmlinux";
	ret = hopx_vm_create(&cfg, &vm);
	/* The library's own failure path ran (its logging and clock), and ours are still ours. */
	if (ret >= 0 || vm || !strstr(hopx_last_error(), "/nonexistent/vmlinux")) {
		fprintf(stderr, "hopx_vm_create of a missing kernel: %d, last error '%s'\n", ret, hopx_last_error());
		return 1;
	}
	if (log_msg() + now_ns() + bus_add() + disk_open() + vm_create() != 15)
		return 1;
	printf("embedder: library names are its own; last error: %s\n", hopx_last_error());
	return 0;
}
