/* Firecracker-schema configuration (see fc_config.h). */
#include "fc_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void fc_config_init(struct fc_config *fc)
{
	memset(fc, 0, sizeof(*fc));
	hopx_vm_config_init(&fc->cfg);
	fc->keep = json_array();
	fc->root_drive = -1;
}

void fc_config_free(struct fc_config *fc)
{
	json_decref(fc->keep);
	free(fc->boot_args);
	fc->keep = NULL;
	fc->boot_args = NULL;
}

/* Every key of OBJ must be in ALLOWED (NULL-terminated). */
static int only_fields(json_t *obj, const char *where, const char *const *allowed, char *err, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return fail(err, len, "%s: expected a JSON object", where);
	json_object_foreach(obj, key, v) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok = ok || strcmp(*a, key) == 0;
		if (!ok)
			return fail(err, len, "%s: unknown field '%s'", where, key);
	}
	return 0;
}

static int get_str(json_t *obj, const char *where, const char *key, bool required, const char **out, char *err,
		   size_t len)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return fail(err, len, "%s: missing field '%s'", where, key);
		return 0;
	}
	if (!json_is_string(v) || !json_string_length(v) || strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, len, "%s: field '%s' must be a non-empty string", where, key);
	*out = json_string_value(v);
	return 0;
}

static int get_bool(json_t *obj, const char *where, const char *key, bool *out, char *err, size_t len)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(err, len, "%s: field '%s' must be true or false", where, key);
	*out = json_is_true(v);
	return 0;
}

