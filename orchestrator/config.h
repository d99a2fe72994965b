/* hopxd's configuration: options, the config file and their defaults
 * (main.c fills it in at start; everything else only reads it). */
#ifndef HOPXD_CONFIG_H
#define HOPXD_CONFIG_H

#include <glib.h>
#include <jansson.h>

#define HOPXD_VERSION "0.1.0"

struct config {
	char *listen_host;
	unsigned int listen_port;
	char *public_url;        /* what public_host starts with: http://host:port */
	GPtrArray *api_keys;     /* char * */
	char *state_dir;
	char *templates_dir;
	char *jail;              /* the hopx-jail binary */
	char *runtime;           /* "vm" or "namespace" */
	char *vmm, *kernel;      /* the vm runtime's hopx-vmm and guest kernel */
	char *snapshot_dir;      /* the vm runtime's template snapshots */
	json_t *prepare;         /* templates to snapshot at start (an array), or NULL: all */
	long long idle_timeout_s, max_lifetime_s, token_ttl_s;
	unsigned int max_sandboxes;
	json_t *egress_deny;     /* CIDRs sandboxes with internet access may not reach, or NULL */
};

extern struct config cfg;

#endif
