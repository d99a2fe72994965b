/* The control API (see api.h): libmicrohttpd serves the Unix socket on its
 * own thread; each request's body is collected (at most API_MAX_BODY bytes),
 * parsed with jansson and dispatched under the API lock. */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "../lib/log.h"

#define API_MAX_BODY (64 * 1024)
#define VMM_VERSION "0.3.0"

struct request {
	char *body;
	size_t len;
	bool too_big;
};

struct reply {
	unsigned int status;
	json_t *json; /* NULL: no body (204) */
};

static struct reply ok_empty(void)
{
	return (struct reply){ MHD_HTTP_NO_CONTENT, NULL };
}

static struct reply fault(unsigned int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static struct reply fault(unsigned int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return (struct reply){ status, json_pack("{s:s}", "fault_message", msg) };
}

static const char *state_name(struct api *a)
{
	if (!a->vm)
		return "Not started";
	return hopx_vm_is_paused(a->vm) ? "Paused" : "Running";
}

static struct reply get_root(struct api *a)
{
	char id[32];

	snprintf(id, sizeof(id), "hopx-%d", (int)getpid());
	return (struct reply){ MHD_HTTP_OK, json_pack("{s:s,s:s,s:s,s:s}", "id", id, "state", state_name(a),
						      "vmm_version", VMM_VERSION, "app_name", "hopx-vmm") };
}

static struct reply get_machine_config(struct api *a)
{
	struct hopx_vm_metrics m;
	uint32_t vcpus = a->fc.cfg.vcpus, mem_mib = a->fc.cfg.mem_mib;

	if (a->vm && hopx_vm_metrics(a->vm, &m) == 0) {
		vcpus = m.vcpus;
		mem_mib = m.mem_mib;
	}
	return (struct reply){ MHD_HTTP_OK, json_pack("{s:i,s:i,s:b,s:b}", "vcpu_count", (json_int_t)vcpus,
						      "mem_size_mib", (json_int_t)mem_mib, "smt", 0,
						      "track_dirty_pages", 0) };
}

static struct reply get_metrics(struct api *a)
{
	json_t *out = json_pack("{s:{s:I,s:I}}", "api", "requests", (json_int_t)a->requests, "failed_requests",
				(json_int_t)a->failed_requests);
	struct hopx_vm_metrics m;

	if (a->vm && hopx_vm_metrics(a->vm, &m) == 0) {
		json_t *blk = json_array(), *net = json_array();

		json_object_set_new(out, "vm", json_pack("{s:s,s:I,s:I,s:I}", "state", state_name(a), "vcpu_exits",
							 (json_int_t)m.vcpu_exits, "pauses", (json_int_t)m.pauses,
							 "kvm_exits", (json_int_t)m.kvm_exits));
		for (unsigned int i = 0; i < m.nblks; i++)
			json_array_append_new(blk, json_pack("{s:s,s:I,s:I,s:I,s:I}", "path", m.blk[i].path, "reads",
							     (json_int_t)m.blk[i].reads, "writes",
							     (json_int_t)m.blk[i].writes, "flushes",
							     (json_int_t)m.blk[i].flushes, "errors",
							     (json_int_t)m.blk[i].errors));
		for (unsigned int i = 0; i < m.nnets; i++)
			json_array_append_new(net, json_pack("{s:s,s:I,s:I,s:I,s:I}", "tap", m.net[i].tap, "rx_frames",
							     (json_int_t)m.net[i].rx_frames, "tx_frames",
							     (json_int_t)m.net[i].tx_frames, "rx_dropped",
							     (json_int_t)m.net[i].rx_dropped, "tx_errors",
							     (json_int_t)m.net[i].tx_errors));
		if (m.fixups) {
			json_t *fx = json_object();

			for (unsigned int i = 0; i < m.nfixup_kinds; i++)
				if (m.fixup[i].count)
					json_object_set_new(fx, m.fixup[i].name, json_integer((json_int_t)m.fixup[i].count));
			json_object_set_new(out, "pvm_fixups", json_pack("{s:I,s:f,s:o}", "total", (json_int_t)m.fixups,
									 "per_second", m.fixups_per_second, "by_kind", fx));
		}
		json_object_set_new(out, "block", blk);
		json_object_set_new(out, "net", net);
		if (m.has_vsock)
			json_object_set_new(out, "vsock", json_pack("{s:I,s:I,s:I,s:I}", "streams",
								    (json_int_t)m.vsock.streams, "rx_bytes",
								    (json_int_t)m.vsock.rx_bytes, "tx_bytes",
								    (json_int_t)m.vsock.tx_bytes, "resets_sent",
								    (json_int_t)m.vsock.resets_sent));
	}
	return (struct reply){ MHD_HTTP_OK, out };
}

/* Every key of OBJ in ALLOWED? */
static const char *unknown_field(json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;

		for (const char *const *p = allowed; *p; p++)
			ok = ok || strcmp(*p, key) == 0;
		if (!ok)
			return key;
	}
	return NULL;
}

