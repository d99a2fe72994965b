/* Result callbacks of /execute/async: the finished run's result POSTed as
 * JSON to the caller's callback_url with its callback_headers, signed
 * when it gave a callback_signature_secret:
 *   X-HopX-Timestamp: <unix seconds>
 *   X-HopX-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 * (the timestamp inside the signed text lets a receiver refuse replays).
 * Delivery is retried on connection errors and 5xx answers, 3 attempts
 * with 1 s and 2 s between them, like the SDK's own retries. */
#include <string.h>

#include "agent.h"

#define ATTEMPTS 3

struct delivery {
	char *url, *body, *timestamp, *signature;
	json_t *headers;
	int attempt;
};

static SoupSession *session;

static void delivery_free(struct delivery *d)
{
	g_free(d->url);
	g_free(d->body);
	g_free(d->timestamp);
	g_free(d->signature);
	json_decref(d->headers);
	g_free(d);
}

static void send_once(struct delivery *d);

static gboolean retry(gpointer data)
{
	send_once(data);
	return G_SOURCE_REMOVE;
}

static void sent(GObject *src, GAsyncResult *res, gpointer data)
{
	struct delivery *d = data;
	SoupMessage *m = soup_session_get_async_result_message(SOUP_SESSION(src), res);
	GError *e = NULL;
	GBytes *reply = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &e);
	unsigned int status = m ? soup_message_get_status(m) : 0;

	if (reply)
		g_bytes_unref(reply);
	if (!e && status < 500) {
		if (status >= 400)
			g_printerr("hopx-agent: callback %s: HTTP %u (not retried)\n", d->url, status);
		delivery_free(d);
		return;
	}
	g_printerr("hopx-agent: callback %s: %s (attempt %d of %d)\n", d->url,
		   e ? e->message : soup_message_get_reason_phrase(m), d->attempt, ATTEMPTS);
	if (e)
		g_error_free(e);
	if (d->attempt >= ATTEMPTS) {
		delivery_free(d);
		return;
	}
	g_timeout_add_seconds(1u << (d->attempt - 1), retry, d);
}

static void send_once(struct delivery *d)
{
	SoupMessage *m = soup_message_new("POST", d->url);
	SoupMessageHeaders *h;
	GBytes *body;
	const char *k;
	json_t *v;

	if (!m) { /* checked when the run was accepted; a URL libsoup refuses anyway */
		g_printerr("hopx-agent: callback %s: not a URL libsoup can send to\n", d->url);
		delivery_free(d);
		return;
	}
	d->attempt++;
	h = soup_message_get_request_headers(m);
	json_object_foreach(d->headers, k, v)
		soup_message_headers_replace(h, k, json_string_value(v));
	if (d->signature) {
		soup_message_headers_replace(h, "X-HopX-Timestamp", d->timestamp);
		soup_message_headers_replace(h, "X-HopX-Signature", d->signature);
	}
	body = g_bytes_new_static(d->body, strlen(d->body));
	soup_message_set_request_body_from_bytes(m, "application/json", body);
	g_bytes_unref(body);
	soup_session_send_and_read_async(session, m, G_PRIORITY_DEFAULT, NULL, sent, d);
	g_object_unref(m);
}

bool callback_url_ok(const char *url)
{
	GUri *u = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	bool ok = u && g_uri_get_host(u) && g_uri_get_host(u)[0] &&
		  (g_ascii_strcasecmp(g_uri_get_scheme(u), "http") == 0 ||
		   g_ascii_strcasecmp(g_uri_get_scheme(u), "https") == 0);

	if (u)
		g_uri_unref(u);
	return ok;
}

void callback_post(const char *url, json_t *headers, const char *secret, json_t *result)
{
	struct delivery *d = g_new0(struct delivery, 1);
	char *body = json_dumps(result, JSON_COMPACT);

	json_decref(result);
	if (!body) {
		g_free(d);
		return;
	}
	if (!session)
		session = soup_session_new_with_options("timeout", 30, "user-agent", "hopx-agent/" AGENT_VERSION, NULL);
	d->url = g_strdup(url);
	d->body = g_strdup(body);
	free(body);
	d->headers = headers ? json_incref(headers) : json_object();
	if (secret) {
		char *signed_text;

		d->timestamp = g_strdup_printf("%lld", (long long)(g_get_real_time() / G_USEC_PER_SEC));
		signed_text = g_strconcat(d->timestamp, ".", d->body, NULL);
		d->signature = g_compute_hmac_for_string(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret),
							 signed_text, -1);
		g_free(signed_text);
		signed_text = g_strconcat("sha256=", d->signature, NULL);
		g_free(d->signature);
		d->signature = signed_text;
	}
	send_once(d);
}
