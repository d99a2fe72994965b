/* hopx-jail's network: a sandbox's way out, when it is given one.
 *
 * Every sandbox has its own network namespace. With --egress the keeper
 * (still in the host's namespace) adds a veth pair: "hxN" on the host with
 * 10.201.0.0/16's N-th /30 (.1), and "eth0" inside with .2 and a default
 * route through .1. hopxd's host rules (egress.c) NAT what comes out of
 * hx* interfaces and drop what is addressed to the host itself or to
 * another sandbox. With --tap NAME (the vm runtime) the namespace also
 * gets a persistent TAP for the guest, 172.16.0.1/30 on this side (the
 * guest is .2 in every sandbox: each has its own namespace), forwarded
 * and NATed out of eth0 when there is an eth0.
 *
 * Addresses, links and routes are set with ioctls; the veth pair and the
 * namespace's NAT rule need netlink, for which we run iproute2's ip and
 * nftables' nft rather than speak it ourselves. */
#include "jail_log.h"
#include "jail_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define EGRESS_NET 0x0ac90000u /* 10.201.0.0/16 */
#define EGRESS_SLOTS 16384u    /* /30s in it */
#define TAP_HOST 0xac100001u   /* 172.16.0.1 */

static int fail(const char *what, const char *arg, int err)
{
	jail_log("%s%s%s: %s", what, arg ? " " : "", arg ? arg : "", strerror(err));
	return -err;
}

/* Run ARGV (a program found on PATH) with INPUT on its stdin; 0 if it exited 0. */
static int run(char *const argv[], const char *input)
{
	int in[2], status;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return fail("pipe", NULL, errno);
	pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return fail("fork", argv[0], errno);
	}
	if (pid == 0) {
		dup2(in[0], 0);
		execvp(argv[0], argv);
		jail_log("%s: %s (install %s)", argv[0], strerror(errno), strcmp(argv[0], "nft") == 0 ? "nftables" : "iproute2");
		_exit(127);
	}
	close(in[0]);
	if (input && write(in[1], input, strlen(input)) < 0)
		jail_log("writing to %s: %s", argv[0], strerror(errno));
	close(in[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail("waitpid", argv[0], errno);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static void sin_set(struct sockaddr *sa, uint32_t host_order)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;

	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(host_order);
}

/* NAME up with ADDR/30 (ADDR 0: just up). */
static int link_up(int s, const char *name, uint32_t addr)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (addr) {
		sin_set(&ifr.ifr_addr, addr);
		if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
			return fail("set the address of", name, errno);
		sin_set(&ifr.ifr_netmask, 0xfffffffcu);
		if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
			return fail("set the netmask of", name, errno);
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return fail("get the flags of", name, errno);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return fail("bring up", name, errno);
	return 0;
}

static int default_route(int s, uint32_t gw)
{
	struct rtentry rt = { 0 };

	sin_set(&rt.rt_dst, 0);
	sin_set(&rt.rt_genmask, 0);
	sin_set(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	if (ioctl(s, SIOCADDRT, &rt) < 0)
		return fail("add the default route", NULL, errno);
	return 0;
}

int jail_net_veth(pid_t init, unsigned int *slot)
{
	char name[IFNAMSIZ], pid[16], addr[32];
	unsigned int start;

	if (getrandom(&start, sizeof(start), 0) != sizeof(start))
		start = (unsigned int)getpid();
	snprintf(pid, sizeof(pid), "%d", (int)init);
	for (unsigned int i = 0; i < 64; i++) {
		unsigned int n = (start + i) % EGRESS_SLOTS;
		uint32_t a = EGRESS_NET | n << 2 | 1;
		char *add[] = { "ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", pid, NULL };
		char *set[] = { "ip", "addr", "add", addr, "dev", name, NULL };
		char *up[] = { "ip", "link", "set", name, "up", NULL };

		snprintf(name, sizeof(name), "hx%u", n);
		if (if_nametoindex(name)) /* another sandbox's */
			continue;
		if (run(add, NULL)) {
			if (if_nametoindex(name)) /* taken meanwhile */
				continue;
			jail_log("--egress: could not add a veth pair (needs CAP_NET_ADMIN)");
			return -EIO;
		}
		snprintf(addr, sizeof(addr), "%u.%u.%u.%u/30", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
		if (run(set, NULL) || run(up, NULL)) {
			char *del[] = { "ip", "link", "del", name, NULL };

			run(del, NULL);
			jail_log("--egress: could not set up %s", name);
			return -EIO;
		}
		*slot = n;
		return 0;
	}
	jail_log("--egress: no free hx interface name in 64 tries");
	return -EBUSY;
}

/* The persistent TAP NAME, usable by root without CAP_NET_ADMIN (the VMM
 * runs with that capability dropped). */
static int tap_create(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), err = 0;

	if (fd < 0)
		return fail("open", "/dev/net/tun", errno);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETOWNER, (unsigned long)geteuid()) < 0 ||
	    ioctl(fd, TUNSETPERSIST, 1) < 0)
		err = fail("create the TAP", name, errno);
	close(fd);
	return err;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return fail("open", path, errno);
	if (write(fd, text, strlen(text)) < 0)
		err = fail("write", path, errno);
	close(fd);
	return err;
}

int jail_net_inside(int slot, const char *tap)
{
	static const char nat[] = "table ip hopx {\n"
				  "  chain postrouting {\n"
				  "    type nat hook postrouting priority srcnat; policy accept;\n"
				  "    oifname \"eth0\" masquerade\n"
				  "  }\n"
				  "}\n";
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return fail("socket", NULL, errno);
	if (slot >= 0) {
		uint32_t base = EGRESS_NET | (uint32_t)slot << 2;

		err = link_up(s, "eth0", base | 2) ?: default_route(s, base | 1);
	}
	if (!err && tap) {
		err = tap_create(tap) ?: link_up(s, tap, TAP_HOST);
		if (!err && slot >= 0) { /* the guest's packets go on through eth0 */
			char *nft[] = { "nft", "-f", "-", NULL };

			err = write_file("/proc/sys/net/ipv4/ip_forward", "1") ?: run(nft, nat);
		}
	}
	close(s);
	return err;
}

char *jail_net_resolv_conf(void)
{
	char line[512], *out = NULL;
	size_t len = 0;
	FILE *f = fopen("/etc/resolv.conf", "re"), *m;

	if (!f)
		return NULL;
	m = open_memstream(&out, &len);
	if (!m) {
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		char ns[64];

		if (sscanf(line, "nameserver %63s", ns) == 1 && strncmp(ns, "127.", 4) != 0 && strcmp(ns, "::1") != 0)
			fprintf(m, "nameserver %s\n", ns);
		else if (strncmp(line, "search ", 7) == 0 || strncmp(line, "options ", 8) == 0)
			fputs(line, m);
	}
	fclose(f);
	fclose(m);
	if (!strstr(out, "nameserver")) {
		free(out);
		return NULL;
	}
	return out;
}
