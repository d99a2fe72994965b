/* relay.c: a Unix socket at LISTEN relayed to vsock PORT through a VMM's
 * socket VSOCK (Firecracker's hybrid vsock protocol). */
#ifndef HOPXD_RELAY_H
#define HOPXD_RELAY_H

struct relay;
struct relay *relay_start(const char *listen_path, const char *vsock_path, unsigned int port);
void relay_stop(struct relay *r);

#endif
