/* hopx-jail's network: a veth pair out of a sandbox's network namespace,
 * and the vm runtime's TAP inside it (see jail_net.c). */
#ifndef HOPX_JAIL_NET_H
#define HOPX_JAIL_NET_H

#include <sys/types.h>

/* The guest's side of the TAP: its address and gateway, in every VM. */
#define JAIL_TAP_GUEST "172.16.0.2"
#define JAIL_TAP_GATEWAY "172.16.0.1"

/* In the host's namespace: a veth pair "hxN" (here, 10.201.0.0/16's N-th
 * /30 .1) / "eth0" (moved into INIT's namespace), N a free slot, put in
 * *SLOT. -errno, logged. */
int jail_net_veth(pid_t init, unsigned int *slot);

/* Inside the sandbox's namespace: eth0 with the slot's .2 and a default
 * route (SLOT >= 0), then the TAP named TAP (if not NULL) with 172.16.0.1,
 * NATed out of eth0 if there is one. -errno, logged. */
int jail_net_inside(int slot, const char *tap);

/* The host's /etc/resolv.conf without loopback nameservers (which a
 * sandbox cannot reach), for a sandbox with a way out; NULL if none is
 * left. Free it. */
char *jail_net_resolv_conf(void);

#endif
