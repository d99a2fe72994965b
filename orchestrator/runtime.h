/* The sandbox runtimes behind one interface (rt_namespace.c, rt_vm.c) and
 * their selection (runtime.c). Everything a caller needs to know about a
 * runtime is here, so none asks for one by name.
 *
 * start may answer -EAGAIN: not yet (a template still being prepared), ask
 * again. resume starts the sandbox again; the caller waits for its agent.
 * adopt (may be NULL) takes back a live sandbox after a hopxd restart. */
#ifndef HOPXD_RUNTIME_H
#define HOPXD_RUNTIME_H

#include <stdbool.h>
#include <jansson.h>

#include "registry.h"

struct runtime {
	const char *name;
	const char *isolation;   /* what listings say of its sandboxes */
	int start_timeout_s;     /* how long a create or resume waits for the agent */
	const char *unusable;    /* why "auto" passed it over, when check() fails */
	/* Can this host run it? 0, or -errno and (unless QUIET) a logged reason. */
	int (*check)(bool quiet);
	/* At start, in the background (may be NULL): prepare the templates named
	 * in ONLY (a JSON array; anything else: all of them). */
	void (*prepare)(json_t *only);
	/* The state of that preparation per template, for /health (may be NULL). */
	json_t *(*prepared)(void);
	int (*start)(struct sandbox *s, const char *image, json_t *template_manifest);
	int (*pause)(struct sandbox *s);
	int (*resume)(struct sandbox *s);
	int (*stop)(struct sandbox *s);     /* kill and free everything */
	bool (*alive)(const struct sandbox *s);
	int (*adopt)(struct sandbox *s);
};

extern const struct runtime rt_namespace, rt_vm;

/* The runtime called NAME, or NULL. */
const struct runtime *runtime_get(const char *name);
/* NAME, or for "auto" the first this host can run in order of preference
 * (logged); NULL (logged) for an unknown name. */
const struct runtime *runtime_select(const char *name);
/* What sandbox listings say of runtime NAME's isolation. */
const char *runtime_isolation(const char *name);
/* How long a create or resume on runtime NAME waits for the agent. */
int runtime_start_timeout_s(const char *name);

#endif
