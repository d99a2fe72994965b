/* The agent's listening socket: --listen unix:PATH | tcp:HOST:PORT | vsock:PORT.
 * The same server code runs on each (vsock port 7777 inside a VM). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"

static int fail(const char *spec, const char *what, int err)
{
	fprintf(stderr, "hopx-agent: --listen %s: %s: %s\n", spec, what, strerror(err));
	return -err;
}

static int bind_listen(int fd, const struct sockaddr *sa, socklen_t len, const char *spec)
{
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) < 0 || listen(fd, 128) < 0) {
		int err = errno;

		close(fd);
		return fail(spec, "bind/listen", err);
	}
	return fd;
}

int agent_listen(const char *spec)
{
	int fd;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct stat st;

		if (strlen(spec + 5) == 0 || strlen(spec + 5) >= sizeof(sa.sun_path))
			return fail(spec, "socket path", ENAMETOOLONG);
		strcpy(sa.sun_path, spec + 5);
		if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(sa.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return fail(spec, "socket", errno);
		return bind_listen(fd, (struct sockaddr *)&sa, sizeof(sa), spec);
	}
	if (strncmp(spec, "tcp:", 4) == 0) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		char host[64];
		const char *colon = strrchr(spec + 4, ':');
		long port = colon ? strtol(colon + 1, NULL, 10) : -1;

		if (!colon || port < 0 || port > 65535 || (size_t)(colon - spec - 4) >= sizeof(host))
			return fail(spec, "expected tcp:HOST:PORT", EINVAL);
		memcpy(host, spec + 4, (size_t)(colon - spec - 4));
		host[colon - spec - 4] = '\0';
		if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) /* IPv4: the SDK forces it */
			return fail(spec, "HOST must be an IPv4 address", EINVAL);
		sa.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return fail(spec, "socket", errno);
		return bind_listen(fd, (struct sockaddr *)&sa, sizeof(sa), spec);
	}
	if (strncmp(spec, "vsock:", 6) == 0) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
		char *end;
		long port = strtol(spec + 6, &end, 10);

		if (*end || port <= 0 || port > 0x7fffffffL)
			return fail(spec, "expected vsock:PORT", EINVAL);
		sa.svm_port = (unsigned int)port;
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return fail(spec, "socket (is virtio-vsock present?)", errno);
		return bind_listen(fd, (struct sockaddr *)&sa, sizeof(sa), spec);
	}
	return fail(spec, "expected unix:PATH, tcp:HOST:PORT or vsock:PORT", EINVAL);
}
