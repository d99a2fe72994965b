#!/usr/bin/env bash
# Boots our kernel on 2 vCPUs: the MP table brings both up in the guest
# (its /proc/cpuinfo lists two), and guest userspace runs to power-off.
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$VMM" "$KERNEL" "$INITRD"

timeout 600 "$VMM" run --kernel "$KERNEL" --initrd "$INITRD" --vcpus 2 --boot-timings \
	--console "$TMP/console" </dev/null 2>"$TMP/err"
assert_test_init_ran $? "$TMP/console" "$TMP/err"
assert_grep "smp: Brought up 1 node, 2 CPUs" "$TMP/console" "the kernel brought up both CPUs"
assert_grep "hopx-test-init: cpus=2([^0-9]|$)" "$TMP/console" "userspace sees 2 CPUs"
echo "PASS"
