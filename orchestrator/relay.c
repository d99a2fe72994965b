/* The vsock relay of a VM sandbox: hopxd listens on the sandbox's
 * run/agent.sock (where the gateway, like for every runtime, finds the
 * agent), and relays each connection to the guest's vsock port through
 * hopx-vmm's vsock Unix socket (Firecracker's hybrid protocol: "CONNECT
 * PORT\n" answered by "OK ...\n", then the stream). The listener belongs to
 * hopxd, not to the VMM, so it stays put across pause (the VMM exits) and
 * resume (a new VMM on the same socket path). Everything is asynchronous:
 * a VM that does not answer (still booting) must not stall hopxd. */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "relay.h"

struct relay {
	GSocketService *service;
	char *listen_path, *vsock_path;
	unsigned int port;
};

struct pair {
	GIOStream *client;
	GSocketConnection *up;
	unsigned int port;
	char line[64];
	size_t got;
	guint timeout;
};

static void pair_end(struct pair *p)
{
	if (p->timeout)
		g_source_remove(p->timeout);
	if (p->client) /* the VM is not there (paused, gone, not yet listening): a closed connection */
		g_io_stream_close(p->client, NULL, NULL);
	g_clear_object(&p->client);
	g_clear_object(&p->up);
	g_free(p);
}

/* One relayed connection once the VMM said OK: a splice each way. When one
 * way ends cleanly (its reader saw end-of-file) the other side hears it as
 * a half-close and the other way goes on, so a client that shuts down its
 * sending side after a request still gets the whole answer (GIO's
 * g_io_stream_splice cancels the other way instead, dropping the answer).
 * An error either way cancels both. Both ways done: both closed. */
struct bridge;

struct way {
	struct bridge *br;
	int to; /* the side written to */
};

struct bridge {
	GIOStream *side[2]; /* the client, the VMM's vsock socket */
	struct way way[2];  /* from side 0 to side 1, and back */
	GCancellable *cancel; /* an error one way ends the other way too */
	int running;
};

static void way_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct way *w = data;
	struct bridge *br = w->br;
	GError *e = NULL;

	if (g_output_stream_splice_finish(G_OUTPUT_STREAM(src), res, &e) < 0) {
		g_error_free(e);
		g_cancellable_cancel(br->cancel); /* the other way's pending read or write ends too */
	} else {
		g_socket_shutdown(g_socket_connection_get_socket(G_SOCKET_CONNECTION(br->side[w->to])), FALSE, TRUE, NULL);
	}
	if (--br->running == 0) {
		for (int i = 0; i < 2; i++) {
			g_io_stream_close(br->side[i], NULL, NULL);
			g_object_unref(br->side[i]);
		}
		g_object_unref(br->cancel);
		g_free(br);
	}
}

static void bridge_start(GIOStream *client, GIOStream *vm)
{
	struct bridge *br = g_new0(struct bridge, 1);

	br->side[0] = g_object_ref(client);
	br->side[1] = g_object_ref(vm);
	br->cancel = g_cancellable_new();
	br->running = 2;
	for (int from = 0; from < 2; from++) {
		struct way *w = &br->way[from];

		w->br = br;
		w->to = !from;
		g_output_stream_splice_async(g_io_stream_get_output_stream(br->side[w->to]),
					     g_io_stream_get_input_stream(br->side[from]), G_OUTPUT_STREAM_SPLICE_NONE,
					     G_PRIORITY_DEFAULT, br->cancel, way_done, w);
	}
}

static gboolean too_slow(gpointer data)
{
	struct pair *p = data;

	p->timeout = 0;
	if (p->up) /* its pending read ends with an error, which frees the pair */
		g_io_stream_close(G_IO_STREAM(p->up), NULL, NULL);
	return G_SOURCE_REMOVE;
}

/* The VMM's answer, a byte at a time: nothing after its newline is ours. */
static void answer_byte(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pair *p = data;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, NULL);

	if (n <= 0 || p->got == sizeof(p->line) - 1) {
		pair_end(p);
		return;
	}
	if (p->line[p->got] != '\n') {
		p->got++;
		g_input_stream_read_async(G_INPUT_STREAM(src), p->line + p->got, 1, G_PRIORITY_DEFAULT, NULL, answer_byte, p);
		return;
	}
	p->line[p->got] = '\0';
	if (strncmp(p->line, "OK ", 3) != 0) {
		pair_end(p);
		return;
	}
	if (p->timeout)
		g_source_remove(p->timeout);
	p->timeout = 0;
	bridge_start(p->client, G_IO_STREAM(p->up));
	g_clear_object(&p->client);
	pair_end(p);
}

static void connect_sent(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pair *p = data;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(src), res, NULL, NULL)) {
		pair_end(p);
		return;
	}
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(p->up)), p->line, 1, G_PRIORITY_DEFAULT, NULL,
				  answer_byte, p);
}

static void connected(GObject *src, GAsyncResult *res, gpointer data)
{
	struct pair *p = data;
	int n;

	p->up = g_socket_client_connect_finish(G_SOCKET_CLIENT(src), res, NULL);
	g_object_unref(src);
	if (!p->up) {
		pair_end(p);
		return;
	}
	n = snprintf(p->line, sizeof(p->line), "CONNECT %u\n", p->port);
	g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(p->up)), p->line, (gsize)n,
					G_PRIORITY_DEFAULT, NULL, connect_sent, p);
}

static gboolean incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
	struct relay *r = data;
	struct pair *p = g_new0(struct pair, 1);
	GSocketClient *client = g_socket_client_new();
	GSocketAddress *addr = g_unix_socket_address_new(r->vsock_path);

	(void)service;
	(void)source;
	p->client = G_IO_STREAM(g_object_ref(conn));
	p->port = r->port;
	/* A guest that is not listening yet may leave the VMM's answer pending: give up after 10 s. */
	p->timeout = g_timeout_add_seconds(10, too_slow, p);
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(addr), NULL, connected, p);
	g_object_unref(addr);
	return TRUE;
}

struct relay *relay_start(const char *listen_path, const char *vsock_path, unsigned int port)
{
	struct relay *r = g_new0(struct relay, 1);
	GSocketAddress *addr;
	GError *e = NULL;

	unlink(listen_path);
	addr = g_unix_socket_address_new(listen_path);
	r->service = g_socket_service_new();
	if (!g_socket_listener_add_address(G_SOCKET_LISTENER(r->service), addr, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &e)) {
		log_event(LOG_ERROR, "relay.failed", NULL, "relay: listen on %s: %s", listen_path, e->message);
		g_error_free(e);
		g_object_unref(addr);
		g_object_unref(r->service);
		g_free(r);
		return NULL;
	}
	g_object_unref(addr);
	r->listen_path = g_strdup(listen_path);
	r->vsock_path = g_strdup(vsock_path);
	r->port = port;
	g_signal_connect(r->service, "incoming", G_CALLBACK(incoming), r);
	g_socket_service_start(r->service);
	return r;
}

void relay_stop(struct relay *r)
{
	if (!r)
		return;
	g_socket_service_stop(r->service);
	g_socket_listener_close(G_SOCKET_LISTENER(r->service));
	g_object_unref(r->service);
	unlink(r->listen_path);
	g_free(r->listen_path);
	g_free(r->vsock_path);
	g_free(r);
}
