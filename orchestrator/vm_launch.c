/* Starting hopx-vmm (vm_launch.h): every VMM runs under hopx-jail, like
 * the namespace runtime's agents. The guest's NIC is a TAP in its VMM's
 * own network namespace (the same address in every VM), with a way out
 * only for internet_access (jail_net.c). */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "jail_net.h"
#include "paths.h"
#include "util.h"
#include "vm_launch.h"

#define VM_TAP "tap0" /* in the VM's own network namespace (hopx-jail --tap): the same name in every jail */

/* Start hopx-vmm with VMM_ARGV under hopx-jail (jail.c, as the namespace
 * runtime's agent): its own namespaces, a cgroup (the guest's memory plus
 * room for the VMM), seccomp, and a root of the host's libraries with only
 * what it needs bound in: its binary, the kernel, the template's image and
 * snapshot read-only, its own directory DIR, /dev/kvm and /dev/net/tun. Its
 * network namespace has the TAP VM_TAP for the guest's NIC, with a way out
 * to the host if EGRESS (the sandbox's internet_access). */
int vmm_spawn(const char *id, const char *dir, int vcpus, int mem_mib, const char *image, const char *snapdir,
	      bool egress, char **vmm_argv, int *pid, unsigned long long *start)
{
	/* the same layout in a sandbox's directory and in a template snapshot's */
	char *scratch = g_build_filename(dir, SBX_SCRATCH, NULL), *run = g_build_filename(dir, SBX_RUN, NULL);
	char *log = g_build_filename(dir, SBX_VMM_LOG, NULL);
	char cpus[16], mem[16];
	GPtrArray *argv = g_ptr_array_new();
	int err;

	g_mkdir_with_parents(scratch, 0700);
	g_mkdir_with_parents(run, 0700);
	snprintf(cpus, sizeof(cpus), "%d", vcpus > 0 ? vcpus : 1);
	snprintf(mem, sizeof(mem), "%d", mem_mib + 256);
	for (const char *const *a = (const char *const[]){ cfg.jail, "--id", id, "--scratch", scratch, "--run-dir", run,
							   "--cpus", cpus, "--memory-mib", mem, "--disk-mib", "16",
							   "--bind-ro", cfg.vmm, "--bind-ro", cfg.kernel, "--bind-ro",
							   image, "--bind", dir, "--bind", KVM_DEV, "--bind",
							   "/dev/net/tun", "--tap", VM_TAP, NULL };
	     *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	if (snapdir) {
		g_ptr_array_add(argv, "--bind-ro");
		g_ptr_array_add(argv, (char *)snapdir);
	}
	if (egress)
		g_ptr_array_add(argv, "--egress");
	g_ptr_array_add(argv, "--");
	for (char **a = vmm_argv; *a; a++)
		g_ptr_array_add(argv, *a);
	g_ptr_array_add(argv, NULL);
	err = spawn_detached((char **)argv->pdata, NULL, log, pid, start);
	g_ptr_array_free(argv, TRUE);
	g_free(scratch);
	g_free(run);
	g_free(log);
	return err;
}

/* The host's first nameserver that a sandbox can reach (not loopback), or NULL. */
static char *host_nameserver(void)
{
	char *text = NULL, **lines, *ns = NULL;

	if (!g_file_get_contents("/etc/resolv.conf", &text, NULL, NULL))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && !ns; l++) {
		char **w = g_strsplit_set(g_strstrip(*l), " \t", -1);

		if (w[0] && strcmp(w[0], "nameserver") == 0 && w[1] && strchr(w[1], '.') && !strchr(w[1], ':') &&
		    strncmp(w[1], "127.", 4) != 0 && strlen(w[1]) <= 15)
			ns = g_strdup(w[1]);
		g_strfreev(w);
	}
	g_strfreev(lines);
	g_free(text);
	return ns;
}

/* hopx-vmm run's arguments: our kernel on IMAGE (read-only, shared) with
 * the agent as /init on a tmpfs overlay, answering SUPERVISOR on vsock
 * AGENT_PORT through VSOCK; the NIC on VM_TAP with the same address in
 * every VM (each has its own TAP in its own namespace). g_strfreev it. */
char **vmm_boot_argv(const char *image, int mem_mib, const char *vsock, const char *api, const char *console,
		     const char *supervisor)
{
	char *dns = host_nameserver();
	char *cmdline = g_strdup_printf("console=ttyS0 reboot=k panic=-1 quiet root=/dev/vda ro "
					"ip=%s::%s:255.255.255.252::eth0:off:%s init=" GUEST_AGENT_BIN " -- "
					"--listen vsock:%d --supervisor-token %s --overlay-root",
					JAIL_TAP_GUEST, JAIL_TAP_GATEWAY, dns ? dns : "", AGENT_PORT, supervisor);
	char *mem = g_strdup_printf("%d", mem_mib), *drive = g_strdup_printf("path=%s,ro", image);
	char *vs = g_strdup_printf("cid=3,uds=%s", vsock);
	char *argv[] = { cfg.vmm, "run", "--kernel", cfg.kernel, "--mem-mib", mem, "--drive", drive, "--vsock", vs,
			 "--net", "tap=" VM_TAP, "--api-sock", (char *)api, "--console", (char *)console, "--cmdline",
			 cmdline, NULL };
	char **out = g_strdupv(argv);

	g_free(mem);
	g_free(drive);
	g_free(vs);
	g_free(cmdline);
	g_free(dns);
	return out;
}

