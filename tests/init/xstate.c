/* Does the guest kernel keep each process's extended CPU state apart?
 * PROCS processes, pinned to one CPU, each fill ymm8..ymm15 (and, where
 * AVX-512 is enabled, zmm16, zmm17, zmm30, zmm31) with a pattern of their
 * own, yield the CPU inside the same asm block (so no library code runs in
 * between), and read the registers back; any change is another process's
 * state leaking in. Used by the test /init (hopx_xstate=ROUNDS) and built
 * alone as xstate-check for sandboxes. Prints "hopx-xstate: ..." lines;
 * returns the number of failures. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xstate.h"

#define SYS_SCHED_YIELD 24

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

struct xfeatures {
	bool osxsave, avx_cpu, avx512_cpu;
	uint64_t xcr0;
};

static struct xfeatures probe(void)
{
	struct xfeatures f = { 0 };
	unsigned int a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d)) {
		f.osxsave = c & (1u << 27);
		f.avx_cpu = c & (1u << 28);
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		f.avx512_cpu = b & (1u << 16);
	if (f.osxsave)
		f.xcr0 = xgetbv0();
	return f;
}

__attribute__((target("avx"))) static void ymm_round(const uint8_t *in, uint8_t *out)
{
	long ret = SYS_SCHED_YIELD;

	__asm__ volatile("vmovdqu 0(%[in]), %%ymm8\n\t"
			 "vmovdqu 32(%[in]), %%ymm9\n\t"
			 "vmovdqu 64(%[in]), %%ymm10\n\t"
			 "vmovdqu 96(%[in]), %%ymm11\n\t"
			 "vmovdqu 128(%[in]), %%ymm12\n\t"
			 "vmovdqu 160(%[in]), %%ymm13\n\t"
			 "vmovdqu 192(%[in]), %%ymm14\n\t"
			 "vmovdqu 224(%[in]), %%ymm15\n\t"
			 "syscall\n\t"
			 "vmovdqu %%ymm8, 0(%[out])\n\t"
			 "vmovdqu %%ymm9, 32(%[out])\n\t"
			 "vmovdqu %%ymm10, 64(%[out])\n\t"
			 "vmovdqu %%ymm11, 96(%[out])\n\t"
			 "vmovdqu %%ymm12, 128(%[out])\n\t"
			 "vmovdqu %%ymm13, 160(%[out])\n\t"
			 "vmovdqu %%ymm14, 192(%[out])\n\t"
			 "vmovdqu %%ymm15, 224(%[out])\n\t"
			 "vzeroupper"
			 : "+a"(ret)
			 : [in] "r"(in), [out] "r"(out)
			 : "rcx", "r11", "memory", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
			   "xmm15");
	(void)ret;
}

__attribute__((target("avx512f"))) static void zmm_round(const uint8_t *in, uint8_t *out)
{
	long ret = SYS_SCHED_YIELD;

	__asm__ volatile("vmovdqu64 0(%[in]), %%zmm16\n\t"
			 "vmovdqu64 64(%[in]), %%zmm17\n\t"
			 "vmovdqu64 128(%[in]), %%zmm30\n\t"
			 "vmovdqu64 192(%[in]), %%zmm31\n\t"
			 "syscall\n\t"
			 "vmovdqu64 %%zmm16, 0(%[out])\n\t"
			 "vmovdqu64 %%zmm17, 64(%[out])\n\t"
			 "vmovdqu64 %%zmm30, 128(%[out])\n\t"
			 "vmovdqu64 %%zmm31, 192(%[out])\n\t"
			 "vzeroupper"
			 : "+a"(ret)
			 : [in] "r"(in), [out] "r"(out)
			 : "rcx", "r11", "memory", "xmm16", "xmm17", "xmm30", "xmm31");
	(void)ret;
}

static void pattern(uint8_t *buf, int proc, int round, int salt)
{
	for (int i = 0; i < 256; i++)
		buf[i] = (uint8_t)((proc * 97 + round * 13 + i * 7 + salt * 31) ^ 0x5a);
}

/* One process's rounds; returns how many came back changed. */
static int run_rounds(int proc, int rounds, bool zmm)
{
	uint8_t in[256], out[256];
	int changed = 0;

	for (int r = 0; r < rounds; r++) {
		pattern(in, proc, r, zmm);
		memset(out, 0, sizeof(out));
		if (zmm)
			zmm_round(in, out);
		else
			ymm_round(in, out);
		if (memcmp(in, out, sizeof(in)))
			changed++;
	}
	return changed;
}

int xstate_check(int procs, int rounds, bool force)
{
	struct xfeatures f = probe();
	bool ymm_on = f.osxsave && f.avx_cpu && (f.xcr0 & 0x6) == 0x6;
	bool zmm_on = ymm_on && f.avx512_cpu && (f.xcr0 & 0xe6) == 0xe6;
	int failures = 0;
	cpu_set_t one;

	printf("hopx-xstate: cpuid osxsave=%d avx=%d avx512f=%d, xcr0=%#llx: ymm %s, zmm %s\n", f.osxsave,
	       f.avx_cpu, f.avx512_cpu, (unsigned long long)f.xcr0, ymm_on ? "enabled" : "off",
	       zmm_on ? "enabled" : "off");
	if (!ymm_on && !(force && f.avx_cpu)) {
		printf("hopx-xstate: AVX not enabled by the kernel: FAILED\n");
		fflush(stdout);
		return 1;
	}
	fflush(stdout);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	for (int kind = 0; kind < 2; kind++) {
		bool zmm = kind == 1;
		int bad = 0;

		if (zmm && !zmm_on && !(force && f.avx512_cpu))
			continue;
		for (int p = 0; p < procs; p++) {
			pid_t pid = fork();

			if (pid == 0) {
				int changed;

				sched_setaffinity(0, sizeof(one), &one);
				changed = run_rounds(p, rounds, zmm);
				printf("hopx-xstate: %s process %d: %d of %d rounds changed\n", zmm ? "zmm" : "ymm", p,
				       changed, rounds);
				fflush(stdout);
				_exit(changed ? 1 : 0);
			}
			if (pid < 0)
				bad++;
		}
		for (int p = 0; p < procs; p++) {
			int status;

			if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
				bad++;
		}
		printf("hopx-xstate: %s across %d processes: %s\n", zmm ? "zmm16/17/30/31" : "ymm8..15", procs,
		       bad ? "FAILED" : "ok");
		fflush(stdout);
		failures += bad;
	}
	return failures;
}
