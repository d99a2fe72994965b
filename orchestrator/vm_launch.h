/* vm_launch.c: starting a hopx-vmm under hopx-jail, and the arguments of a
 * VM booted from the guest kernel with the agent as /init. Shared by the
 * template snapshots (tsnap.c) and the vm runtime (rt_vm.c). */
#ifndef HOPXD_VM_LAUNCH_H
#define HOPXD_VM_LAUNCH_H

#include <stdbool.h>

#define AGENT_PORT 7777 /* the agent's vsock port in every VM */
#define KVM_DEV "/dev/kvm" /* what a VMM needs, bound into its jail */

/* Start hopx-vmm with VMM_ARGV under hopx-jail for sandbox (or template
 * snapshot) ID in its directory DIR: VCPUS, MEM_MIB of guest memory, the
 * template IMAGE and (may be NULL) snapshot directory SNAPDIR read-only, a
 * way out to the internet if EGRESS. Its pid and start time. -errno. */
int vmm_spawn(const char *id, const char *dir, int vcpus, int mem_mib, const char *image, const char *snapdir,
	      bool egress, char **vmm_argv, int *pid, unsigned long long *start);
/* hopx-vmm run's arguments to boot IMAGE with the agent as /init, answering
 * SUPERVISOR on vsock AGENT_PORT through VSOCK. g_strfreev it. */
char **vmm_boot_argv(const char *image, int mem_mib, const char *vsock, const char *api, const char *console,
		     const char *supervisor);

#endif
