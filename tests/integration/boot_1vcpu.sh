#!/usr/bin/env bash
# Boots our kernel with the test /init on 1 vCPU, console on stdio: guest
# userspace runs (syscalls, fork+exec, getrandom at once), reads a line typed
# on hopx-vmm's stdin, signals "userspace ready" through the boot-timer
# register, and powers off: exit status 0, every boot mark reached.
. "$(dirname "$0")/lib.sh"
need_kvm
need_files "$VMM" "$KERNEL" "$INITRD"

mkfifo "$TMP/in"
"$VMM" run --kernel "$KERNEL" --initrd "$INITRD" --boot-timings \
	--cmdline "console=ttyS0 reboot=k panic=-1 hopx_echo=1" \
	<"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
pid=$!
exec 3>"$TMP/in" # hold the fifo open until we have typed
for _ in $(seq 1 600); do
	grep -aq "type a line" "$TMP/out" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.5
done
printf 'hello from the host\r' >&3
exec 3>&-
wait $pid
assert_test_init_ran $? "$TMP/out" "$TMP/err"
assert_grep "hopx-test-init: cpus=1([^0-9]|$)" "$TMP/out" "one CPU online"
assert_grep "hopx-test-init: echo: <hello from the host>" "$TMP/out" "console input reached the guest"
if is_pvm; then
	assert_grep "boot-timings: +fix-up int3 +[1-9]" "$TMP/err" "INT3 fix-up counted on PVM"
fi
echo "PASS"
