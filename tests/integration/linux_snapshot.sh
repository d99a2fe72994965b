#!/usr/bin/env bash
# Snapshots of a Linux guest (our kernel, the test /init):
# 1. pause mid-boot, snapshot, SIGKILL the VMM, restore in a new process: the
#    boot continues to /init and every /init check passes;
# 2. when /init is up and waiting, snapshot again and restore two clones:
#    each reads /dev/urandom right after restore and gets different bytes
#    (the VM generation device reseeds the guest's RNG on restore).
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$VMM" "$KERNEL" "$INITRD"
API="python3 $(dirname "$0")/api.py"

wait_for() { # wait_for PATTERN FILE SECONDS
	for _ in $(seq 1 $(($3 * 10))); do
		grep -aqE "$1" "$2" && return 0
		sleep 0.1
	done
	tail -5 "$2"
	fail "no /$1/ in $2 after $3 s"
}

mkfifo "$TMP/in0"
exec 3<>"$TMP/in0"
"$VMM" run --kernel "$KERNEL" --initrd "$INITRD" --api-sock "$TMP/a.sock" \
	--cmdline "console=ttyS0 reboot=k panic=-1 hopx_clone=1" <"$TMP/in0" >"$TMP/boot" 2>&1 &
vmm=$!
$API "$TMP/a.sock" wait || fail "API socket never answered"
wait_for "hopx-genid: the crng is reseeded on every VM restore" "$TMP/boot" 120
[ "$($API "$TMP/a.sock" PATCH /vm '{"state":"Paused"}')" = "204 " ] || fail "pause mid-boot"
grep -aq "Run /init as init process" "$TMP/boot" && fail "too late: /init already ran (not mid-boot)"
[ "$($API "$TMP/a.sock" PUT /snapshot/create "{\"snapshot_path\":\"$TMP/s1\",\"mem_file_path\":\"$TMP/m1\"}")" = "204 " ] ||
	fail "snapshot mid-boot"
kill -9 $vmm
wait $vmm 2>/dev/null
echo "ok: snapshot mid-boot ($(grep -ac '' "$TMP/boot") console lines in), VMM killed"

mkfifo "$TMP/in1"
exec 4<>"$TMP/in1"
"$VMM" restore --state "$TMP/s1" --mem "$TMP/m1" --api-sock "$TMP/b.sock" <"$TMP/in1" >"$TMP/restored" 2>&1 &
vmm=$!
wait_for "Run /init as init process" "$TMP/restored" 120
wait_for "hopx-test-init: ready for clone" "$TMP/restored" 120
echo "ok: the restored boot reached /init"
[ "$($API "$TMP/b.sock" PATCH /vm '{"state":"Paused"}')" = "204 " ] || fail "pause at /init"
[ "$($API "$TMP/b.sock" PUT /snapshot/create "{\"snapshot_path\":\"$TMP/s2\",\"mem_file_path\":\"$TMP/m2\"}")" = "204 " ] ||
	fail "snapshot at /init"
[ "$($API "$TMP/b.sock" PATCH /vm '{"state":"Resumed"}')" = "204 " ] || fail "resume"
printf 'go\r' >&4
wait $vmm || { tail -20 "$TMP/restored"; fail "restored VMM exited $?"; }
assert_grep "hopx-test-init: done, 0 failure" "$TMP/restored" "the restored boot's /init passed every check"

for c in 1 2; do
	printf 'go\r' | timeout 60 "$VMM" restore --state "$TMP/s2" --mem "$TMP/m2" >"$TMP/clone$c" 2>&1 ||
		{ tail -20 "$TMP/clone$c"; fail "clone $c exited $?"; }
	assert_grep "hopx-test-init: done, 0 failure" "$TMP/clone$c" "clone $c finished"
done
a=$(grep -ao "urandom [0-9a-f]*" "$TMP/clone1")
b=$(grep -ao "urandom [0-9a-f]*" "$TMP/clone2")
o=$(grep -ao "urandom [0-9a-f]*" "$TMP/restored")
echo "clone 1: $a; clone 2: $b; original: $o"
[ -n "$a" ] && [ -n "$b" ] || fail "a clone did not print its urandom bytes"
[ "$a" != "$b" ] && [ "$a" != "$o" ] && [ "$b" != "$o" ] || fail "clones read the same /dev/urandom bytes"
echo "ok: two clones of one snapshot read different /dev/urandom bytes right after restore"
for f in restored clone1 clone2; do
	ms=$(grep -ao "monotonic clock moved -\?[0-9]* ms" "$TMP/$f" | grep -o -- "-\?[0-9]*" | head -1)
	[ -n "$ms" ] || fail "$f: no clock line"
	[ "$ms" -ge 0 ] && [ "$ms" -lt 600000 ] || fail "$f: the guest's monotonic clock moved $ms ms across the restore"
	echo "ok: $f: guest monotonic clock moved $ms ms across snapshot/restore (never backwards)"
done
echo "PASS"
