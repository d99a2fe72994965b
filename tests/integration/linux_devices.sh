#!/usr/bin/env bash
# One Linux boot exercising all three virtio devices with our kernel:
# - virtio-blk: the root filesystem is an ext4 image on /dev/vda (root=), the
#   kernel logs the mount before /init, and /init writes a file the host then
#   reads back out of the image;
# - virtio-net: the kernel configures eth0 from ip= and netconsole sends its
#   log as UDP over the TAP to a listener in the test's network namespace;
# - virtio-vsock: /init connects to host port 6000 (UDS_6000), then echoes a
#   host-initiated stream (CONNECT 5000) of more than one credit window.
. "$(dirname "$0")/lib.sh"
need_kvm
need_root_net
need_files "$VMM" "$KERNEL" "$BUILD/guest/test-init"
command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null || fail "mkfs.ext4/debugfs missing: scripts/install-deps.sh"

# Root filesystem: the test /init alone.
mkdir -p "$TMP/root/dev" "$TMP/root/proc"
cp "$BUILD/guest/test-init" "$TMP/root/init"
truncate -s 32M "$TMP/root.ext4"
mkfs.ext4 -q -F -d "$TMP/root" "$TMP/root.ext4"

# Network: a namespace with a TAP at 10.0.2.1 and a UDP listener for netconsole.
make_netns
mac=$(ip -n "$NETNS" -br link show hxtap0 | awk '{print $3}')
ip netns exec "$NETNS" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.2.1", 6666)); s.settimeout(300)
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(4096))
' "$TMP/netconsole" &
udp=$!

python3 "$(dirname "$0")/vsock_host.py" "$TMP/v.sock" 400000 300 >"$TMP/vsock" 2>&1 &
vhost=$!

ip netns exec "$NETNS" "$VMM" run --kernel "$KERNEL" --boot-timings \
	--drive path="$TMP/root.ext4" --net tap=hxtap0 --vsock cid=3,uds="$TMP/v.sock" \
	--cmdline "console=ttyS0 reboot=k panic=-1 root=/dev/vda rw init=/init \
ip=10.0.2.15::10.0.2.1:255.255.255.0::eth0:off netconsole=6665@10.0.2.15/eth0,6666@10.0.2.1/$mac \
hopx_vsock=6000:5000 hopx_write=written-through-virtio-blk" \
	</dev/null >"$TMP/out" 2>"$TMP/err"
rc=$?
wait $vhost
vrc=$?
kill $udp 2>/dev/null
cat "$TMP/vsock"
assert_test_init_ran $rc "$TMP/out" "$TMP/err"
assert_grep "virtio_blk virtio0: \[vda\] 65536 512-byte logical blocks" "$TMP/out" "virtio-blk disk found with the image's size"
assert_grep "EXT4-fs \(vda\): mounted filesystem" "$TMP/out" "ext4 root mounted from virtio-blk"
assert_grep "VFS: Mounted root \(ext4 filesystem\)" "$TMP/out" "root mounted before /init"
[ "$(debugfs -R 'cat /hopx-written' "$TMP/root.ext4" 2>/dev/null)" = written-through-virtio-blk ] ||
	fail "the file /init wrote is not in the image"
echo "ok: the guest's file is in the image"
assert_grep "IP-Config: Complete|netconsole: network logging started" "$TMP/out" "kernel configured eth0"
assert_grep "Run /init as init process" "$TMP/netconsole" "kernel log arrived over virtio-net (netconsole)"
echo "ok: netconsole delivered $(wc -l <"$TMP/netconsole") log lines over the TAP"
[ $vrc = 0 ] || fail "vsock host side failed"
assert_grep "hopx-test-init: vsock echo: ok" "$TMP/out" "guest echoed the vsock stream"
echo "PASS"