static struct reply set_vm(struct api *a, json_t *b)
{
	static const char *const f[] = { "state", NULL };
	const char *bad = unknown_field(b, f), *st = json_string_value(json_object_get(b, "state"));
	int ret;

	if (bad)
		return fault(400, "unknown field '%s'", bad);
	if (!st || (strcmp(st, "Paused") != 0 && strcmp(st, "Resumed") != 0))
		return fault(400, "field 'state' must be \"Paused\" or \"Resumed\"");
	if (!a->vm)
		return fault(400, "the microVM is not started");
	ret = strcmp(st, "Paused") == 0 ? hopx_vm_pause(a->vm) : hopx_vm_resume(a->vm);
	if (ret)
		return fault(400, "could not %s the microVM: %s", st[0] == 'P' ? "pause" : "resume", strerror(-ret));
	return ok_empty();
}

static struct reply snapshot_create(struct api *a, json_t *b)
{
	static const char *const f[] = { "snapshot_type", "snapshot_path", "mem_file_path", "version", NULL };
	const char *bad = unknown_field(b, f), *type = json_string_value(json_object_get(b, "snapshot_type"));
	const char *sp = json_string_value(json_object_get(b, "snapshot_path"));
	const char *mp = json_string_value(json_object_get(b, "mem_file_path"));
	int ret;

	if (bad)
		return fault(400, "unknown field '%s'", bad);
	if (json_object_get(b, "snapshot_type") && (!type || strcmp(type, "Full") != 0))
		return fault(400, "field 'snapshot_type': only \"Full\" snapshots are supported");
	if (!sp || !*sp)
		return fault(400, "field 'snapshot_path' must be a file path");
	if (!mp || !*mp)
		return fault(400, "field 'mem_file_path' must be a file path");
	if (!a->vm)
		return fault(400, "the microVM is not started");
	if (!hopx_vm_is_paused(a->vm))
		return fault(400, "the microVM must be paused first: PATCH /vm {\"state\": \"Paused\"}");
	ret = hopx_vm_snapshot(a->vm, sp, mp, NULL);
	if (ret)
		return fault(400, "snapshot failed: %s", hopx_last_error()[0] ? hopx_last_error() : strerror(-ret));
	return ok_empty();
}

/* Firecracker-style overrides: [{"iface_id", "host_dev_name"}], ours for
 * drives [{"drive_id", "path_on_host"}] and vsock {"uds_path"}. */
static struct reply load_overrides(json_t *b, struct hopx_restore_config *rc)
{
	json_t *arr = json_object_get(b, "network_overrides"), *v;
	size_t i;

