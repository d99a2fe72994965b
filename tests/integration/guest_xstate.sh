#!/usr/bin/env bash
# Extended CPU state in a Linux guest: our kernel with the test /init's
# extended-state check (tests/init/xstate.c): three processes on one vCPU
# hold patterns in ymm8..15 (and zmm16/17/30/31 where the host has AVX-512)
# across sched_yield, 200 rounds each, and must get them back unchanged, with
# the kernel reporting AVX enabled (osxsave=1, XCR0). On software-KVM hosts
# the guest kernel's XSAVE and XRSTOR run through hopx-vmm's fix-ups, which
# --boot-timings and GET /metrics count. Before those fix-ups the guest ran
# `noxsave` and the same check saw its registers changed in 87-160 of 200
# rounds per process.
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$VMM" "$KERNEL" "$INITRD"
API="python3 $(dirname "$0")/api.py"

"$VMM" run --kernel "$KERNEL" --initrd "$INITRD" --boot-timings --console "$TMP/out" \
	--api-sock "$TMP/api.sock" --cmdline "console=ttyS0 reboot=k panic=-1 hopx_xstate=200" \
	2>"$TMP/err" &
pid=$!
for _ in $(seq 1 1200); do
	grep -aq "hopx-xstate: cpuid" "$TMP/out" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.5
done
$API "$TMP/api.sock" GET /metrics >"$TMP/metrics" 2>&1 || true
wait $pid
rc=$?
cat "$TMP/metrics"
grep -a "hopx-xstate" "$TMP/out"
assert_test_init_ran $rc "$TMP/out" "$TMP/err"
assert_grep "hopx-xstate: cpuid osxsave=1 .*ymm enabled" "$TMP/out" "the guest kernel enabled AVX"
assert_grep "hopx-xstate: ymm8..15 across 3 processes: ok" "$TMP/out" "ymm registers kept per process"
if grep -qw avx512f /proc/cpuinfo; then
	assert_grep "zmm enabled" "$TMP/out" "the guest kernel enabled AVX-512"
	assert_grep "hopx-xstate: zmm16/17/30/31 across 3 processes: ok" "$TMP/out" "zmm registers kept per process"
fi
assert_grep "hopx-test-init: extended state kept per process: ok" "$TMP/out" "the check passed"
if is_pvm; then
	assert_grep "boot-timings: +fix-up xsave +[1-9]" "$TMP/err" "XSAVE fix-ups counted"
	assert_grep "boot-timings: +fix-up xrstor +[1-9]" "$TMP/err" "XRSTOR fix-ups counted"
	assert_grep "boot-timings: fix-ups per second +[0-9]" "$TMP/err" "fix-up rate printed"
	assert_grep '"pvm_fixups":.*"xsave":[1-9]' "$TMP/metrics" "GET /metrics counts XSAVE fix-ups"
	assert_grep '"per_second":[0-9]' "$TMP/metrics" "GET /metrics gives the fix-up rate"
fi
echo "PASS"
