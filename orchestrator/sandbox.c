/* Sandbox lifecycle in hopxd: create (returns only once the agent answers,
 * hopx-api.md §7.2), pause, resume, kill, the expiry sweep (timeout, idle
 * timeout, maximum lifetime, dead sandboxes) and recovery after a restart.
 * Every state change is logged as an event (event.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_client.h"
#include "auth.h"
#include "config.h"
#include "egress.h"
#include "event.h"
#include "registry.h"
#include "runtime.h"
#include "sandbox.h"
#include "templates.h"
#include "util.h"

static GHashTable *touched; /* id -> last_active written to the registry (throttles writes) */

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
	json_object_set_new(o, "isolation", json_string(runtime_isolation(s->runtime)));
	g_free(host);
	return o;
}

/* An error answer with a formatted message. */
static void answer_error(const struct sandbox_answer *a, void *req, unsigned int status, const char *code,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void answer_error(const struct sandbox_answer *a, void *req, unsigned int status, const char *code,
			 const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	a->error(req, status, code, text);
}

static const struct runtime *rt_of(const struct sandbox *s)
{
	return runtime_get(s->runtime);
}

int sandbox_kill(struct sandbox *s, const char *why)
{
	const struct runtime *rt = rt_of(s);
	int err = rt ? rt->stop(s) : 0;

	agent_forget(s->id);
	if (touched)
		g_hash_table_remove(touched, s->id);
	registry_delete(s->id);
	log_event(LOG_INFO, "sandbox.stopped", s->id, "%s%s", why, err ? " (some resources could not be freed)" : "");
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

/* --- waiting for a sandbox's agent: after a create (then env, then the
 * answer) or a resume (then the answer). A create whose runtime is not
 * ready yet (a template still being prepared) is started from here. -------- */

struct waiter {
	const struct sandbox_answer *a;
	void *req;                 /* the caller's, held until the answer */
	struct sandbox s;
	bool resume;
	char *image;      /* create: what to start, until it is started */
	json_t *manifest, *env;
	gint64 deadline;
	guint timer;
	bool asking;
};

static void waiter_free(struct waiter *w)
{
	w->a->release(w->req);
	json_decref(w->env);
	json_decref(w->manifest);
	g_free(w->image);
	g_free(w);
}

static void wait_failed(struct waiter *w, const char *why)
{
	struct sandbox s = w->s;

	log_event(LOG_ERROR, w->resume ? "sandbox.resume_failed" : "sandbox.create_failed", s.id, "%s", why);
	sandbox_kill(&s, w->resume ? "resume failed" : "create failed");
	/* Not a 5xx: the SDK re-sends failed POSTs (§4.1, §7.4). */
	answer_error(w->a, w->req, 424, "SANDBOX_START_FAILED", "the sandbox did not %s: %s",
		     w->resume ? "resume" : "start", why);
	waiter_free(w);
}

static void wait_done(struct waiter *w)
{
	char *token = NULL, exp[32];
	long long expires = 0;
	json_t *o;

	snprintf(w->s.status, sizeof(w->s.status), "running");
	w->s.last_active = now_s();
	if (registry_put(&w->s) || (!w->resume && !(token = token_issue(w->s.id, &expires)))) {
		wait_failed(w, "the registry failed");
		return;
	}
	o = sandbox_json(&w->s);
	if (token) {
		iso_time(expires, exp, sizeof(exp));
		json_object_set_new(o, "auth_token", json_string(token));
		json_object_set_new(o, "token_expires_at", json_string(exp));
		log_event(LOG_INFO, "sandbox.created", w->s.id, "template %s, runtime %s", w->s.template_name, w->s.runtime);
	} else {
		log_event(LOG_INFO, "sandbox.resumed", w->s.id, "resumed");
	}
	w->a->json(w->req, w->resume ? 200 : 201, o);
	waiter_free(w);
	g_free(token);
}

static void env_set(unsigned int status, json_t *body, gpointer data)
{
	struct waiter *w = data;

	(void)body;
	if (status != 200)
		wait_failed(w, "the agent refused the environment variables");
	else
		wait_done(w);
}

static void health_answer(unsigned int status, json_t *body, gpointer data)
{
	struct waiter *w = data;

	(void)body;
	w->asking = false;
	if (status != 200 && !w->timer) { /* the deadline passed while we asked */
		wait_failed(w, "its agent did not answer in time");
	} else if (status == 200) {
		if (w->timer)
			g_source_remove(w->timer);
		w->timer = 0;
		if (w->env && json_object_size(w->env))
			agent_call(&w->s, "PUT", "/env", json_pack("{s:O}", "env_vars", w->env), env_set, w);
		else
			wait_done(w);
	}
}

static gboolean poll_agent(gpointer data)
{
	struct waiter *w = data;
	const struct runtime *rt = rt_of(&w->s);

	if (w->image) { /* not started yet */
		int err = rt->start(&w->s, w->image, w->manifest);

		if (err == -EAGAIN && g_get_monotonic_time() < w->deadline)
			return G_SOURCE_CONTINUE;
		g_free(w->image);
		w->image = NULL;
		if (err || registry_put(&w->s)) {
			w->timer = 0;
			wait_failed(w, err == -EAGAIN ? "its template was still being prepared"
						      : "its runtime could not start it (see hopxd's log)");
			return G_SOURCE_REMOVE;
		}
	}
	if (!rt->alive(&w->s) || g_get_monotonic_time() > w->deadline) {
		w->timer = 0;
		if (w->asking) /* an answer is still coming: it finds the timer gone */
			return G_SOURCE_REMOVE;
		wait_failed(w, rt->alive(&w->s) ? "its agent did not answer in time" : "it exited at start");
		return G_SOURCE_REMOVE;
	}
	if (!w->asking) {
		w->asking = true;
		agent_call(&w->s, "GET", "/health", NULL, health_answer, w);
	}
	return G_SOURCE_CONTINUE;
}

static void wait_for_agent(struct waiter *w, const struct sandbox_answer *a, void *req)
{
	w->a = a;
	w->req = req;
	a->hold(req);
	/* A first create of a template on a software-KVM host boots it: minutes. */
	w->deadline = g_get_monotonic_time() + (gint64)runtime_start_timeout_s(w->s.runtime) * G_USEC_PER_SEC;
	w->timer = g_timeout_add(20, poll_agent, w);
}

bool sandbox_env_ok(json_t *env)
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

bool sandbox_timeout_ok(json_t *t)
{
	return json_is_integer(t) && json_integer_value(t) >= 1 && json_integer_value(t) <= cfg.max_lifetime_s;
}

bool sandbox_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (strncmp(id, "sb_", 3) != 0 || n == 3 || n >= sizeof(((struct sandbox *)0)->id))
		return false;
	for (const char *p = id + 3; *p; p++)
		if (!g_ascii_isxdigit(*p))
			return false;
	return true;
}

unsigned int sandbox_parse_create(json_t *body, struct create_request *req, const char **code, char *why,
				  size_t size)
{
	json_t *tid = json_object_get(body, "template_id"), *timeout = json_object_get(body, "timeout_seconds");
	json_t *internet = json_object_get(body, "internet_access"), *env = json_object_get(body, "env_vars");
	const char *egress_why;

	memset(req, 0, sizeof(*req));
	*code = "INVALID_REQUEST";
	req->template_name = json_string_value(json_object_get(body, "template_name"));
	if (json_is_string(tid))
		req->template_name = json_string_value(tid);
	if (!req->template_name) {
		snprintf(why, size, "template_name (or template_id) is required");
		return 400;
	}
	if (timeout && !sandbox_timeout_ok(timeout)) {
		snprintf(why, size, "timeout_seconds: an integer from 1 to %lld", cfg.max_lifetime_s);
		return 400;
	}
	if (internet && !json_is_boolean(internet)) {
		snprintf(why, size, "internet_access: true or false");
		return 400;
	}
	if (json_is_true(internet) && !egress_available(&egress_why)) {
		*code = "INTERNET_NOT_AVAILABLE";
		snprintf(why, size, "internet_access: not on this host (%s); pass false", egress_why);
		return 400;
	}
	if (!sandbox_env_ok(env)) {
		snprintf(why, size, "env_vars: an object of strings, names without '='");
		return 400;
	}
	req->timeout_s = timeout ? json_integer_value(timeout) : 0;
	req->internet = json_is_true(internet);
	req->env = env;
	return 0;
}

void sandbox_create(const struct sandbox_answer *a, void *req, json_t *body)
{
	const struct runtime *rt = runtime_get(cfg.runtime);
	struct create_request cr;
	struct waiter *w;
	json_t *manifest, *res;
	char *image, *id, *sup, why[512];
	const char *name, *code;
	unsigned int status = sandbox_parse_create(body, &cr, &code, why, sizeof(why));

	if (status) {
		a->error(req, status, code, why);
		return;
	}
	name = cr.template_name;
	if (registry_count() >= (int)cfg.max_sandboxes) {
		answer_error(a, req, 429, "RESOURCE_LIMIT", "%u sandboxes are running: the most this hopxd allows",
			     cfg.max_sandboxes);
		return;
	}
	manifest = template_find(name);
	image = template_image(name);
	if (!manifest || !image) {
		answer_error(a, req, 404, "TEMPLATE_NOT_FOUND", "template '%.64s' not found: make templates builds them",
			     name);
		json_decref(manifest);
		g_free(image);
		return;
	}
	w = g_new0(struct waiter, 1);
	id = random_token("sb_", 8);
	sup = supervisor_token_new();
	snprintf(w->s.id, sizeof(w->s.id), "%s", id);
	snprintf(w->s.supervisor, sizeof(w->s.supervisor), "%s", sup);
	g_free(id);
	g_free(sup);
	snprintf(w->s.template_name, sizeof(w->s.template_name), "%s", name);
	snprintf(w->s.status, sizeof(w->s.status), "creating");
	snprintf(w->s.runtime, sizeof(w->s.runtime), "%s", rt->name);
	res = json_object_get(manifest, "default_resources");
	w->s.vcpu = (int)json_integer_value(json_object_get(res, "vcpu")) ?: 1;
	w->s.memory_mb = (int)json_integer_value(json_object_get(res, "memory_mb")) ?: 1024;
	w->s.disk_mb = (int)(json_integer_value(json_object_get(res, "disk_gb")) ?: 2) * 1024;
	w->s.internet = cr.internet;
	w->s.created_at = w->s.last_active = now_s();
	w->s.timeout_s = cr.timeout_s;
	w->s.expires_at = w->s.created_at + (w->s.timeout_s ? MIN(w->s.timeout_s, cfg.max_lifetime_s) : cfg.max_lifetime_s);
	w->env = cr.env ? json_incref(cr.env) : NULL;
	w->manifest = manifest;
	w->image = image;
	if (registry_put(&w->s)) {
		w->a = a;
		w->req = req;
		a->hold(req);
		wait_failed(w, "the registry failed");
		return;
	}
	wait_for_agent(w, a, req);
}

/* --- pause / resume ---------------------------------------------------------------------------- */

enum sandbox_verdict sandbox_transition(const char *status, enum sandbox_action action)
{
	const char *from = action == SANDBOX_PAUSE ? "running" : "paused";
	const char *to = action == SANDBOX_PAUSE ? "paused" : "running";

	if (strcmp(status, to) == 0)
		return SANDBOX_ALREADY;
	return strcmp(status, from) == 0 ? SANDBOX_GO : SANDBOX_REFUSED;
}

bool sandbox_settling(const char *status)
{
	return strcmp(status, "creating") == 0 || strcmp(status, "resuming") == 0;
}

void sandbox_pause(const struct sandbox_answer *a, void *req, struct sandbox *s)
{
	enum sandbox_verdict v = sandbox_transition(s->status, SANDBOX_PAUSE);

	if (v == SANDBOX_ALREADY) {
		a->json(req, 200, sandbox_json(s));
		return;
	}
	if (v != SANDBOX_GO || rt_of(s)->pause(s)) {
		answer_error(a, req, 409, "INVALID_STATE", "the sandbox is %s and could not be paused", s->status);
		return;
	}
	snprintf(s->status, sizeof(s->status), "paused");
	registry_put(s);
	log_event(LOG_INFO, "sandbox.paused", s->id, "paused");
	a->json(req, 200, sandbox_json(s));
}

void sandbox_resume(const struct sandbox_answer *a, void *req, struct sandbox *s)
{
	enum sandbox_verdict v = sandbox_transition(s->status, SANDBOX_RESUME);
	struct waiter *w;

	if (v == SANDBOX_ALREADY) {
		a->json(req, 200, sandbox_json(s));
		return;
	}
	if (v != SANDBOX_GO || rt_of(s)->resume(s)) {
		answer_error(a, req, 409, "INVALID_STATE", "the sandbox is %s and could not be resumed", s->status);
		return;
	}
	/* Running again once its agent answers (at once after a thaw; a restored VM takes a moment). */
	snprintf(s->status, sizeof(s->status), "resuming");
	registry_put(s);
	w = g_new0(struct waiter, 1);
	w->s = *s;
	w->resume = true;
	wait_for_agent(w, a, req);
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

	if (sandbox_settling(s->status))
		return; /* its create or resume call decides */
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

	if (rt && rt->alive(s) && !sandbox_settling(s->status) &&
	    (!rt->adopt || rt->adopt(s) == 0))
		log_event(LOG_INFO, "sandbox.adopted", s->id, "still %s after the restart", s->status);
	else
		sandbox_kill(s, "found dead or half-created after a restart");
}

void sandbox_recover(void)
{
	for_each(recover_one);
}
