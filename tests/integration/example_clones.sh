#!/usr/bin/env bash
# The README's libhopxvmm example (examples/clones.c): boot the test guest,
# snapshot it, run 5 clones in one process with exit callbacks; every clone
# powers off cleanly and every callback fires.
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$BUILD/examples/clones" "$BUILD/guest/test-guest.elf"
"$BUILD/examples/clones" "$BUILD/guest/test-guest.elf" "console=ttyS0 hopxguest.run=counter hopxguest.count=15" 5 \
	"$TMP" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "example exited $?"; }
cat "$TMP/out"
assert_grep "^5 clones ran, 5 exit callbacks, 0 did not power off cleanly" "$TMP/out" "all clones ran"
echo "PASS"
