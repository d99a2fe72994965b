#!/usr/bin/env bash
# Pause/resume, snapshots, restores and clones with the test guest counting
# to N (each step written to its disk and read back; see tests/guest/counter.c):
# - 100 pause/resume cycles over the API while it counts: nothing lost;
# - snapshot mid-count, SIGKILL the VMM, restore in a new process: the count
#   goes on from where it was, with no gap, and the disk checks pass;
# - 10 clones of that snapshot side by side, each on its own copy of the
#   disk: each finishes;
# - corrupt, truncated and wrong-version state files, and memory files of the
#   wrong size, are refused with a clear message.
. "$(dirname "$0")/lib.sh"
need_kvm
GUEST=$BUILD/guest/test-guest.elf
need_files "$VMM" "$GUEST"
API="python3 $(dirname "$0")/api.py"
PEER=tests/guest/peer.py
python3 "$PEER" mkdisk "$TMP/disk.img" 1

wait_for() { # wait_for PATTERN FILE
	for _ in $(seq 1 300); do
		grep -aqE "$1" "$2" && return 0
		sleep 0.1
	done
	fail "no /$1/ in $2 after 30 s"
}

# counts_ok FILE FROM TO: every COUNTER from FROM to TO appears, in order, once.
counts_ok() {
	python3 - "$@" <<'PY'
import re, sys
seen = [int(m) for m in re.findall(r"^COUNTER (\d+)\r?$", open(sys.argv[1], errors="replace").read(), re.M)]
lo, hi = int(sys.argv[2]), int(sys.argv[3])
want = list(range(lo, hi + 1))
tail = seen[seen.index(lo):] if lo in seen else []
sys.exit(0 if tail == want else "counts in %s: expected %d..%d in order, got %s" % (sys.argv[1], lo, hi, seen[:5] + ["..."] + seen[-5:]))
PY
}

# 1. Pause/resume cycles while counting.
"$VMM" run --kernel "$GUEST" --drive path="$TMP/disk.img" --api-sock "$TMP/a.sock" \
	--cmdline "console=ttyS0 hopxguest.run=counter hopxguest.count=60" >"$TMP/cycles" 2>&1 &
vmm=$!
$API "$TMP/a.sock" wait || fail "API socket never answered"
wait_for "COUNTER 3$" "$TMP/cycles"
$API "$TMP/a.sock" cycles 100 || fail "pause/resume cycles"
wait $vmm || { cat "$TMP/cycles"; fail "VMM exited $? after the cycles"; }
assert_grep "hopx-test-guest: done, 0 failure" "$TMP/cycles" "guest counted to the end through 100 pause/resume cycles"
counts_ok "$TMP/cycles" 1 60 || fail "counter lost or repeated steps across pauses"
echo "ok: 100 pause/resume cycles lost nothing"

# 2. Snapshot mid-count, kill, restore in a new process.
"$VMM" run --kernel "$GUEST" --drive path="$TMP/disk.img" --api-sock "$TMP/b.sock" \
	--cmdline "console=ttyS0 hopxguest.run=counter hopxguest.count=40" >"$TMP/before" 2>&1 &
vmm=$!
$API "$TMP/b.sock" wait || fail "API socket never answered"
wait_for "COUNTER 10$" "$TMP/before"
out=$($API "$TMP/b.sock" PUT /snapshot/create "{\"snapshot_path\":\"$TMP/state\",\"mem_file_path\":\"$TMP/mem\"}")
case $out in 400*"must be paused"*) echo "ok: snapshot of a running VM refused" ;; *) fail "snapshot while running: $out" ;; esac
[ "$($API "$TMP/b.sock" PATCH /vm '{"state":"Paused"}')" = "204 " ] || fail "pause"
$API "$TMP/b.sock" GET / | grep -q '"state":"Paused"' || fail "GET / does not say Paused"
out=$($API "$TMP/b.sock" PUT /snapshot/create "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"$TMP/state\",\"mem_file_path\":\"$TMP/mem\"}")
[ "$out" = "204 " ] || fail "snapshot/create: $out"
last=$(grep -aoE "^COUNTER [0-9]+" "$TMP/before" | tail -1 | cut -d' ' -f2)
kill -9 $vmm
wait $vmm 2>/dev/null
cp "$TMP/disk.img" "$TMP/disk-at-snapshot.img"
[ -s "$TMP/state" ] && [ -s "$TMP/mem" ] || fail "snapshot files missing"
echo "ok: snapshot at COUNTER $last: state $(stat -c %s "$TMP/state") bytes, memory $(du -k "$TMP/mem" | cut -f1) KiB on disk of $(($(stat -c %s "$TMP/mem") >> 20)) MiB"
timeout 60 "$VMM" restore --state "$TMP/state" --mem "$TMP/mem" </dev/null >"$TMP/after" 2>&1 ||
	{ cat "$TMP/after"; fail "restore exited $?"; }
