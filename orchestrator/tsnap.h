/* tsnap.c: the vm runtime's template snapshots: each template booted once
 * (per template, kernel, VMM and host boot) and snapshotted with its agent
 * warm, under cfg.snapshot_dir/<name>-<key>/, for sandboxes to restore. */
#ifndef HOPXD_TSNAP_H
#define HOPXD_TSNAP_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

/* T_WAITING: another hopxd holds the snapshot's lock (it is making it). */
enum tstate { T_NONE, T_BOOTING, T_READY, T_FAILED, T_WAITING };

struct vm_template {
	char *name, *dir, *state, *mem, *supervisor;
	char *inputs, *image; /* template_key's inputs; the image it was asked for */
	int mem_mib, lock_fd; /* lock_fd: dir/lock, flock()ed while we make the snapshot */
	enum tstate st;
	int pid;
	unsigned long long pid_start;
	struct relay *relay;
	gint64 deadline;
	int step; /* 0: waiting for /health, 1: warming python, 2: warming bash */
	bool asking;
};

/* The template's snapshot: ready, or being made (started here if need be). */
struct vm_template *template_get(const char *name, const char *image, int mem_mib);
/* The template NAME as it is now, or NULL: nothing asked for it yet. */
struct vm_template *template_known(const char *name);
/* Start making the snapshots of the templates named in ONLY (a JSON array;
 * anything else: all of them) in the background, and prune stale ones. */
void templates_prepare(json_t *only);
/* Each template's state: preparing, ready or failed (for /health). */
json_t *templates_status(void);

#endif
