/* A static /init for integration tests: proves guest userspace runs (on PVM
 * hosts, through our guest kernel's syscall fix-up). It runs a few system
 * calls, a fork+exec of itself, checks getrandom() works at once (the host's
 * SETUP_RNG_SEED), reports each step on the console as "hopx-test-init: ...",
 * writes hopx-vmm's boot-timer register through /dev/mem ("userspace ready"),
 * and powers the VM off. With hopx_vsock=HOSTPORT:GUESTPORT on the kernel
 * command line it connects to the host over AF_VSOCK and then echoes what a
 * host-initiated connection sends; with hopx_write=TEXT it writes TEXT to
 * /hopx-written on its root filesystem (the host reads the image back); with
 * hopx_clone=1 it says "ready for clone", waits for a line on the console
 * (the host snapshots it meanwhile and types the line into each clone), and
 * prints 16 bytes from the kernel's crng (getrandom, as /dev/urandom), which
 * must differ between clones. With hopx_xstate=ROUNDS it runs the
 * extended-state check (xstate.c: three processes holding AVX registers
 * across yields; hopx_xstate_force=1 runs it even where the kernel has not
 * enabled AVX). Exit paths all end in reboot(2): PID 1 must not exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "xstate.h"

#define BOOT_TIMER_ADDR 0xd0000000UL
#define READY_VALUE 0x484f5058UL /* "HOPX" */

static int failures;

static void check(int ok, const char *what)
{
	printf("hopx-test-init: %s: %s\n", what, ok ? "ok" : "FAILED");
	if (!ok) {
		printf("hopx-test-init:   errno %d (%s)\n", errno, strerror(errno));
		failures++;
	}
	fflush(stdout);
}

static void console_stdio(void)
{
	int fd;

	/* The kernel opens /dev/console for us if the initramfs has it; if not, use devtmpfs. */
	if (fcntl(1, F_GETFD) >= 0)
		return;
	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
}

static void signal_ready(void)
{
	volatile uint32_t *reg;
	int fd;

	if (access("/dev/mem", F_OK) != 0)
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/mem", O_RDWR | O_SYNC);

	check(fd >= 0, "open /dev/mem");
	if (fd < 0)
		return;
	reg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, BOOT_TIMER_ADDR);
	check(reg != MAP_FAILED, "map boot-timer register");
	if (reg != MAP_FAILED) {
		*reg = READY_VALUE;
		munmap((void *)reg, 4096);
	}
	close(fd);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Guest-initiated: connect to the host's HOSTPORT and say hello. Then
 * host-initiated: accept on GUESTPORT and echo everything until EOF. */
static void vsock_test(const char *spec)
{
	unsigned int hport, gport;
	struct sockaddr_vm host = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST };
	struct sockaddr_vm any = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	char buf[16384];
	const char hello[] = "hello from the guest\n";
	long total = 0;
	ssize_t n;
	int l, c, a;

	if (sscanf(spec, "%u:%u", &hport, &gport) != 2) {
		check(0, "hopx_vsock=HOSTPORT:GUESTPORT");
		return;
	}
	host.svm_port = hport;
	any.svm_port = gport;
	l = socket(AF_VSOCK, SOCK_STREAM, 0);
	check(l >= 0 && bind(l, (struct sockaddr *)&any, sizeof(any)) == 0 && listen(l, 4) == 0,
	      "vsock listen");
	c = socket(AF_VSOCK, SOCK_STREAM, 0);
	check(c >= 0 && connect(c, (struct sockaddr *)&host, sizeof(host)) == 0, "vsock connect to the host");
	check(write_all(c, hello, sizeof(hello) - 1) == 0, "vsock send hello");
	close(c);
	a = accept(l, NULL, NULL);
	check(a >= 0, "vsock accept a host connection");
	while (a >= 0 && (n = read(a, buf, sizeof(buf))) > 0) {
		if (write_all(a, buf, (size_t)n))
			break;
		total += n;
	}
	printf("hopx-test-init: vsock echoed %ld bytes\n", total);
	check(total > 0, "vsock echo");
	close(a);
	close(l);
}

static void write_test(const char *text)
{
	int fd = open("/hopx-written", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	check(fd >= 0 && write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0 && close(fd) == 0,
	      "write /hopx-written");
}

int main(int argc, char **argv)
{
	struct utsname u;
	unsigned char rnd[16];
	pid_t pid;
	int status = -1;

	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		printf("hopx-test-init: child pid %d ran exec\n", (int)getpid());
		return 42;
	}
	console_stdio();
	printf("hopx-test-init: started as pid %d\n", (int)getpid());
	check(getpid() == 1, "running as pid 1");
	check(uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0, "uname");
	check(getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) == (ssize_t)sizeof(rnd), "getrandom without blocking");
	check(mkdir("/proc", 0555) == 0 || errno == EEXIST, "mkdir /proc");
	check(mount("proc", "/proc", "proc", 0, NULL) == 0, "mount /proc");
	{
		char buf[64] = "";
		int fd = open("/proc/cpuinfo", O_RDONLY);
		int cpus = 0;
		FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
		char line[256];

		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "processor", 9) == 0)
				cpus++;
		if (f)
			fclose(f);
		snprintf(buf, sizeof(buf), "online cpus %d", cpus);
		check(cpus > 0, buf);
		printf("hopx-test-init: cpus=%d\n", cpus);
	}
	pid = fork();
	if (pid == 0) {
		execl("/init", "/init", "child", (char *)NULL);
		_exit(127);
	}
	check(pid > 0, "fork");
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 42,
	      "fork+exec child exited 42");
	if (getenv("hopx_echo")) {
		/* Console input test: the host types a line once it sees the prompt. */
		char line[128] = "";

		printf("hopx-test-init: type a line\n");
		fflush(stdout);
		check(fgets(line, sizeof(line), stdin) != NULL, "read a line from the console");
		line[strcspn(line, "\r\n")] = '\0';
		printf("hopx-test-init: echo: <%s>\n", line);
	}
	if (getenv("hopx_clone")) {
		char line[64];
		unsigned char r[16];

		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		printf("hopx-test-init: ready for clone\n");
		fflush(stdout);
		check(fgets(line, sizeof(line), stdin) != NULL, "clone: read a line");
		/* Across a snapshot and restore the clock may step by the downtime,
		 * never backwards. */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("hopx-test-init: monotonic clock moved %lld ms while waiting\n",
		       (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		/* getrandom(): the crng behind /dev/urandom (the initramfs has no /dev). */
		check(getrandom(r, sizeof(r), 0) == (ssize_t)sizeof(r), "clone: read urandom");
		printf("hopx-test-init: urandom ");
		for (size_t i = 0; i < sizeof(r); i++)
			printf("%02x", r[i]);
		printf("\n");
		fflush(stdout);
	}
	if (getenv("hopx_xstate"))
		check(xstate_check(3, atoi(getenv("hopx_xstate")), getenv("hopx_xstate_force") != NULL) == 0,
		      "extended state kept per process");
	if (getenv("hopx_write"))
		write_test(getenv("hopx_write"));
	if (getenv("hopx_vsock"))
		vsock_test(getenv("hopx_vsock"));
	signal_ready();
	printf("hopx-test-init: done, %d failure(s)\n", failures);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
