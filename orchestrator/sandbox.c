/* Sandbox lifecycle in hopxd: create (returns only once the agent answers,
 * hopx-api.md §7.2), pause, resume, kill, the expiry sweep (timeout, idle
 * timeout, maximum lifetime, dead sandboxes) and recovery after a restart.
 * Logs are one JSON object per line on stderr, without secrets. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hopxd.h"

static GHashTable *touched; /* id -> last_active written to the registry (throttles writes) */

static void log_event(const char *event, const char *id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void log_event(const char *event, const char *id, const char *fmt, ...)
{
	char ts[32], text[512];
	va_list ap;
	json_t *o;
	char *line;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	iso_time(now_s(), ts, sizeof(ts));
	o = json_pack("{s:s,s:s,s:s?,s:s}", "ts", ts, "event", event, "sandbox", id, "msg", text);
	line = json_dumps(o, JSON_COMPACT);
	fprintf(stderr, "%s\n", line);
	free(line);
	json_decref(o);
}

const char *sandbox_dir(const char *id, const char *sub, char *buf, size_t size)
{
	snprintf(buf, size, "%s/sandboxes/%s%s%s", cfg.state_dir, id, *sub ? "/" : "", sub);
	return buf;
}

json_t *sandbox_json(const struct sandbox *s)
{
	char created[32], expires[32];
	char *host = g_strdup_printf("%s/sandbox/%s", cfg.public_url, s->id);
	json_t *o;

	iso_time(s->created_at, created, sizeof(created));
	iso_time(s->expires_at, expires, sizeof(expires));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:s,s:s,s:s,s:s,"
		      "s:{s:i,s:i,s:i}}",
		      "id", s->id, "sandbox_id", s->id, "status", s->status, "public_host", host, "template_name",
		      s->template_name, "template_id", s->template_name, "runtime", s->runtime, "region", "local",
		      "internet_access", s->internet, "live_mode", 0, "timeout_seconds", (json_int_t)s->timeout_s,
		      "created_at", created, "started_at", created, "expires_at", expires, "end_at", expires,
		      "resources", "vcpu", s->vcpu, "memory_mb", s->memory_mb, "disk_mb", s->disk_mb);
	json_object_set_new(o, "isolation", json_string(strcmp(s->runtime, "vm") == 0 ? "microvm"
											  : "namespaces (weaker than a VM)"));
	g_free(host);
	return o;
}

static const struct runtime *rt_of(const struct sandbox *s)
{
	return runtime_get(s->runtime);
}

int sandbox_kill(struct sandbox *s, const char *why)
{
	const struct runtime *rt = rt_of(s);
	int err = rt ? rt->stop(s) : 0;

	gateway_forget(s->id);
	if (touched)
		g_hash_table_remove(touched, s->id);
	registry_delete(s->id);
	log_event("sandbox.stopped", s->id, "%s%s", why, err ? " (some resources could not be freed)" : "");
	return 0;
}

void sandbox_touch(const char *id)
{
	long long now = now_s();
	gpointer last;
	struct sandbox s;

	if (!touched)
		touched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	last = g_hash_table_lookup(touched, id);
	if (last && now - (long long)GPOINTER_TO_SIZE(last) < 5)
		return;
	g_hash_table_insert(touched, g_strdup(id), GSIZE_TO_POINTER((gsize)now));
	if (registry_get(id, &s) == 0) {
		s.last_active = now;
		registry_put(&s);
	}
}

/* --- create: start, wait for the agent, set env, answer ------------------------------------ */

struct creating {
	SoupServerMessage *msg;
	struct sandbox s;
	json_t *env;
	gint64 deadline;
	guint timer;
	bool asking;
};

static void create_failed(struct creating *c, const char *why)
{
	struct sandbox s = c->s;

	log_event("sandbox.create_failed", s.id, "%s", why);
	sandbox_kill(&s, "create failed");
	/* Not a 5xx: the SDK re-sends failed creates (§4.1, §7.4). */
	reply_error(c->msg, 424, "SANDBOX_START_FAILED", "the sandbox did not start: %s", why);
	soup_server_message_unpause(c->msg);
	g_object_unref(c->msg);
	json_decref(c->env);
	g_free(c);
}

