#!/usr/bin/env bash
# Boots a microVM with our guest kernel and the busybox demo initramfs, runs
# a shell command inside it, and prints the boot timings.
# usage: [CMD='shell command'] scripts/demo.sh   (CMD must not contain ")
set -euo pipefail
BUILD=${BUILD:-build}
CMD=${CMD:-'echo hello from a hopx microVM; uname -a; cat /proc/loadavg'}
case $CMD in *'"'*) echo "demo: CMD cannot contain a double quote (kernel command-line quoting)" >&2; exit 2 ;; esac
exec "$BUILD/hopx-vmm" run --kernel build/guest/vmlinux --initrd "$BUILD/guest/demo-initrd.cpio" \
	--boot-timings --cmdline "console=ttyS0 reboot=k panic=-1 hopx_cmd=\"$CMD\"" </dev/null
