#!/usr/bin/env bash
# Packs a static /init into an uncompressed newc initramfs (decompressing
# in the guest costs seconds of emulated kernel code on software-KVM hosts), with /dev/console when
# we may create device nodes (else the init mounts devtmpfs itself).
# usage: mkinitrd.sh INIT_BINARY OUTPUT.cpio.gz
set -euo pipefail
init=${1:?usage: mkinitrd.sh INIT OUTPUT}
out=${2:?usage: mkinitrd.sh INIT OUTPUT}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/proc" "$stage/tmp"
install -m 0755 "$init" "$stage/init"
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) > "$out.tmp"
mv "$out.tmp" "$out"