static void create_done(struct creating *c)
{
	char *token = random_token("hopx_at_", 24), *hash = token_hash(token), exp[32];
	long long expires = now_s() + cfg.token_ttl_s;
	json_t *o;

	snprintf(c->s.status, sizeof(c->s.status), "running");
	c->s.last_active = now_s();
	if (registry_put(&c->s) || registry_add_token(c->s.id, hash, expires)) {
		create_failed(c, "the registry failed");
		g_free(token);
		g_free(hash);
		return;
	}
	iso_time(expires, exp, sizeof(exp));
	o = sandbox_json(&c->s);
	json_object_set_new(o, "auth_token", json_string(token));
	json_object_set_new(o, "token_expires_at", json_string(exp));
	log_event("sandbox.created", c->s.id, "template %s, runtime %s", c->s.template_name, c->s.runtime);
	reply_json(c->msg, 201, o);
	soup_server_message_unpause(c->msg);
	g_object_unref(c->msg);
	json_decref(c->env);
	g_free(token);
	g_free(hash);
	g_free(c);
}

static void env_set(unsigned int status, json_t *body, gpointer data)
{
	struct creating *c = data;

	(void)body;
	if (status != 200)
		create_failed(c, "the agent refused the environment variables");
	else
		create_done(c);
}

static gboolean poll_agent(gpointer data);

static void health_answer(unsigned int status, json_t *body, gpointer data)
{
	struct creating *c = data;

	(void)body;
	c->asking = false;
	if (status != 200 && !c->timer) { /* the deadline passed while we asked */
		create_failed(c, "its agent did not answer in time");
	} else if (status == 200) {
		if (c->timer)
			g_source_remove(c->timer);
		c->timer = 0;
		if (c->env && json_object_size(c->env))
			agent_call(&c->s, "PUT", "/env", json_pack("{s:O}", "env_vars", c->env), env_set, c);
		else
			create_done(c);
	}
}

static gboolean poll_agent(gpointer data)
{
	struct creating *c = data;
	const struct runtime *rt = rt_of(&c->s);

	if (!rt->alive(&c->s) || g_get_monotonic_time() > c->deadline) {
		c->timer = 0;
		if (c->asking) /* an answer is still coming: it finds the timer gone */
			return G_SOURCE_REMOVE;
		create_failed(c, rt->alive(&c->s) ? "its agent did not answer in time" : "it exited at start");
		return G_SOURCE_REMOVE;
	}
	if (!c->asking) {
		c->asking = true;
		agent_call(&c->s, "GET", "/health", NULL, health_answer, c);
	}
	return G_SOURCE_CONTINUE;
}

static bool env_ok(json_t *env)
{
	const char *k;
	json_t *v;

	if (!env)
		return true;
	if (!json_is_object(env))
		return false;
	json_object_foreach(env, k, v)
		if (!*k || strchr(k, '=') || !json_is_string(v))
			return false;
	return true;
}

void sandbox_create(SoupServerMessage *msg, json_t *body)
{
	const char *name = json_string_value(json_object_get(body, "template_name"));
	json_t *tid = json_object_get(body, "template_id"), *timeout = json_object_get(body, "timeout_seconds");
	json_t *internet = json_object_get(body, "internet_access"), *env = json_object_get(body, "env_vars");
	const struct runtime *rt = runtime_get(cfg.runtime);
	struct creating *c;
	json_t *manifest, *res;
	char *image, *id, *sup;
	int err;

	if (json_is_string(tid))
		name = json_string_value(tid);
	if (!name) {
		reply_error(msg, 400, "INVALID_REQUEST", "template_name (or template_id) is required");
		return;
	}
	if (timeout && (!json_is_integer(timeout) || json_integer_value(timeout) < 1 ||
			json_integer_value(timeout) > cfg.max_lifetime_s)) {
		reply_error(msg, 400, "INVALID_REQUEST", "timeout_seconds: an integer from 1 to %lld", cfg.max_lifetime_s);
		return;
	}
	if (internet && !json_is_boolean(internet)) {
		reply_error(msg, 400, "INVALID_REQUEST", "internet_access: true or false");
		return;
	}
	if (json_is_true(internet)) {
		reply_error(msg, 400, "INTERNET_NOT_AVAILABLE",
			    "internet_access: this hopxd gives sandboxes no route out yet; pass false");
		return;
	}
	if (!env_ok(env)) {
		reply_error(msg, 400, "INVALID_REQUEST", "env_vars: an object of strings, names without '='");
		return;
	}
	if (registry_count() >= (int)cfg.max_sandboxes) {
		reply_error(msg, 429, "RESOURCE_LIMIT", "%u sandboxes are running: the most this hopxd allows",
			    cfg.max_sandboxes);
		return;
	}
	manifest = template_find(name);
	image = template_image(name);
	if (!manifest || !image) {
		reply_error(msg, 404, "TEMPLATE_NOT_FOUND", "template '%.64s' not found: make templates builds them", name);
		json_decref(manifest);
		g_free(image);
		return;
	}
	c = g_new0(struct creating, 1);
	id = random_token("sb_", 8);
	sup = random_token("hopx_sv_", 24);
	snprintf(c->s.id, sizeof(c->s.id), "%s", id);
	snprintf(c->s.supervisor, sizeof(c->s.supervisor), "%s", sup);
	g_free(id);
	g_free(sup);
	snprintf(c->s.template_name, sizeof(c->s.template_name), "%s", name);
	snprintf(c->s.status, sizeof(c->s.status), "creating");
	snprintf(c->s.runtime, sizeof(c->s.runtime), "%s", rt->name);
	res = json_object_get(manifest, "default_resources");
	c->s.vcpu = (int)json_integer_value(json_object_get(res, "vcpu")) ?: 1;
	c->s.memory_mb = (int)json_integer_value(json_object_get(res, "memory_mb")) ?: 1024;
	c->s.disk_mb = (int)(json_integer_value(json_object_get(res, "disk_gb")) ?: 2) * 1024;
	c->s.created_at = c->s.last_active = now_s();
	c->s.timeout_s = timeout ? json_integer_value(timeout) : 0;
	c->s.expires_at = c->s.created_at + (c->s.timeout_s ? MIN(c->s.timeout_s, cfg.max_lifetime_s) : cfg.max_lifetime_s);
	c->env = env ? json_incref(env) : NULL;
	err = registry_put(&c->s);
	if (!err)
		err = rt->start(&c->s, image, manifest);
	json_decref(manifest);
	g_free(image);
	c->msg = g_object_ref(msg);
	soup_server_message_pause(msg);
	if (err || registry_put(&c->s)) {
		create_failed(c, "its runtime could not start it (see hopxd's log)");
		return;
	}
	c->deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
	c->timer = g_timeout_add(20, poll_agent, c);
}

