/* Where hopxd keeps a sandbox's files: state-dir/sandboxes/<id>/..., each
 * name defined once here (paths.c). Every runtime's agent answers on
 * SBX_AGENT_SOCK: the gateway and hopxd's own agent calls go there. */
#ifndef HOPXD_PATHS_H
#define HOPXD_PATHS_H

#include <stddef.h>

#define SBX_RUN        "run"            /* sockets */
#define SBX_AGENT_SOCK "run/agent.sock" /* the agent (the vm runtime: hopxd's relay to it) */
#define SBX_VSOCK      "run/v.sock"     /* the VMM's vsock socket */
#define SBX_VMM_API    "run/api.sock"   /* the VMM's control API */
#define SBX_SCRATCH    "scratch"        /* the jail's writable layer */
#define SBX_SNAP       "snap"           /* a paused VM */
#define SBX_SNAP_STATE "snap/state"
#define SBX_SNAP_MEM   "snap/mem"
#define SBX_CONSOLE    "console.log"    /* the guest's serial console */
#define SBX_VMM_LOG    "vmm.log"        /* the jail's and VMM's output */
#define SBX_JAIL_LOG   "log"            /* the namespace runtime's jail and agent output */

/* In every template image: the agent (the VM's /init, the jail's command). */
#define GUEST_AGENT_BIN "/sbin/hopx-agent"

/* state-dir/sandboxes/ID/SUB ("" for the directory itself), into BUF. */
const char *sandbox_dir(const char *id, const char *sub, char *buf, size_t size);
/* Remove the sandbox's files and (empty) directories SUBS, in order; failures other than ENOENT are logged. */
void sandbox_remove(const char *id, const char *const *subs, size_t n);

#endif
