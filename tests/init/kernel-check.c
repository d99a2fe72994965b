/* kernel-check [ROUNDS]: does the guest kernel hand user space back exactly
 * what it had? Two probes of what, if it went wrong now and then, would look
 * like the flaky failures of issue 13 (a pipe or socket ending early, a
 * request arriving garbled):
 *
 *  registers  PROCS processes on one CPU, each loading every general-purpose
 *             register the syscall ABI preserves (all but rax, rcx, r11)
 *             with its own pattern, then a system call (sched_yield, getppid,
 *             a read that fails with EAGAIN), then reading them back; with a
 *             1 ms interval timer whose signal handler scribbles on the
 *             registers, so signals land around the system calls. On
 *             software-KVM hosts a user-mode `syscall` is completed by the
 *             guest kernel's page-fault entry (docs/guest-kernel.md): this is
 *             that path under interrupts, signals and context switches.
 *  copies     a writer process streams a seeded byte sequence through a
 *             pipe and a Unix socket pair in chunks of random sizes; the
 *             reader reads into fresh, never-touched pages at random offsets
 *             (so the kernel's copy to user space takes page faults midway)
 *             and checks every byte.
 *
 * Prints "hopx-kcheck: ..." lines; exit 0 when nothing came back changed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROCS 3
#define NREGS 16

/* regs_syscall(nr, in, out): every register but rsp, rax, rcx and r11 from
 * IN[i] (i = the register's number: rbx 3, rdx 2, rsi 6, rdi 7, rbp 5, r8..r15
 * 8..15), then `syscall` NR, then every register into OUT[i]; OUT[0] is the
 * result. */
uint64_t regs_syscall(uint64_t nr, const uint64_t *in, uint64_t *out);
__asm__(".text\n"
	".globl regs_syscall\n"
	"regs_syscall:\n"
	"	push %rbx\n	push %rbp\n	push %r12\n	push %r13\n	push %r14\n	push %r15\n"
	"	push %rdx\n" /* out */
	"	push %rdi\n" /* nr */
	"	mov %rsi, %rax\n"
	"	mov 16(%rax), %rdx\n	mov 24(%rax), %rbx\n	mov 40(%rax), %rbp\n"
	"	mov 48(%rax), %rsi\n	mov 56(%rax), %rdi\n"
	"	mov 64(%rax), %r8\n	mov 72(%rax), %r9\n	mov 80(%rax), %r10\n	mov 88(%rax), %r11\n"
	"	mov 96(%rax), %r12\n	mov 104(%rax), %r13\n	mov 112(%rax), %r14\n	mov 120(%rax), %r15\n"
	"	mov (%rsp), %rax\n"
	"	syscall\n"
	"	push %rax\n"
	"	mov 16(%rsp), %rax\n" /* out */
	"	mov %rdx, 16(%rax)\n	mov %rbx, 24(%rax)\n	mov %rbp, 40(%rax)\n"
	"	mov %rsi, 48(%rax)\n	mov %rdi, 56(%rax)\n"
	"	mov %r8, 64(%rax)\n	mov %r9, 72(%rax)\n	mov %r10, 80(%rax)\n"
	"	mov %r12, 96(%rax)\n	mov %r13, 104(%rax)\n	mov %r14, 112(%rax)\n	mov %r15, 120(%rax)\n"
	"	pop %rdx\n	mov %rdx, (%rax)\n"
	"	mov %rdx, %rax\n"
	"	add $16, %rsp\n"
	"	pop %r15\n	pop %r14\n	pop %r13\n	pop %r12\n	pop %rbp\n	pop %rbx\n"
	"	ret\n");

static const int checked[] = { 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15 }; /* rdx rbx rbp rsi rdi r8-r10 r12-r15 */

