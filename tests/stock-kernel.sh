#!/usr/bin/env bash
# Boots Debian's stock kernel (a bzImage we did not configure, with its own
# mix of instructions) with the test initramfs and checks it reaches
# "Run /init as init process". On software-KVM hosts this takes about 16
# minutes (every kernel instruction is emulated), so it is not part of
# `make test`: run it with `make check-stock-kernel`.
# Its /init then dies at its first system call on such hosts: stock kernels
# lack our syscall patch (guest-kernel-config/patches), which is expected.
set -euo pipefail
BUILD=${BUILD:-build}
pkg=${STOCK_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')}
dir=${HOPX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hopx}/stock-kernel/$pkg
mkdir -p "$dir"
if ! ls "$dir"/x/boot/vmlinuz-* >/dev/null 2>&1; then
	(cd "$dir" && apt-get download "$pkg" && dpkg-deb -x ./*.deb x)
fi
kernel=$(ls "$dir"/x/boot/vmlinuz-* | head -1)
log=$BUILD/stock-kernel-console.log
: >"$log"
echo "stock-kernel: booting $kernel (this takes many minutes on software-KVM hosts)"
set +e
timeout "${STOCK_KERNEL_TIMEOUT:-3600}" "$BUILD/hopx-vmm" run --kernel "$kernel" --initrd "$BUILD/guest/test-initrd.cpio" \
	--mem-mib 512 --boot-timings -v --console "$log" \
	--cmdline "console=ttyS0 reboot=k panic=-1 cryptomgr.notests" </dev/null
set -e
if grep -aq "Run /init as init process" "$log"; then
	echo "stock-kernel: PASS: $(grep -a -m1 'Run /init' "$log")"
else
	echo "stock-kernel: FAIL: no 'Run /init' in $log"; tail -20 "$log"; exit 1
fi
