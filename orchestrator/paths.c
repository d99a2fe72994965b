/* The layout of a sandbox's directory (paths.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "event.h"
#include "paths.h"

const char *sandbox_dir(const char *id, const char *sub, char *buf, size_t size)
{
	snprintf(buf, size, "%s/sandboxes/%s%s%s", cfg.state_dir, id, *sub ? "/" : "", sub);
	return buf;
}

void sandbox_remove(const char *id, const char *const *subs, size_t n)
{
	char path[4096];

	for (size_t i = 0; i < n; i++) {
		sandbox_dir(id, subs[i], path, sizeof(path));
		if (remove(path) < 0 && errno != ENOENT)
			log_event(LOG_WARN, "sandbox.cleanup", id, "remove %s: %s", path, strerror(errno));
	}
}
