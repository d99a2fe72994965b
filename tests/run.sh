#!/usr/bin/env bash
# Runs the unit test binaries given as arguments and, with "all", the
# integration tests in tests/integration/. Each test is a program that exits
# 0 (pass), 77 (skip, with a message saying why) or anything else (fail).
# Prints one line per test, then "N passed, N failed, N skipped", and checks
# the host kernel log for KVM warnings raised while the tests ran.
# usage: tests/run.sh unit|all UNIT_BINARY...
set -u
mode=${1:?usage: run.sh unit|all BIN...}
shift
here=$(cd "$(dirname "$0")" && pwd)
export BUILD=${BUILD:-build}
logdir=$BUILD/test-logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0
failed=()

dmesg_before=$(dmesg 2>/dev/null | wc -l)

run() {
	local name=$1
	shift
	local log=$logdir/$name.log start end rc
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS  %-28s %4ss\n' "$name" $((end - start)) ;;
	77) skip=$((skip + 1)); printf 'SKIP  %-28s %s\n' "$name" "$(grep -m1 -i skip "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL  %-28s exit %s, log %s\n' "$name" "$rc" "$log"
	   tail -n 25 "$log" | sed 's/^/      | /' ;;
	esac
}

for bin in "$@"; do
	run "$(basename "$bin")" "$bin"
done
if [ "$mode" = all ]; then
	for t in "$here"/integration/*.sh; do
		[ -x "$t" ] || continue # lib.sh and other helpers
		run "$(basename "$t" .sh)" "$t"
	done
fi

# KVM bugs show up in the host's kernel log (as liburing's runner checks).
if dmesg >/dev/null 2>&1; then
	new=$(dmesg 2>/dev/null | tail -n +$((dmesg_before + 1)) | grep -E "kernel BUG at|WARNING:|general protection|Oops" || true)
	if [ -n "$new" ]; then
		echo "host kernel log gained warnings during the tests:"
		echo "$new" | sed 's/^/      | /'
		fail=$((fail + 1)); failed+=("host-dmesg")
	fi
fi

echo "${pass} passed, ${fail} failed, ${skip} skipped"
[ "$fail" = 0 ]