	if (arr && !json_is_array(arr))
		return fault(400, "field 'network_overrides' must be an array");
	json_array_foreach(arr, i, v) {
		const char *id = json_string_value(json_object_get(v, "iface_id"));
		const char *tap = json_string_value(json_object_get(v, "host_dev_name"));
		unsigned int idx;

		if (!id || !tap || sscanf(id, "%u", &idx) != 1 || idx >= HOPX_MAX_NETS)
			return fault(400, "network_overrides[%zu]: needs 'iface_id' (the interface's index, 0..%d) "
					  "and 'host_dev_name'", i, HOPX_MAX_NETS - 1);
		rc->tap[idx] = tap;
	}
	arr = json_object_get(b, "drive_overrides");
	if (arr && !json_is_array(arr))
		return fault(400, "field 'drive_overrides' must be an array");
	json_array_foreach(arr, i, v) {
		const char *id = json_string_value(json_object_get(v, "drive_id"));
		const char *path = json_string_value(json_object_get(v, "path_on_host"));
		unsigned int idx;

		if (!id || !path || sscanf(id, "%u", &idx) != 1 || idx >= HOPX_MAX_DRIVES)
			return fault(400, "drive_overrides[%zu]: needs 'drive_id' (the drive's index, 0..%d) and "
					  "'path_on_host'", i, HOPX_MAX_DRIVES - 1);
		rc->drive_path[idx] = path;
	}
	v = json_object_get(b, "vsock_override");
	if (v) {
		rc->vsock_uds_path = json_string_value(json_object_get(v, "uds_path"));
		if (!rc->vsock_uds_path)
			return fault(400, "field 'vsock_override' needs 'uds_path'");
	}
	return (struct reply){ 0, NULL };
}

static struct reply snapshot_load(struct api *a, json_t *b)
{
	static const char *const f[] = { "snapshot_path", "mem_backend", "mem_file_path", "enable_diff_snapshots",
					 "resume_vm", "network_overrides", "drive_overrides", "vsock_override", NULL };
	static const char *const fb[] = { "backend_type", "backend_path", NULL };
	struct hopx_restore_config rc;
	json_t *mb = json_object_get(b, "mem_backend");
	const char *bad = unknown_field(b, f);
	struct hopx_vm *vm;
	struct reply r;
	int ret;

	if (bad)
		return fault(400, "unknown field '%s'", bad);
	if (a->vm)
		return fault(400, "a snapshot can only be loaded before the microVM starts");
	hopx_restore_config_init(&rc);
	rc.console = a->console;
	rc.console_path = a->console_path;
	rc.t0_ns = a->t0_ns;
	rc.state_path = json_string_value(json_object_get(b, "snapshot_path"));
	if (!rc.state_path)
		return fault(400, "field 'snapshot_path' must be a file path");
	if (mb) {
		const char *type = json_string_value(json_object_get(mb, "backend_type"));

		if (!json_is_object(mb) || (bad = unknown_field(mb, fb)))
			return fault(400, "mem_backend: unknown field '%s'", bad ? bad : "?");
		if (!type || strcmp(type, "File") != 0)
			return fault(400, "mem_backend: field 'backend_type' must be \"File\" (no Uffd)");
		rc.mem_path = json_string_value(json_object_get(mb, "backend_path"));
	} else {
		rc.mem_path = json_string_value(json_object_get(b, "mem_file_path"));
	}
	if (!rc.mem_path)
		return fault(400, "field 'mem_backend.backend_path' must be a file path");
	if (json_is_true(json_object_get(b, "enable_diff_snapshots")))
		return fault(400, "field 'enable_diff_snapshots': diff snapshots are not supported");
	r = load_overrides(b, &rc);
	if (r.status)
		return r;
	ret = hopx_vm_restore(&rc, &vm);
	if (ret)
		return fault(400, "cannot load the snapshot: %s", hopx_last_error()[0] ? hopx_last_error() : strerror(-ret));
	ret = json_is_true(json_object_get(b, "resume_vm")) ? hopx_vm_start(vm) : hopx_vm_start_paused(vm);
	if (ret) {
		hopx_vm_destroy(vm);
		return fault(400, "cannot start the restored microVM: %s", strerror(-ret));
	}
	a->vm = vm;
	pthread_cond_broadcast(&a->cond);
	return ok_empty();
}

