/* api.c: hopxd's HTTP server (the Lifecycle API, and the routing of agent
 * calls to the gateway) on cfg.listen_host:listen_port. -errno (logged). */
#ifndef HOPXD_API_H
#define HOPXD_API_H

int api_start(void);

#endif
