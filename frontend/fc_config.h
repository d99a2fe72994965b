/* Firecracker's configuration schema, as JSON (jansson), into a
 * hopx_vm_config: the whole --config-file, or one pre-boot API body at a
 * time (PUT /boot-source, /machine-config, /drives/{id},
 * /network-interfaces/{id}, /vsock). Unknown fields and bad values are
 * refused with a message naming the field. Strings in the config point into
 * the parsed JSON, which the fc_config owns. */
#ifndef HOPX_FC_CONFIG_H
#define HOPX_FC_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "../include/hopx/vmm.h"

struct fc_config {
	struct hopx_vm_config cfg;
	json_t *keep;                 /* every parsed body, kept for the strings */
	char drive_ids[HOPX_MAX_DRIVES][64];
	char iface_ids[HOPX_MAX_NETS][64];
	int root_drive;               /* index of the is_root_device drive, or -1 */
	char *boot_args;              /* with root=/dev/vda added for a root drive */
};

void fc_config_init(struct fc_config *fc);
void fc_config_free(struct fc_config *fc);

/* The whole config file at PATH. 0, or -EINVAL with ERR filled. */
int fc_config_load_file(struct fc_config *fc, const char *path, char *err, size_t errlen);

/* One section: SECTION is "boot-source", "machine-config", "drives",
 * "network-interfaces" or "vsock"; ID the path's {id} for drives and
 * interfaces (checked against the body's), else NULL. */
int fc_config_apply(struct fc_config *fc, const char *section, const char *id, json_t *body, char *err,
		    size_t errlen);

/* The final config: the root drive first, and its root= on the command line. */
int fc_config_finish(struct fc_config *fc, char *err, size_t errlen);

#endif