static struct reply action(struct api *a, json_t *b)
{
	static const char *const f[] = { "action_type", NULL };
	const char *bad = unknown_field(b, f), *t = json_string_value(json_object_get(b, "action_type"));
	char err[256];
	struct hopx_vm *vm;
	int ret;

	if (bad)
		return fault(400, "unknown field '%s'", bad);
	if (!t)
		return fault(400, "field 'action_type' must be \"InstanceStart\", \"SendCtrlAltDel\" or \"FlushMetrics\"");
	if (strcmp(t, "FlushMetrics") == 0)
		return ok_empty();
	if (strcmp(t, "SendCtrlAltDel") == 0)
		return fault(400, "SendCtrlAltDel needs a PS/2 keyboard, which hopx-vmm does not emulate; stop the "
				  "guest from inside, or stop the VMM with SIGTERM");
	if (strcmp(t, "InstanceStart") != 0)
		return fault(400, "field 'action_type': unknown action '%s'", t);
	if (a->vm)
		return fault(400, "the microVM is already started");
	ret = fc_config_finish(&a->fc, err, sizeof(err));
	if (ret)
		return fault(400, "%s", err);
	a->fc.cfg.console = a->console;
	a->fc.cfg.console_path = a->console_path;
	a->fc.cfg.t0_ns = a->t0_ns;
	ret = hopx_vm_create(&a->fc.cfg, &vm);
	if (!ret) {
		ret = hopx_vm_start(vm);
		if (ret)
			hopx_vm_destroy(vm);
	}
	if (ret)
		return fault(400, "cannot start the microVM: %s", hopx_last_error()[0] ? hopx_last_error() : strerror(-ret));
	a->vm = vm;
	pthread_cond_broadcast(&a->cond);
	return ok_empty();
}

static struct reply preboot(struct api *a, const char *section, const char *id, json_t *b)
{
	char err[256];

	if (a->vm)
		return fault(400, "the microVM is started: %s can only be set before InstanceStart", section);
	if (fc_config_apply(&a->fc, section, id, b, err, sizeof(err)))
		return fault(400, "%s", err);
	return ok_empty();
}

static struct reply route(struct api *a, const char *method, const char *url, json_t *b)
{
	bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0, patch = strcmp(method, "PATCH") == 0;
	static const char *const sections[] = { "boot-source", "machine-config", "drives", "network-interfaces",
						"vsock", NULL };

