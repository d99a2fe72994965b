/* The runtimes hopxd has, in order of preference: a microVM where this host
 * can run one, else namespaces (weaker isolation, said in every listing). */
#include <stddef.h>
#include <string.h>

#include "event.h"
#include "runtime.h"

static const struct runtime *const runtimes[] = { &rt_vm, &rt_namespace };

const struct runtime *runtime_get(const char *name)
{
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		if (strcmp(name, runtimes[i]->name) == 0)
			return runtimes[i];
	return NULL;
}

const struct runtime *runtime_select(const char *name)
{
	const struct runtime *rt;
	const char *note = "";

	if (strcmp(name, "auto") == 0) {
		size_t i, last = sizeof(runtimes) / sizeof(runtimes[0]) - 1;

		for (i = 0; i < last && runtimes[i]->check(true); i++)
			note = runtimes[i]->unusable;
		rt = runtimes[i];
		log_event(LOG_INFO, "hopxd.runtime", NULL, "runtime: %s%s%s%s", rt->name, *note ? " (" : "", note,
			  *note ? ")" : "");
		return rt;
	}
	rt = runtime_get(name);
	if (!rt)
		log_event(LOG_ERROR, "hopxd.config", NULL, "--runtime %s: vm, namespace or auto", name);
	return rt;
}

const char *runtime_isolation(const char *name)
{
	const struct runtime *rt = runtime_get(name);

	return rt ? rt->isolation : rt_namespace.isolation;
}

int runtime_start_timeout_s(const char *name)
{
	const struct runtime *rt = runtime_get(name);

	return rt ? rt->start_timeout_s : rt_namespace.start_timeout_s;
}
