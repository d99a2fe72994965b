/* hopx-vmm's control API: HTTP/1.1 + JSON on a Unix socket (libmicrohttpd,
 * jansson), with Firecracker's endpoint names and bodies for what we share
 * with it, so `curl --unix-socket` and Firecracker tooling can drive us:
 *
 *   GET  /                 instance info and state
 *   GET  /machine-config   vCPUs and memory
 *   PUT  /boot-source, /machine-config, /drives/{id},
 *        /network-interfaces/{id}, /vsock           (before the VM starts)
 *   PUT  /actions          {"action_type": "InstanceStart" | "SendCtrlAltDel" | "FlushMetrics"}
 *   PATCH /vm              {"state": "Paused" | "Resumed"}
 *   PUT  /snapshot/create  {"snapshot_type": "Full", "snapshot_path", "mem_file_path"}
 *   PUT  /snapshot/load    {"snapshot_path", "mem_backend": {"backend_type": "File",
 *                           "backend_path"}, "resume_vm", "network_overrides",
 *                           "vsock_override", "drive_overrides"}  (before the VM starts)
 *   GET  /metrics          counters
 *
 * Errors are 4xx with {"fault_message": "..."} naming the field or state. */
#ifndef HOPX_API_H
#define HOPX_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../include/hopx/vmm.h"
#include "fc_config.h"

struct MHD_Daemon;

struct api {
	struct MHD_Daemon *daemon;
	int listen_fd;
	char *path;
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* vm set, or closing */
	struct hopx_vm *vm;       /* NULL until InstanceStart or a snapshot load */
	bool closing;
	struct fc_config fc;      /* pre-boot configuration */
	enum hopx_console console;
	const char *console_path;
	uint64_t t0_ns;
	uint64_t requests, failed_requests;
};

/* Serve on a new Unix socket at PATH (a stale socket there is replaced).
 * VM may be NULL: the API then configures or restores one. */
int api_start(struct api *a, const char *path, struct hopx_vm *vm, enum hopx_console console,
	      const char *console_path, uint64_t t0_ns);
/* Block until the API has created a VM (NULL if the API is closing). */
struct hopx_vm *api_wait_vm(struct api *a);
/* Make api_wait_vm return NULL (a signal while no VM exists yet). */
void api_stop_waiting(struct api *a);
/* Stop serving (the VM is the caller's to destroy); removes the socket.
 * Safe on an API that never started. */
void api_stop(struct api *a);

#endif
