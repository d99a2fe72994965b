/* Shared by hopxd's unit tests: they link hopxd's objects (all but
 * main.o), so they define the configuration main.c would fill in, and a
 * temporary state directory with a fresh registry. */
#ifndef HOPXD_TEST_H
#define HOPXD_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <glib.h>

#include "../../orchestrator/config.h"
#include "../../orchestrator/registry.h"

struct config cfg;

static char *test_dir;

/* A state directory with hopxd.db, and the defaults main.c sets. */
static inline int hopxd_setup(void **state)
{
	char *db;

	(void)state;
	test_dir = g_dir_make_tmp("hopxd-test-XXXXXX", NULL);
	if (!test_dir)
		return -1;
	cfg.state_dir = test_dir;
	cfg.templates_dir = g_build_filename(test_dir, "templates", NULL);
	cfg.public_url = "http://127.0.0.1:8080";
	cfg.api_keys = g_ptr_array_new();
	cfg.idle_timeout_s = 3600;
	cfg.max_lifetime_s = 86400;
	cfg.token_ttl_s = 86400;
	cfg.max_sandboxes = 64;
	cfg.runtime = "namespace";
	db = g_build_filename(test_dir, "hopxd.db", NULL);
	if (registry_open(db)) {
		g_free(db);
		return -1;
	}
	g_free(db);
	return 0;
}

static inline int hopxd_teardown(void **state)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", test_dir);

	(void)state;
	registry_close();
	g_ptr_array_free(cfg.api_keys, TRUE);
	g_free(cfg.templates_dir);
	if (system(cmd) != 0)
		return -1;
	g_free(cmd);
	g_free(test_dir);
	return 0;
}

/* A sandbox record as a create makes it. */
static inline void sample_sandbox(struct sandbox *s, const char *id, const char *status)
{
	*s = (struct sandbox){ .created_at = 1000, .expires_at = 2000, .last_active = 1500, .timeout_s = 600,
			       .keeper_pid = 4242, .keeper_start = 123456789ull, .vcpu = 2, .memory_mb = 512,
			       .disk_mb = 2048, .internet = true };
	g_strlcpy(s->id, id, sizeof(s->id));
	g_strlcpy(s->template_name, "code-interpreter", sizeof(s->template_name));
	g_strlcpy(s->status, status, sizeof(s->status));
	g_strlcpy(s->runtime, "namespace", sizeof(s->runtime));
	g_strlcpy(s->supervisor, "hopx_sv_0123456789abcdef", sizeof(s->supervisor));
}

#endif