/* --- pause / resume ---------------------------------------------------------------------------- */

void sandbox_pause(SoupServerMessage *msg, struct sandbox *s)
{
	if (strcmp(s->status, "paused") == 0) {
		reply_json(msg, 200, sandbox_json(s));
		return;
	}
	if (strcmp(s->status, "running") != 0 || rt_of(s)->pause(s)) {
		reply_error(msg, 409, "INVALID_STATE", "the sandbox is %s and could not be paused", s->status);
		return;
	}
	snprintf(s->status, sizeof(s->status), "paused");
	registry_put(s);
	log_event("sandbox.paused", s->id, "paused");
	reply_json(msg, 200, sandbox_json(s));
}

void sandbox_resume(SoupServerMessage *msg, struct sandbox *s)
{
	if (strcmp(s->status, "running") == 0) {
		reply_json(msg, 200, sandbox_json(s));
		return;
	}
	if (strcmp(s->status, "paused") != 0 || rt_of(s)->resume(s)) {
		reply_error(msg, 409, "INVALID_STATE", "the sandbox is %s and could not be resumed", s->status);
		return;
	}
	snprintf(s->status, sizeof(s->status), "running");
	s->last_active = now_s();
	registry_put(s);
	log_event("sandbox.resumed", s->id, "resumed");
	reply_json(msg, 200, sandbox_json(s));
}

/* --- the sweep and recovery ------------------------------------------------------------------- */

static void for_each(void (*fn)(struct sandbox *s))
{
	char cursor[40] = "";
	struct sandbox *list;
	bool more = true;
	int n;

	while (more) {
		if (registry_list("", cursor, 200, &list, &n, &more)) {
			g_free(list);
			return;
		}
		for (int i = 0; i < n; i++)
			fn(&list[i]);
		if (n)
			snprintf(cursor, sizeof(cursor), "%s", list[n - 1].id);
		g_free(list);
	}
}

static void sweep_one(struct sandbox *s)
{
	const struct runtime *rt = rt_of(s);
	long long now = now_s();

	if (strcmp(s->status, "creating") == 0)
		return; /* its create call decides */
	if (!rt || !rt->alive(s))
		sandbox_kill(s, "its process exited");
	else if (now >= s->expires_at)
		sandbox_kill(s, s->timeout_s ? "timeout reached" : "maximum lifetime reached");
	else if (strcmp(s->status, "running") == 0 && now - s->last_active >= cfg.idle_timeout_s)
		sandbox_kill(s, "idle timeout reached");
}

void sandbox_sweep(void)
{
	for_each(sweep_one);
}

static void recover_one(struct sandbox *s)
{
	const struct runtime *rt = rt_of(s);

	if (rt && rt->alive(s) && strcmp(s->status, "creating") != 0)
		log_event("sandbox.adopted", s->id, "still %s after the restart", s->status);
	else
		sandbox_kill(s, "found dead or half-created after a restart");
}

void sandbox_recover(void)
{
	for_each(recover_one);
}
