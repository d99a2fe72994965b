/* A static /init for integration tests: proves guest userspace runs (on PVM
 * hosts, through our guest kernel's syscall fix-up). It runs a few system
 * calls, a fork+exec of itself, checks getrandom() works at once (the host's
 * SETUP_RNG_SEED), reports each step on the console as "hopx-test-init: ...",
 * writes hopx-vmm's boot-timer register through /dev/mem ("userspace ready"),
 * and powers the VM off. Exit paths all end in reboot(2): PID 1 must not exit. */
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
#include <sys/wait.h>
#include <unistd.h>

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
	signal_ready();
	printf("hopx-test-init: done, %d failure(s)\n", failures);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
