#!/usr/bin/env bash
# On a software-KVM (PVM) host, with the fix-ups turned off (as on any other
# host), an instruction KVM cannot emulate is fatal: exit 1 and a one-line
# reason naming the instruction bytes and RIP.
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$VMM" "$KERNEL"
if ! is_pvm; then
	echo "SKIP: not a PVM host: hardware KVM never leaves these instructions to the VMM"
	exit 77
fi
timeout 600 "$VMM" run --kernel "$KERNEL" --pvm off --console none </dev/null 2>"$TMP/err"
rc=$?
cat "$TMP/err"
[ $rc = 1 ] || fail "expected exit 1, got $rc"
assert_grep "^hopx-vmm: error: vCPU 0: KVM could not emulate instruction bytes \[[0-9a-f]{2}( [0-9a-f]{2})*\] at RIP 0x[0-9a-f]+" \
	"$TMP/err" "fatal internal error names bytes and RIP"
echo "PASS"