	if (strcmp(url, "/") == 0 && get)
		return get_root(a);
	if (strcmp(url, "/machine-config") == 0 && get)
		return get_machine_config(a);
	if (strcmp(url, "/metrics") == 0 && get)
		return get_metrics(a);
	if ((put || patch) && !b)
		return fault(400, "the request needs a JSON object body");
	if (strcmp(url, "/vm") == 0 && patch)
		return set_vm(a, b);
	if (strcmp(url, "/actions") == 0 && put)
		return action(a, b);
	if (strcmp(url, "/snapshot/create") == 0 && put)
		return snapshot_create(a, b);
	if (strcmp(url, "/snapshot/load") == 0 && put)
		return snapshot_load(a, b);
	for (const char *const *s = sections; *s; s++) {
		size_t n = strlen(*s);

		if (strncmp(url + 1, *s, n) != 0 || (url[n + 1] != '\0' && url[n + 1] != '/'))
			continue;
		if (!put)
			return fault(405, "%s %s is not supported (use PUT)", method, url);
		if ((strcmp(*s, "drives") == 0 || strcmp(*s, "network-interfaces") == 0) &&
		    (url[n + 1] != '/' || !url[n + 2] || strchr(url + n + 2, '/')))
			return fault(400, "PUT /%s/{id}: the id is missing from the path", *s);
		if (url[n + 1] == '/' && strcmp(*s, "drives") != 0 && strcmp(*s, "network-interfaces") != 0)
			return fault(404, "no such resource: %s", url);
		return preboot(a, *s, url[n + 1] == '/' ? url + n + 2 : NULL, b);
	}
	return fault(404, "no such resource: %s %s", method, url);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct reply r)
{
	char *text = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
	struct MHD_Response *resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : "",
								    text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (text)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(c, r.status, resp);
	MHD_destroy_response(resp);
	json_decref(r.json);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct api *a = cls;
	struct request *req = *con_cls;
	struct reply r;
	json_t *body = NULL;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*data_size) {
		if (req->len + *data_size > API_MAX_BODY) {
			req->too_big = true;
		} else {
			char *nb = realloc(req->body, req->len + *data_size + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + req->len, data, *data_size);
			req->body = nb;
			req->len += *data_size;
			req->body[req->len] = '\0';
		}
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&a->lock);
	a->requests++;
	if (req->too_big) {
		r = fault(413, "request body larger than %d bytes", API_MAX_BODY);
	} else if (req->len) {
		json_error_t je;

		body = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &je);
		if (!body)
			r = fault(400, "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
		else if (!json_is_object(body))
			r = fault(400, "the body must be a JSON object");
		else
			r = route(a, method, url, body);
	} else {
		r = route(a, method, url, NULL);
	}
	if (r.status >= 400) {
		a->failed_requests++;
		pr_info("API %s %s: %u", method, url, r.status);
	}
	pthread_mutex_unlock(&a->lock);
	json_decref(body);
	return send_reply(c, r);
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct request *req = *con_cls;

	(void)cls;
	(void)c;
	(void)t;
	if (req) {
		free(req->body);
		free(req);
	}
	*con_cls = NULL;
}

int api_start(struct api *a, const char *path, struct hopx_vm *vm, enum hopx_console console,
	      const char *console_path, uint64_t t0_ns)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int ret;

	memset(a, 0, sizeof(*a));
	a->listen_fd = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	fc_config_init(&a->fc);
	a->vm = vm;
	a->console = console;
	a->console_path = console_path;
	a->t0_ns = t0_ns;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("--api-sock %s: longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("--api-sock %s: exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path);
	}
	a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (a->listen_fd < 0 || bind(a->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(a->listen_fd, 16) < 0) {
		ret = -errno;
		pr_err("API socket %s: %s", path, strerror(errno));
		return ret;
	}
	a->path = strdup(path);
	a->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, a,
				     MHD_OPTION_LISTEN_SOCKET, a->listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
				     request_done, a, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
				     MHD_OPTION_END);
	if (!a->daemon || !a->path) {
		pr_err("API socket %s: could not start the HTTP server", path);
		return -EIO;
	}
	return 0;
}

struct hopx_vm *api_wait_vm(struct api *a)
{
	struct hopx_vm *vm;

	pthread_mutex_lock(&a->lock);
	while (!a->vm && !a->closing)
		pthread_cond_wait(&a->cond, &a->lock);
	vm = a->vm;
	pthread_mutex_unlock(&a->lock);
	return vm;
}

void api_stop_waiting(struct api *a)
{
	pthread_mutex_lock(&a->lock);
	a->closing = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void api_stop(struct api *a)
{
	if (!a->path && !a->daemon && a->listen_fd < 0) {
		fc_config_free(&a->fc); /* api_start failed early, or never ran */
		return;
	}
	pthread_mutex_lock(&a->lock);
	a->closing = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->daemon)
		MHD_stop_daemon(a->daemon);
	a->daemon = NULL;
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
	if (a->path)
		unlink(a->path);
	free(a->path);
	a->path = NULL;
	fc_config_free(&a->fc);
}
