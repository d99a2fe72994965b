/* TAP devices for virtio-net (see tap.h). */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "../lib/log.h"

/* The TAP's fd, or -errno. */
static int open_tap(const char *name)
{
	struct ifreq ifr;
	int hdr = TAP_VNET_HDR_LEN, fd, err;

	if (strlen(name) >= IFNAMSIZ) {
		pr_err("TAP name '%s' is longer than %d characters", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("open /dev/net/tun: %s: load the tun module (modprobe tun) and run as root or with "
		       "CAP_NET_ADMIN", strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		pr_err("TUNSETIFF %s: %s: %s", name, strerror(errno),
		       err == -EBUSY ? "another process has it open" :
		       err == -EPERM ? "needs CAP_NET_ADMIN, or a TAP created for this user (ip tuntap add ... user U)" :
				       "is it a TAP (not TUN) device?");
		goto err;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		err = -errno;
		pr_err("TAP %s: setting the vnet header size / offloads: %s", name, strerror(errno));
		goto err;
	}
	return fd;
err:
	close(fd);
	return err;
}

int tap_open(struct tap *tap, const char *name)
{
	int fd = open_tap(name);

	if (fd < 0) {
		tap->fd = -1;
		return fd;
	}
	tap_adopt(tap, fd, name);
	return 0;
}

void tap_adopt(struct tap *tap, int fd, const char *name)
{
	tap->fd = fd;
	snprintf(tap->name, sizeof(tap->name), "%s", name);
}

void tap_close(struct tap *tap)
{
	if (tap->fd >= 0)
		close(tap->fd);
	tap->fd = -1;
}

/* One whole frame in (readv) or out (writev). */
static int queue_frame(struct tap *tap, struct devloop *l, struct devloop_op *op, const struct iovec *iov,
		       unsigned int n, bool out)
{
	struct io_uring_sqe *sqe = devloop_sqe(l);

	if (!sqe)
		return -EBUSY;
	if (out)
		io_uring_prep_writev(sqe, tap->fd, iov, n, 0);
	else
		io_uring_prep_readv(sqe, tap->fd, iov, n, 0);
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

int tap_readv(struct tap *tap, struct devloop *l, struct devloop_op *op, const struct iovec *iov, unsigned int n)
{
	return queue_frame(tap, l, op, iov, n, false);
}

int tap_writev(struct tap *tap, struct devloop *l, struct devloop_op *op, const struct iovec *iov, unsigned int n)
{
	return queue_frame(tap, l, op, iov, n, true);
}