static volatile sig_atomic_t ticks;

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
	/* Scribble on the registers the handler may use: sigreturn must undo it. */
	__asm__ volatile("mov $0xdead, %%rdx\n\tmov $0xbeef, %%rsi\n\tmov $0xf00d, %%r8\n\tmov $0xcafe, %%r10"
			 ::: "rdx", "rsi", "r8", "r10");
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* One process's register rounds; returns how many came back changed. */
static int register_rounds(int proc, int rounds, int efd)
{
	static const uint64_t nrs[] = { 24 /* sched_yield */, 110 /* getppid */, 0 /* read */ };
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	int changed = 0;

	signal(SIGALRM, on_tick);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int r = 0; r < rounds; r++) {
		uint64_t in[NREGS], out[NREGS] = { 0 }, nr = nrs[r % 3];

		for (int i = 0; i < NREGS; i++)
			in[i] = mix(((uint64_t)proc << 48) ^ ((uint64_t)r << 8) ^ (uint64_t)i);
		if (nr == 0) { /* read(efd, in+?, 1): a nonblocking pipe that is empty: EAGAIN */
			in[7] = (uint64_t)efd;
			in[6] = (uint64_t)(uintptr_t)&out[1];
			in[2] = 1;
		}
		regs_syscall(nr, in, out);
		for (size_t k = 0; k < sizeof(checked) / sizeof(checked[0]); k++) {
			if (out[checked[k]] != in[checked[k]]) {
				if (changed < 3)
					printf("hopx-kcheck: process %d round %d syscall %llu: register %d %#llx, was %#llx\n",
					       proc, r, (unsigned long long)nr, checked[k], (unsigned long long)out[checked[k]],
					       (unsigned long long)in[checked[k]]);
				changed++;
				break;
			}
		}
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	return changed;
}

static uint8_t stream_byte(uint64_t seed, uint64_t pos)
{
	return (uint8_t)(mix(seed ^ (pos >> 3)) >> (8 * (pos & 7)));
}

/* Stream TOTAL bytes through FDS (writer child, reader here); returns the
 * number of reads that brought a byte it should not have. */
static int copy_rounds(const char *what, int fds[2], uint64_t total, uint64_t seed)
{
	pid_t pid = fork();
	uint64_t pos = 0, rnd = seed;
	int bad = 0, reads = 0;

	if (pid == 0) {
		uint8_t buf[65536];
		uint64_t w = 0;

		close(fds[0]);
		while (w < total) {
			size_t n = 1 + (size_t)(mix(rnd++) % sizeof(buf));

			if (n > total - w)
				n = (size_t)(total - w);
			for (size_t i = 0; i < n; i++)
				buf[i] = stream_byte(seed, w + i);
			for (size_t off = 0; off < n;) {
				ssize_t k = write(fds[1], buf + off, n - off);

				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0)
					_exit(2);
				off += (size_t)k;
			}
			w += n;
		}
		_exit(0);
	}
	close(fds[1]);
	while (pos < total) {
		size_t span = 4 * 4096, off = (size_t)(mix(rnd ^ 0x5555) % 4096), want = 1 + (size_t)(mix(rnd + 7) % 12000);
		uint8_t *page = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ssize_t n;

		rnd++;
		if (page == MAP_FAILED)
			return bad + 1;
		n = read(fds[0], page + off, want);
		if (n < 0 && errno == EINTR) {
			munmap(page, span);
			continue;
		}
		if (n <= 0) {
			printf("hopx-kcheck: %s: %s after %llu of %llu bytes\n", what, n ? strerror(errno) : "end of file",
			       (unsigned long long)pos, (unsigned long long)total);
			munmap(page, span);
			bad++;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (page[off + (size_t)i] != stream_byte(seed, pos + (uint64_t)i)) {
				if (bad < 3)
					printf("hopx-kcheck: %s: byte %llu is %#x, not %#x (a read of %zd at page offset %zu)\n",
					       what, (unsigned long long)(pos + (uint64_t)i), page[off + (size_t)i],
					       stream_byte(seed, pos + (uint64_t)i), n, off);
				bad++;
				break;
			}
		}
		pos += (uint64_t)n;
		reads++;
		munmap(page, span);
	}
	close(fds[0]);
	{
		int status;

		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	printf("hopx-kcheck: %s: %llu bytes in %d reads into fresh pages: %s\n", what, (unsigned long long)pos, reads,
	       bad ? "FAILED" : "ok");
	return bad;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 2000, bad = 0, efd[2], fds[2];
	cpu_set_t one;

	if (rounds <= 0)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (pipe2(efd, O_NONBLOCK) < 0)
		return 2;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	for (int p = 0; p < PROCS; p++) {
		pid_t pid = fork();

		if (pid == 0) {
			int changed;

			sched_setaffinity(0, sizeof(one), &one);
			changed = register_rounds(p, rounds, efd[0]);
			printf("hopx-kcheck: registers, process %d: %d of %d system calls changed one (%d timer signals)\n", p,
			       changed, rounds, (int)ticks);
			_exit(changed ? 1 : 0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	printf("hopx-kcheck: registers across system calls in %d processes: %s\n", PROCS, bad ? "FAILED" : "ok");
	if (pipe(fds) == 0)
		bad += copy_rounds("pipe", fds, (uint64_t)rounds * 1024, 1);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0)
		bad += copy_rounds("unix socket", fds, (uint64_t)rounds * 1024, 2);
	printf("hopx-kcheck: %s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
