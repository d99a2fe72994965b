#!/usr/bin/env bash
# SIGTERM stops a running VM at once, whatever the guest is doing: every vCPU
# is kicked out of KVM_RUN, hopx-vmm exits 1 with the reason, within seconds.
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$VMM" "$KERNEL" "$INITRD"

"$VMM" run --kernel "$KERNEL" --initrd "$INITRD" --vcpus 2 --console none </dev/null 2>"$TMP/err" &
pid=$!
sleep 3
kill -0 $pid 2>/dev/null || { cat "$TMP/err"; fail "hopx-vmm ended before the signal"; }
start=$(date +%s)
kill -TERM $pid
for _ in $(seq 1 100); do
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
if kill -0 $pid 2>/dev/null; then
	kill -KILL $pid
	fail "hopx-vmm still running 10 s after SIGTERM"
fi
wait $pid
rc=$?
cat "$TMP/err"
[ $rc = 1 ] || fail "expected exit 1 after SIGTERM, got $rc"
assert_grep "^hopx-vmm: stopped: stopped by the VMM's user" "$TMP/err" "stop reason reported"
echo "PASS: stopped in $(( $(date +%s) - start )) s"
