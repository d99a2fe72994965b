#!/usr/bin/env bash
# Devices end to end with our freestanding test guest (tests/guest/) as the
# kernel: virtio-blk read/write/flush/get-id/discard checked against the
# image, a read-only drive refusing writes, every hostile-chain case (each
# fails only its request, a corrupt ring asks for a reset, and the VMM logs
# once), virtio-net TX/RX through a TAP in a test namespace, and vsock echo
# both ways, four streams at once and a 4 MiB transfer checked by CRC32;
# and the cpu scenario: ring-0 XSETBV/XSAVE/XRSTOR/VERW with good and
# hostile operands (misaligned, non-canonical, unmapped, crossing into an
# unmapped page, malformed headers, a bad MXCSR, a bad XCR0; on software-KVM
# hosts also operands that are not RAM), each the architectural result or
# fault, the VMM unharmed.
. "$(dirname "$0")/lib.sh"
need_kvm
GUEST=$BUILD/guest/test-guest.elf
need_files "$VMM" "$GUEST"
PEER=tests/guest/peer.py

python3 "$PEER" mkdisk "$TMP/disk.img" 8
python3 "$PEER" mkdisk "$TMP/ro.img" 1
ro_sum=$(sha256sum <"$TMP/ro.img")

run=blk,hostile,vsock,cpu
netns=()
netargs=()
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && [ -e /dev/net/tun ]; then
	make_netns
	netns=(ip netns exec "$NETNS")
	netargs=(--net tap=hxtap0)
	run=$run,net
else
	echo "note: not root: the net scenario runs only as root (TAP in a namespace)"
fi

"${netns[@]}" python3 "$PEER" serve "$TMP/v.sock" ${netargs:+--tap hxtap0} --seconds 120 >"$TMP/peer" 2>&1 &
peer=$!
sleep 0.3
"${netns[@]}" timeout 120 "$VMM" run --kernel "$GUEST" \
	--drive path="$TMP/disk.img",id=hopx-disk-1 --drive path="$TMP/ro.img",ro \
	"${netargs[@]}" --vsock cid=7,uds="$TMP/v.sock" \
	--cmdline "console=ttyS0 hopxguest.run=$run hopxguest.blkid=hopx-disk-1" \
	</dev/null >"$TMP/out" 2>"$TMP/err"
rc=$?
touch "$TMP/v.sock.done"
wait $peer
prc=$?
cat "$TMP/out" "$TMP/err" "$TMP/peer"
[ $rc = 0 ] || fail "hopx-vmm exited $rc"
assert_grep "hopx-test-guest: done, 0 failure" "$TMP/out" "test guest reported no failure"
! grep -q "FAILED" "$TMP/out" || fail "a test guest check failed"
for t in blk-read blk-write-read-back blk-get-id blk-discard-reads-zeroes blk-ro-write-refused \
	blk-wrong-direction-fails hostile-loop hostile-outside-ram hostile-readable-after-writable \
	hostile-chain-longer-than-queue hostile-corrupt-ring-needs-reset hostile-device-works-after-reset \
	vsock-guest-connect-echo vsock-rst-when-nobody-listens vsock-four-streams-at-once \
	vsock-large-transfer-crc32 vsock-host-connect-echo \
	cpu-verw cpu-xsetbv-without-osxsave-ud cpu-xsetbv-no-x87-gp cpu-xsetbv-avx-without-sse-gp cpu-xsetbv-xgetbv \
	cpu-xsave-good cpu-xrstor-good cpu-xsave-misaligned-gp cpu-xrstor-misaligned-gp cpu-xsave-noncanonical-gp \
	cpu-xsave-unmapped-pf cpu-xrstor-unmapped-pf cpu-xsave-crosses-into-unmapped-pf \
	cpu-xrstor-crosses-into-unmapped-pf cpu-xrstor-compacted-header-gp cpu-xrstor-reserved-header-gp cpu-xrstor-ignores-header-tail \
	cpu-xrstor-xstate-bv-outside-xcr0-gp cpu-xrstor-bad-mxcsr-gp cpu-xrstor-after-hostile; do
	assert_grep "TEST $t: ok" "$TMP/out" "$t"
done
if is_pvm; then
	assert_grep "TEST cpu-xsave-not-ram-gp: ok" "$TMP/out" "cpu-xsave-not-ram-gp"
	assert_grep "TEST cpu-xrstor-not-ram-gp: ok" "$TMP/out" "cpu-xrstor-not-ram-gp"
	assert_grep "is not RAM: #GP injected" "$TMP/err" "the VMM said once that a fix-up operand was not RAM"
fi
case $run in *net*)
	assert_grep "TEST net-tx: ok" "$TMP/out" "net-tx"
	assert_grep "TEST net-rx: ok" "$TMP/out" "net-rx"
	assert_grep "peer: net-tx-seen" "$TMP/peer" "frame seen on the TAP" ;;
esac
[ $prc = 0 ] || fail "host peer reported a failure"
python3 "$PEER" checkdisk "$TMP/disk.img" || fail "disk image does not hold the guest's writes"
[ "$(sha256sum <"$TMP/ro.img")" = "$ro_sum" ] || fail "the read-only image changed"
echo "ok: read-only image unchanged"
# O_DIRECT drives (the image lives under $BUILD: tmpfs has no O_DIRECT).
ddir=$(mktemp -d -p "$BUILD")
python3 "$PEER" mkdisk "$ddir/disk.img" 8
timeout 60 "$VMM" run --kernel "$GUEST" --drive path="$ddir/disk.img",id=direct-disk,direct \
	--cmdline "console=ttyS0 hopxguest.run=blk hopxguest.blkid=direct-disk" </dev/null >"$TMP/direct" 2>&1
drc=$?
python3 "$PEER" checkdisk "$ddir/disk.img" >"$TMP/direct-check" 2>&1
crc=$?
rm -rf "$ddir"
[ $drc = 0 ] || { cat "$TMP/direct"; fail "O_DIRECT run exited $drc"; }
assert_grep "hopx-test-guest: done, 0 failure" "$TMP/direct" "blk scenario on an O_DIRECT drive"
[ $crc = 0 ] || { cat "$TMP/direct-check"; fail "O_DIRECT image does not hold the guest's writes"; }
echo "ok: O_DIRECT drive"
# Hostile chains are logged once per device until its driver resets it.
[ "$(grep -c 'malformed request' "$TMP/err")" -le 1 ] || fail "malformed chains logged more than once"
assert_grep "needs a reset by its driver" "$TMP/err" "corrupt ring logged"
echo "PASS"
