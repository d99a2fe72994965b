#!/usr/bin/env bash
# Builds the demo initramfs: Debian's static busybox plus guest/demo/init,
# uncompressed (decompression is slow on software-KVM hosts).
# usage: mkdemo-initrd.sh OUTPUT.cpio
set -euo pipefail
out=${1:?usage: mkdemo-initrd.sh OUTPUT.cpio}
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/bin/busybox$' || true)
[ -n "$busybox" ] && [ -x "$busybox" ] || { echo "mkdemo-initrd: static busybox missing: apt-get install busybox-static" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp}
install -m 0755 "$busybox" "$stage/bin/busybox"
for applet in sh mount echo uname cat ls ps poweroff devmem grep; do
	ln -s busybox "$stage/bin/$applet"
done
install -m 0755 "$here/guest/demo/init" "$stage/init"
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) > "$out.tmp"
mv "$out.tmp" "$out"