static int get_uint(json_t *obj, const char *where, const char *key, bool required, uint64_t min, uint64_t max,
		    uint64_t *out, char *err, size_t len)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return fail(err, len, "%s: missing field '%s'", where, key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max)
		return fail(err, len, "%s: field '%s' must be an integer from %llu to %llu", where, key,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static void keep(struct fc_config *fc, json_t *body)
{
	json_array_append(fc->keep, body);
}

static int boot_source(struct fc_config *fc, json_t *b, char *err, size_t len)
{
	static const char *const f[] = { "kernel_image_path", "boot_args", "initrd_path", NULL };
	const char *k = NULL, *a = NULL, *i = NULL;
	int ret = only_fields(b, "boot-source", f, err, len);

	if (!ret)
		ret = get_str(b, "boot-source", "kernel_image_path", true, &k, err, len);
	if (!ret)
		ret = get_str(b, "boot-source", "boot_args", false, &a, err, len);
	if (!ret)
		ret = get_str(b, "boot-source", "initrd_path", false, &i, err, len);
	if (ret)
		return ret;
	keep(fc, b);
	fc->cfg.kernel_path = k;
	fc->cfg.cmdline = a;
	fc->cfg.initrd_path = i;
	return 0;
}

static int machine_config(struct fc_config *fc, json_t *b, char *err, size_t len)
{
	static const char *const f[] = { "vcpu_count", "mem_size_mib", "smt", "track_dirty_pages", "cpu_template",
					 "huge_pages", NULL };
	uint64_t vcpus = fc->cfg.vcpus, mem = fc->cfg.mem_mib;
	bool smt = false, dirty = false;
	const char *tmpl = NULL, *huge = NULL;
	int ret = only_fields(b, "machine-config", f, err, len);

	if (!ret)
		ret = get_uint(b, "machine-config", "vcpu_count", true, 1, HOPX_VCPUS_MAX, &vcpus, err, len);
	if (!ret)
		ret = get_uint(b, "machine-config", "mem_size_mib", true, HOPX_MEM_MIN_MIB, HOPX_MEM_MAX_MIB, &mem,
			       err, len);
	if (!ret)
		ret = get_bool(b, "machine-config", "smt", &smt, err, len);
	if (!ret)
		ret = get_bool(b, "machine-config", "track_dirty_pages", &dirty, err, len);
	if (!ret)
		ret = get_str(b, "machine-config", "cpu_template", false, &tmpl, err, len);
	if (!ret)
		ret = get_str(b, "machine-config", "huge_pages", false, &huge, err, len);
	if (ret)
		return ret;
	if (smt)
		return fail(err, len, "machine-config: field 'smt': true is not supported (vCPUs are single-threaded)");
	if (tmpl && strcmp(tmpl, "None") != 0)
		return fail(err, len, "machine-config: field 'cpu_template': only \"None\" is supported");
	if (huge && strcmp(huge, "None") != 0)
		return fail(err, len, "machine-config: field 'huge_pages': only \"None\" is supported");
	fc->cfg.vcpus = (uint32_t)vcpus;
	fc->cfg.mem_mib = (uint32_t)mem;
	return 0;
}

static int check_id(const char *where, const char *field, const char *body_id, const char *path_id, char *err,
		    size_t len)
{
	if (strlen(body_id) >= 64)
		return fail(err, len, "%s: field '%s' is longer than 63 characters", where, field);
	if (path_id && strcmp(path_id, body_id) != 0)
		return fail(err, len, "%s: field '%s' is '%s' but the path names '%s'", where, field, body_id, path_id);
	return 0;
}

static int drive(struct fc_config *fc, json_t *b, const char *path_id, char *err, size_t len)
{
	static const char *const f[] = { "drive_id", "path_on_host", "is_root_device", "is_read_only", "partuuid",
					 "cache_type", "io_engine", "rate_limiter", "socket", NULL };
	const char *id = NULL, *path = NULL, *cache = NULL, *engine = NULL, *partuuid = NULL;
	bool root = false, ro = false;
	unsigned int slot;
	int ret = only_fields(b, "drives", f, err, len);

	if (!ret)
		ret = get_str(b, "drives", "drive_id", true, &id, err, len);
	if (!ret)
		ret = check_id("drives", "drive_id", id, path_id, err, len);
	if (!ret)
		ret = get_str(b, "drives", "path_on_host", true, &path, err, len);
	if (!ret)
		ret = get_bool(b, "drives", "is_root_device", &root, err, len);
	if (!ret)
		ret = get_bool(b, "drives", "is_read_only", &ro, err, len);
	if (!ret)
		ret = get_str(b, "drives", "cache_type", false, &cache, err, len);
	if (!ret)
		ret = get_str(b, "drives", "io_engine", false, &engine, err, len);
	if (!ret)
		ret = get_str(b, "drives", "partuuid", false, &partuuid, err, len);
	if (ret)
		return ret;
	if (cache && strcmp(cache, "Unsafe") != 0 && strcmp(cache, "Writeback") != 0)
		return fail(err, len, "drives: field 'cache_type' must be \"Unsafe\" or \"Writeback\"");
	if (engine && strcmp(engine, "Sync") != 0 && strcmp(engine, "Async") != 0)
		return fail(err, len, "drives: field 'io_engine' must be \"Sync\" or \"Async\" (both use io_uring here)");
	if (partuuid)
		return fail(err, len, "drives: field 'partuuid' is not supported: the root drive is /dev/vda");
	if (json_object_get(b, "rate_limiter") && !json_is_null(json_object_get(b, "rate_limiter")))
		return fail(err, len, "drives: field 'rate_limiter' is not supported");
	if (json_object_get(b, "socket") && !json_is_null(json_object_get(b, "socket")))
		return fail(err, len, "drives: field 'socket' (vhost-user) is not supported");
	for (slot = 0; slot < fc->cfg.ndrives; slot++)
		if (strcmp(fc->drive_ids[slot], id) == 0)
			break; /* a PUT to an existing id replaces it */
	if (slot == HOPX_MAX_DRIVES)
		return fail(err, len, "drives: at most %d drives", HOPX_MAX_DRIVES);
	if (root && fc->root_drive >= 0 && fc->root_drive != (int)slot)
		return fail(err, len, "drives: drive '%s' is a second root device (the first is '%s')", id,
			    fc->drive_ids[fc->root_drive]);
	keep(fc, b);
	snprintf(fc->drive_ids[slot], sizeof(fc->drive_ids[slot]), "%s", id);
	fc->cfg.drives[slot] = (struct hopx_drive_config){ .path = path, .id = fc->drive_ids[slot], .read_only = ro };
	if (strlen(id) > 20)
		fc->cfg.drives[slot].id = NULL; /* get-id holds 20 bytes: the default vdN then */
	if (root)
		fc->root_drive = (int)slot;
	else if (fc->root_drive == (int)slot)
		fc->root_drive = -1;
	if (slot == fc->cfg.ndrives)
		fc->cfg.ndrives++;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return mac[0] & 1 ? -EINVAL : 0;
}

static int iface(struct fc_config *fc, json_t *b, const char *path_id, char *err, size_t len)
{
	static const char *const f[] = { "iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
					 "tx_rate_limiter", NULL };
	const char *id = NULL, *tap = NULL, *mac = NULL;
	struct hopx_net_config n = { 0 };
	unsigned int slot;
	int ret = only_fields(b, "network-interfaces", f, err, len);

	if (!ret)
		ret = get_str(b, "network-interfaces", "iface_id", true, &id, err, len);
	if (!ret)
		ret = check_id("network-interfaces", "iface_id", id, path_id, err, len);
	if (!ret)
		ret = get_str(b, "network-interfaces", "host_dev_name", true, &tap, err, len);
	if (!ret)
		ret = get_str(b, "network-interfaces", "guest_mac", false, &mac, err, len);
	if (ret)
		return ret;
	if (strlen(tap) > 15)
		return fail(err, len, "network-interfaces: field 'host_dev_name' is longer than 15 characters");
	if (mac && parse_mac(mac, n.mac))
		return fail(err, len, "network-interfaces: field 'guest_mac' must be a unicast MAC like 02:FC:00:00:00:01");
	for (const char *const *k = (const char *const[]){ "rx_rate_limiter", "tx_rate_limiter", NULL }; *k; k++)
		if (json_object_get(b, *k) && !json_is_null(json_object_get(b, *k)))
			return fail(err, len, "network-interfaces: field '%s' is not supported", *k);
	for (slot = 0; slot < fc->cfg.nnets; slot++)
		if (strcmp(fc->iface_ids[slot], id) == 0)
			break;
	if (slot == HOPX_MAX_NETS)
		return fail(err, len, "network-interfaces: at most %d interfaces", HOPX_MAX_NETS);
	keep(fc, b);
	snprintf(fc->iface_ids[slot], sizeof(fc->iface_ids[slot]), "%s", id);
	n.tap = tap;
	n.mac_set = mac != NULL;
	fc->cfg.nets[slot] = n;
	if (slot == fc->cfg.nnets)
		fc->cfg.nnets++;
	return 0;
}

static int vsock(struct fc_config *fc, json_t *b, char *err, size_t len)
{
	static const char *const f[] = { "guest_cid", "uds_path", "vsock_id", NULL };
	uint64_t cid = 0;
	const char *uds = NULL, *vid = NULL;
	int ret = only_fields(b, "vsock", f, err, len);

	if (!ret)
		ret = get_uint(b, "vsock", "guest_cid", true, 3, 0xfffffffeULL, &cid, err, len);
	if (!ret)
		ret = get_str(b, "vsock", "uds_path", true, &uds, err, len);
	if (!ret)
		ret = get_str(b, "vsock", "vsock_id", false, &vid, err, len);
	if (ret)
		return ret;
	if (strlen(uds) > 100)
		return fail(err, len, "vsock: field 'uds_path' is longer than 100 bytes");
	keep(fc, b);
	fc->cfg.vsock.cid = (uint32_t)cid;
	fc->cfg.vsock.uds_path = uds;
	return 0;
}

int fc_config_apply(struct fc_config *fc, const char *section, const char *id, json_t *body, char *err,
		    size_t errlen)
{
	if (strcmp(section, "boot-source") == 0)
		return boot_source(fc, body, err, errlen);
	if (strcmp(section, "machine-config") == 0)
		return machine_config(fc, body, err, errlen);
	if (strcmp(section, "drives") == 0)
		return drive(fc, body, id, err, errlen);
	if (strcmp(section, "network-interfaces") == 0)
		return iface(fc, body, id, err, errlen);
	if (strcmp(section, "vsock") == 0)
		return vsock(fc, body, err, errlen);
	return fail(err, errlen, "unknown section '%s'", section);
}

int fc_config_load_file(struct fc_config *fc, const char *path, char *err, size_t errlen)
{
	static const char *const f[] = { "boot-source", "machine-config", "drives", "network-interfaces", "vsock",
					 "logger", "metrics", NULL };
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	size_t i;
	int ret;

	if (!root)
		return fail(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	ret = only_fields(root, path, f, err, errlen);
	if (!ret && (v = json_object_get(root, "boot-source")))
		ret = boot_source(fc, v, err, errlen);
	if (!ret && (v = json_object_get(root, "machine-config")))
		ret = machine_config(fc, v, err, errlen);
	if (!ret && (v = json_object_get(root, "drives"))) {
		if (!json_is_array(v))
			ret = fail(err, errlen, "drives: expected an array");
		for (i = 0; !ret && i < json_array_size(v); i++)
			ret = drive(fc, json_array_get(v, i), NULL, err, errlen);
	}
	if (!ret && (v = json_object_get(root, "network-interfaces"))) {
		if (!json_is_array(v))
			ret = fail(err, errlen, "network-interfaces: expected an array");
		for (i = 0; !ret && i < json_array_size(v); i++)
			ret = iface(fc, json_array_get(v, i), NULL, err, errlen);
	}
	if (!ret && (v = json_object_get(root, "vsock")))
		ret = vsock(fc, v, err, errlen);
	if (!ret && (json_object_get(root, "logger") || json_object_get(root, "metrics")))
		fprintf(stderr, "hopx-vmm: note: %s: 'logger' and 'metrics' are ignored (logs go to stderr, metrics to "
				"GET /metrics)\n", path);
	keep(fc, root);
	json_decref(root);
	if (!ret && !fc->cfg.kernel_path)
		ret = fail(err, errlen, "%s: missing 'boot-source'", path);
	return ret;
}

int fc_config_finish(struct fc_config *fc, char *err, size_t errlen)
{
	const char *args = fc->cfg.cmdline ? fc->cfg.cmdline : HOPX_DEFAULT_CMDLINE;
	size_t n;

	if (!fc->cfg.kernel_path)
		return fail(err, errlen, "no boot source: PUT /boot-source first");
	if (fc->root_drive > 0) { /* the root drive becomes /dev/vda */
		struct hopx_drive_config d = fc->cfg.drives[fc->root_drive];
		char id[64];

		memcpy(id, fc->drive_ids[fc->root_drive], sizeof(id));
		memmove(&fc->cfg.drives[1], &fc->cfg.drives[0], (size_t)fc->root_drive * sizeof(d));
		memmove(fc->drive_ids[1], fc->drive_ids[0], (size_t)fc->root_drive * sizeof(id));
		fc->cfg.drives[0] = d;
		memcpy(fc->drive_ids[0], id, sizeof(id));
		for (unsigned int i = 0; i < fc->cfg.ndrives; i++)
			if (fc->cfg.drives[i].id)
				fc->cfg.drives[i].id = fc->drive_ids[i];
		fc->root_drive = 0;
	}
	if (fc->root_drive == 0) {
		n = strlen(args) + 32;
		free(fc->boot_args);
		fc->boot_args = malloc(n);
		if (!fc->boot_args)
			return -ENOMEM;
		snprintf(fc->boot_args, n, "%s root=/dev/vda %s", args, fc->cfg.drives[0].read_only ? "ro" : "rw");
		fc->cfg.cmdline = fc->boot_args;
	}
	return 0;
}
