/* hopxd: the sandbox service.
 *
 *   hopxd --listen HOST:PORT --api-key KEY [--api-key KEY ...] [--runtime auto|namespace|vm]
 *         [--state-dir DIR] [--templates-dir DIR] [--config FILE]
 *
 * The config file (JSON) may set every option and the rest: listen,
 * api_keys, runtime, state_dir, templates_dir, jail, vmm, kernel, snapshot_dir, public_url,
 * idle_timeout_seconds (3600), max_lifetime_seconds (86400),
 * token_ttl_seconds (86400), max_sandboxes (64). Options override it.
 * HOPXD_API_KEY adds a key from the environment. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "api.h"
#include "cgroup.h"
#include "config.h"
#include "egress.h"
#include "event.h"
#include "registry.h"
#include "runtime.h"
#include "sandbox.h"

struct config cfg;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hopxd --listen HOST:PORT --api-key KEY [--api-key KEY ...] [--runtime auto|namespace|vm]\n"
		"             [--state-dir DIR] [--templates-dir DIR] [--config FILE] [--public-url URL]\n"
		"Serves HopX's Lifecycle API and each sandbox's Agent API (through /sandbox/ID/...).\n"
		"Keys: --api-key, the config file's api_keys, or $HOPXD_API_KEY. The config file (JSON)\n"
		"also takes idle_timeout_seconds, max_lifetime_seconds, token_ttl_seconds, max_sandboxes, jail,\n"
		"vmm, kernel, snapshot_dir and prepare_templates (the vm runtime's hopx-vmm, guest vmlinux,\n"
		"template snapshots, and the templates to snapshot at start: default all). --runtime auto: vm where\n"
		"/dev/kvm, hopx-vmm and the kernel are usable, else namespace.\n");
}

static char *dir_of_self(void)
{
	char *self = g_file_read_link("/proc/self/exe", NULL);
	char *dir = self ? g_path_get_dirname(self) : g_strdup(".");

	g_free(self);
	return dir;
}

static int set_listen(const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *end;
	unsigned long port;

	if (!colon)
		goto bad;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		goto bad;
	g_free(cfg.listen_host);
	cfg.listen_host = g_strndup(spec, (gsize)(colon - spec));
	cfg.listen_port = (unsigned int)port;
	return 0;
bad:
	log_event(LOG_ERROR, "hopxd.config", NULL, "--listen %s: HOST:PORT, e.g. 127.0.0.1:8080", spec);
	return -EINVAL;
}

static int add_key(const char *key)
{
	if (strlen(key) < 8) {
		log_event(LOG_ERROR, "hopxd.config", NULL, "an API key needs at least 8 characters");
		return -EINVAL;
	}
	g_ptr_array_add(cfg.api_keys, g_strdup(key));
	return 0;
}

static void set_str(char **dst, json_t *v)
{
	if (json_is_string(v)) {
		g_free(*dst);
		*dst = g_strdup(json_string_value(v));
	}
}

static int load_config(const char *path)
{
	json_error_t je;
	json_t *c = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	size_t i;

	if (!json_is_object(c)) {
		log_event(LOG_ERROR, "hopxd.config", NULL, "--config %s: line %d: %s", path, je.line,
			  c ? "not a JSON object" : je.text);
		json_decref(c);
		return -EINVAL;
	}
	if (json_is_string(json_object_get(c, "listen")) && set_listen(json_string_value(json_object_get(c, "listen")))) {
		json_decref(c);
		return -EINVAL;
	}
	json_array_foreach(json_object_get(c, "api_keys"), i, v)
		if (!json_is_string(v) || add_key(json_string_value(v))) {
			json_decref(c);
			return -EINVAL;
		}
	set_str(&cfg.runtime, json_object_get(c, "runtime"));
	set_str(&cfg.state_dir, json_object_get(c, "state_dir"));
	set_str(&cfg.templates_dir, json_object_get(c, "templates_dir"));
	set_str(&cfg.jail, json_object_get(c, "jail"));
	set_str(&cfg.vmm, json_object_get(c, "vmm"));
	set_str(&cfg.kernel, json_object_get(c, "kernel"));
	set_str(&cfg.snapshot_dir, json_object_get(c, "snapshot_dir"));
	if (json_is_array(json_object_get(c, "egress_deny")))
		cfg.egress_deny = json_incref(json_object_get(c, "egress_deny"));
	if (json_is_array(json_object_get(c, "prepare_templates")))
		cfg.prepare = json_incref(json_object_get(c, "prepare_templates"));
	set_str(&cfg.public_url, json_object_get(c, "public_url"));
	if (json_is_integer(v = json_object_get(c, "idle_timeout_seconds")))
		cfg.idle_timeout_s = json_integer_value(v);
	if (json_is_integer(v = json_object_get(c, "max_lifetime_seconds")))
		cfg.max_lifetime_s = json_integer_value(v);
	if (json_is_integer(v = json_object_get(c, "token_ttl_seconds")))
		cfg.token_ttl_s = json_integer_value(v);
	if (json_is_integer(v = json_object_get(c, "max_sandboxes")))
		cfg.max_sandboxes = (unsigned int)json_integer_value(v);
	json_decref(c);
	return 0;
}

static void cgroup_log(const char *msg)
{
	log_event(LOG_WARN, "cgroup", NULL, "cgroup: %s", msg);
}

static gboolean sweep(gpointer data)
{
	(void)data;
	sandbox_sweep();
	return G_SOURCE_CONTINUE;
}

static gboolean quit(gpointer loop)
{
	/* Sandboxes keep running: a restarted hopxd adopts them (sandbox_recover). */
	log_event(LOG_INFO, "hopxd.stopping", NULL, "stopping; sandboxes stay up for the next start");
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },        { "api-key", required_argument, NULL, 'k' },
		{ "runtime", required_argument, NULL, 'r' },       { "state-dir", required_argument, NULL, 's' },
		{ "templates-dir", required_argument, NULL, 't' }, { "config", required_argument, NULL, 'c' },
		{ "public-url", required_argument, NULL, 'p' },    { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *self = dir_of_self(), *db;
	const char *env_key = getenv("HOPXD_API_KEY");
	const struct runtime *rt;
	GMainLoop *loop;
	int c;

	cg_set_log(cgroup_log);
	cfg.api_keys = g_ptr_array_new_with_free_func(g_free);
	cfg.listen_host = g_strdup("127.0.0.1");
	cfg.listen_port = 8080;
	cfg.runtime = g_strdup("auto");
	cfg.state_dir = g_strdup("/var/lib/hopxd");
	cfg.templates_dir = g_build_filename(self, "templates", NULL);
	cfg.jail = g_build_filename(self, "hopx-jail", NULL);
	cfg.vmm = g_build_filename(self, "hopx-vmm", NULL);
	cfg.kernel = g_build_filename(self, "guest", "vmlinux", NULL);
	cfg.idle_timeout_s = 3600;
	cfg.max_lifetime_s = 86400;
	cfg.token_ttl_s = 86400;
	cfg.max_sandboxes = 64;
	g_free(self);
	/* The config file first, so that options override it. */
	for (int i = 1; i < argc - 1; i++)
		if (strcmp(argv[i], "--config") == 0 && load_config(argv[i + 1]))
			return 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (set_listen(optarg))
				return 2;
			break;
		case 'k':
			if (add_key(optarg))
				return 2;
			break;
		case 'r': g_free(cfg.runtime); cfg.runtime = g_strdup(optarg); break;
		case 's': g_free(cfg.state_dir); cfg.state_dir = g_strdup(optarg); break;
		case 't': g_free(cfg.templates_dir); cfg.templates_dir = g_strdup(optarg); break;
		case 'p': g_free(cfg.public_url); cfg.public_url = g_strdup(optarg); break;
		case 'c': break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (env_key && add_key(env_key))
		return 2;
	if (optind < argc || cfg.api_keys->len == 0) {
		if (cfg.api_keys->len == 0)
			log_event(LOG_ERROR, "hopxd.config", NULL,
				  "no API key: pass --api-key KEY (or HOPXD_API_KEY, or api_keys in --config)");
		usage(stderr);
		return 2;
	}
	rt = runtime_select(cfg.runtime);
	if (!rt || rt->check(false))
		return 2;
	g_free(cfg.runtime);
	cfg.runtime = g_strdup(rt->name);
	if (!cfg.public_url)
		cfg.public_url = g_strdup_printf("http://%s:%u",
						 strcmp(cfg.listen_host, "0.0.0.0") == 0 ? "127.0.0.1" : cfg.listen_host,
						 cfg.listen_port);
	if (g_mkdir_with_parents(cfg.state_dir, 0700) < 0) {
		log_event(LOG_ERROR, "hopxd.config", NULL, "--state-dir %s: %s", cfg.state_dir, strerror(errno));
		return 1;
	}
	if (!cfg.snapshot_dir)
		cfg.snapshot_dir = g_build_filename(cfg.state_dir, "templates", NULL);
	db = g_build_filename(cfg.state_dir, "hopxd.db", NULL);
	if (registry_open(db))
		return 1;
	g_free(db);
	signal(SIGPIPE, SIG_IGN);
	egress_setup(cfg.egress_deny);
	sandbox_recover();
	if (api_start())
		return 1;
	if (rt->prepare)
		rt->prepare(cfg.prepare);
	loop = g_main_loop_new(NULL, FALSE);
	g_timeout_add_seconds(1, sweep, NULL);
	g_unix_signal_add(SIGTERM, quit, loop);
	g_unix_signal_add(SIGINT, quit, loop);
	log_event(LOG_INFO, "hopxd.started", NULL, "hopxd %s: listening on %s:%u (runtime %s, templates %s, state %s)",
		  HOPXD_VERSION, cfg.listen_host, cfg.listen_port, cfg.runtime, cfg.templates_dir, cfg.state_dir);
	g_main_loop_run(loop);
	return 0;
}
