/* The host's side of sandboxes' internet access (internet_access: true).
 *
 * hopx-jail --egress gives such a sandbox a veth pair: "hxN" on the host,
 * in 10.201.0.0/16 (jail_net.c). Here, once at hopxd's start, the host
 * forwards IPv4 and gets one nftables table, "ip hopx", replaced whole:
 *   - nothing from an hx interface reaches the host itself (hopxd's API,
 *     its other services);
 *   - nothing goes from one sandbox to another, nor to link-local
 *     (cloud metadata), loopback or multicast addresses, nor to the CIDRs
 *     of the config's "egress_deny";
 *   - the rest is forwarded and masqueraded; replies come back.
 * Sandboxes without internet_access have no veth: loopback only. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <gio/gio.h>

#include "egress.h"
#include "event.h"

static bool ready;
static char *why_not;

bool egress_available(const char **why)
{
	if (why)
		*why = why_not ? why_not : "";
	return ready;
}

/* An IPv4 CIDR made only of digits, dots and one slash (it goes into nft's input). */
static bool cidr_ok(const char *s)
{
	int dots = 0, slash = 0;

	if (!*s || strlen(s) > 18)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p == '/')
			slash++;
		else if (*p < '0' || *p > '9')
			return false;
	}
	return dots == 3 && slash <= 1;
}

static char *ruleset(json_t *deny)
{
	GString *d = g_string_new("169.254.0.0/16, 127.0.0.0/8, 224.0.0.0/4, 0.0.0.0/8");
	size_t i;
	json_t *v;
	char *text;

	json_array_foreach(deny, i, v) {
		if (!json_is_string(v) || !cidr_ok(json_string_value(v))) {
			log_event(LOG_WARN, "egress.config", NULL, "egress_deny: \"%s\" is not an IPv4 address or CIDR: ignored",
				  json_is_string(v) ? json_string_value(v) : "?");
			continue;
		}
		g_string_append_printf(d, ", %s", json_string_value(v));
	}
	text = g_strdup_printf(
		"table ip hopx\n"
		"delete table ip hopx\n"
		"table ip hopx {\n"
		"  chain input {\n"
		"    type filter hook input priority filter - 10; policy accept;\n"
		"    iifname \"hx*\" drop\n"
		"  }\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter - 10; policy accept;\n"
		"    iifname \"hx*\" oifname \"hx*\" drop\n"
		"    iifname \"hx*\" ip daddr { %s } drop\n"
		"    oifname \"hx*\" ct state established,related accept\n"
		"    oifname \"hx*\" drop\n"
		"  }\n"
		"  chain postrouting {\n"
		"    type nat hook postrouting priority srcnat; policy accept;\n"
		"    ip saddr 10.201.0.0/16 oifname != \"hx*\" masquerade\n"
		"  }\n"
		"}\n",
		d->str);
	g_string_free(d, TRUE);
	return text;
}

static void unavailable(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void unavailable(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_free(why_not);
	why_not = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	log_event(LOG_WARN, "egress.off", NULL, "internet access for sandboxes is off: %s", why_not);
}

void egress_setup(json_t *deny)
{
	char *rules = ruleset(deny), *argv[] = { "nft", "-f", "-", NULL }, *err = NULL;
	GSubprocess *p;
	GError *e = NULL;
	int fd = -1;

	ready = false;
	p = g_subprocess_newv((const char *const *)argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
			      &e);
	if (!p) {
		unavailable("nft: %s (install nftables)", e->message);
		g_error_free(e);
		g_free(rules);
		return;
	}
	if (!g_subprocess_communicate_utf8(p, rules, NULL, NULL, &err, &e)) {
		unavailable("nft: %s", e->message);
		g_clear_error(&e);
	} else if (!g_subprocess_get_if_exited(p) || g_subprocess_get_exit_status(p) != 0) {
		unavailable("nft refused hopxd's rules: %s", err ? g_strstrip(err) : "");
	} else if ((fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC)) < 0 || write(fd, "1", 1) != 1) {
		unavailable("turning on IPv4 forwarding: %s", strerror(errno));
	} else {
		ready = true;
		log_event(LOG_INFO, "egress.on", NULL,
			  "internet access for sandboxes: IPv4 forwarding on, nftables table \"ip hopx\"");
	}
	if (fd >= 0)
		close(fd);
	g_free(err);
	g_free(rules);
	g_object_unref(p);
}
