#!/usr/bin/env bash
# A guest kernel panic (here: no root filesystem) ends hopx-vmm with a
# non-zero status and a one-line reason quoting the panic.
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$VMM" "$KERNEL"

timeout 600 "$VMM" run --kernel "$KERNEL" --console none </dev/null 2>"$TMP/err"
rc=$?
cat "$TMP/err"
[ $rc = 1 ] || fail "expected exit 1 on a guest panic, got $rc"
assert_grep "^hopx-vmm: panic: guest kernel panic: .*Kernel panic - not syncing: VFS: Unable to mount root" \
	"$TMP/err" "panic reported in one line"
echo "PASS"
