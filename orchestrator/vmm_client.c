/* hopxd's client of a hopx-vmm's control API (vmm_client.h): one
 * blocking request per call, on the VMM's own Unix socket. Calls are rare
 * (a pause, a template's snapshot) and short. */
#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>
#include <string.h>

#include "event.h"
#include "vmm_client.h"

void vmm_api(const char *api_sock, const char *method, const char *path, const char *body, int *status)
{
	GSocketAddress *addr = g_unix_socket_address_new(api_sock);
	SoupSession *session = soup_session_new_with_options("remote-connectable", addr, "timeout", 120, NULL);
	char *url = g_strconcat("http://vmm", path, NULL);
	SoupMessage *m = soup_message_new(method, url);
	GBytes *reply, *b = g_bytes_new(body, strlen(body));
	GError *e = NULL;

	soup_message_set_request_body_from_bytes(m, "application/json", b);
	reply = soup_session_send_and_read(session, m, NULL, &e);
	*status = reply ? (int)soup_message_get_status(m) : 0;
	if (!reply) {
		log_event(LOG_ERROR, "vmm.api", NULL, "vmm %s %s %s: %s", api_sock, method, path, e->message);
		g_error_free(e);
	} else if (*status >= 300) {
		log_event(LOG_ERROR, "vmm.api", NULL, "vmm %s %s: %d %.*s", method, path, *status,
			  (int)g_bytes_get_size(reply), (const char *)g_bytes_get_data(reply, NULL));
	}
	if (reply)
		g_bytes_unref(reply);
	g_bytes_unref(b);
	g_object_unref(m);
	g_object_unref(session);
	g_object_unref(addr);
	g_free(url);
}

int vmm_snapshot(const char *api_sock, const char *state, const char *mem)
{
	char *body = g_strdup_printf("{\"snapshot_type\":\"Full\",\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}",
				     state, mem);
	int st1 = 0, st2 = 0;

	vmm_api(api_sock, "PATCH", "/vm", "{\"state\":\"Paused\"}", &st1);
	if (st1 >= 200 && st1 < 300)
		vmm_api(api_sock, "PUT", "/snapshot/create", body, &st2);
	g_free(body);
	return st2 >= 200 && st2 < 300 ? 0 : -EIO;
}


void vmm_resume(const char *api_sock)
{
	int st;

	vmm_api(api_sock, "PATCH", "/vm", "{\"state\":\"Resumed\"}", &st);
}