assert_grep "hopx-test-guest: done, 0 failure" "$TMP/after" "restored guest finished with its disk checks passing"
counts_ok "$TMP/after" $((last + 1)) 40 || fail "restored count does not go on from $last"
echo "ok: restored in a new process, counted on from $((last + 1)) to 40"

# Moved to "another host": export to one gzip file, import, restore.
"$VMM" export --state "$TMP/state" --mem "$TMP/mem" --out "$TMP/snap.gz" || fail "export"
"$VMM" import --in "$TMP/snap.gz" --state "$TMP/state2" --mem "$TMP/mem2" || fail "import"
cmp "$TMP/state" "$TMP/state2" && cmp "$TMP/mem" "$TMP/mem2" || fail "import does not give back the same files"
cp "$TMP/disk-at-snapshot.img" "$TMP/disk-import.img"
timeout 60 "$VMM" restore --state "$TMP/state2" --mem "$TMP/mem2" --drive-path 0="$TMP/disk-import.img" \
	</dev/null >"$TMP/imported" 2>&1 || { cat "$TMP/imported"; fail "restore of the imported snapshot"; }
counts_ok "$TMP/imported" $((last + 1)) 40 || fail "imported snapshot count"
head -c $(($(stat -c %s "$TMP/snap.gz") / 2)) "$TMP/snap.gz" >"$TMP/snap-cut.gz"
"$VMM" import --in "$TMP/snap-cut.gz" --state "$TMP/s3" --mem "$TMP/m3" 2>"$TMP/cut" && fail "a truncated export was imported"
grep -q "truncated" "$TMP/cut" || { cat "$TMP/cut"; fail "truncated export message"; }
[ ! -e "$TMP/s3" ] && [ ! -e "$TMP/m3" ] || fail "a failed import left files behind"
echo "ok: export ($(stat -c %s "$TMP/snap.gz") bytes gzip) and import give back the same snapshot; a truncated export is refused"

# 3. Ten clones of the snapshot at once, each on its own disk copy.
pids=()
for i in $(seq 1 10); do
	cp "$TMP/disk-at-snapshot.img" "$TMP/clone$i.img"
	timeout 120 "$VMM" restore --state "$TMP/state" --mem "$TMP/mem" --drive-path 0="$TMP/clone$i.img" \
		</dev/null >"$TMP/clone$i" 2>&1 &
	pids+=($!)
done
for i in $(seq 1 10); do
	wait "${pids[$((i - 1))]}" || { cat "$TMP/clone$i"; fail "clone $i exited $?"; }
	assert_grep "hopx-test-guest: done, 0 failure" "$TMP/clone$i" "clone $i finished"
	counts_ok "$TMP/clone$i" $((last + 1)) 40 || fail "clone $i count"
done
echo "ok: 10 clones each counted on from $((last + 1)) to 40"

# 4. Broken snapshots are refused before anything runs.
expect_refused() { # expect_refused PATTERN STATE MEM
	timeout 30 "$VMM" restore --state "$2" --mem "$3" </dev/null >"$TMP/bad" 2>&1 && fail "restored from a bad $2"
	grep -qE -- "$1" "$TMP/bad" || { cat "$TMP/bad"; fail "no /$1/ when refusing $2"; }
}
cp "$TMP/state" "$TMP/corrupt"
printf '\xff' | dd of="$TMP/corrupt" bs=1 seek=2000 conv=notrunc 2>/dev/null
expect_refused "CRC32 mismatch" "$TMP/corrupt" "$TMP/mem"
head -c 3000 "$TMP/state" >"$TMP/truncated"
expect_refused "truncated" "$TMP/truncated" "$TMP/mem"
cp "$TMP/state" "$TMP/version"
printf '\x63' | dd of="$TMP/version" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_refused "format version 99" "$TMP/version" "$TMP/mem"
head -c 4096 /dev/urandom >"$TMP/foreign"
expect_refused "not a hopx state file" "$TMP/foreign" "$TMP/mem"
truncate -s 64M "$TMP/small-mem"
expect_refused "wrong file" "$TMP/state" "$TMP/small-mem"
expect_refused "No such file" "$TMP/state" "$TMP/nonexistent"
echo "ok: corrupt, truncated, wrong-version and foreign state files and a wrong-size memory file refused"
echo "PASS"
