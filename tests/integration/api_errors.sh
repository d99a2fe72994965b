#!/usr/bin/env bash
# The control API over its Unix socket: Firecracker's pre-boot flow (PUT
# boot-source/machine-config/drives, then InstanceStart), --config-file with
# Firecracker's schema, a snapshot loaded into a fresh API-only instance
# (PUT /snapshot/load with resume_vm), metrics, and malformed requests, each
# answered 4xx with a fault_message naming the problem while the VMM goes on.
. "$(dirname "$0")/lib.sh"
need_kvm
GUEST=$BUILD/guest/test-guest.elf
need_files "$VMM" "$GUEST"
API="python3 $(dirname "$0")/api.py"
python3 tests/guest/peer.py mkdisk "$TMP/disk.img" 1

expect() { # expect "STATUS PATTERN" METHOD PATH [BODY]
	local want=$1
	shift
	local out
	out=$($API "$TMP/api.sock" "$@") || fail "api.py $*"
	case $out in
	${want%% *}*) ;;
	*) fail "$* -> $out (expected ${want%% *})" ;;
	esac
	[ "${want#* }" = "$want" ] || echo "$out" | grep -qE -- "${want#* }" || fail "$* -> $out (no /${want#* }/)"
}

# --- an API-only instance, configured Firecracker-style ---
"$VMM" run --api-sock "$TMP/api.sock" >"$TMP/out" 2>"$TMP/err" &
vmm=$!
$API "$TMP/api.sock" wait || fail "API socket never answered"
expect '200 "state":"Not started"' GET /
expect '400 malformed JSON' PUT /boot-source '{"kernel_image_path": '
expect '400 must be a JSON object' PUT /boot-source '[1, 2]'
expect "400 unknown field 'kernel'" PUT /boot-source '{"kernel": "x"}'
expect "400 missing field 'kernel_image_path'" PUT /boot-source '{"boot_args": "x"}'
expect "400 field 'vcpu_count' must be an integer from 1 to 32" PUT /machine-config '{"vcpu_count": 0, "mem_size_mib": 128}'
expect "400 field 'smt'" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128, "smt": true}'
expect "400 the path names 'other'" PUT /drives/other '{"drive_id": "rootfs", "path_on_host": "/x"}'
expect "400 id is missing" PUT /drives '{"drive_id": "rootfs", "path_on_host": "/x"}'
expect "400 field 'guest_mac'" PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "t0", "guest_mac": "zz"}'
expect "400 field 'guest_cid'" PUT /vsock '{"guest_cid": 2, "uds_path": "/tmp/x"}'
expect "400 not started" PATCH /vm '{"state": "Paused"}'
expect "400 field 'state'" PATCH /vm '{"state": "Sleeping"}'
expect "400 unknown action" PUT /actions '{"action_type": "Reboot"}'
expect "400 no boot source" PUT /actions '{"action_type": "InstanceStart"}'
expect "404 no such resource" GET /nowhere
expect "405 use PUT" GET /boot-source
python3 -c 'print("{\"boot_args\": \"" + "x" * 70000 + "\"}")' >"$TMP/big"
expect "413 larger than" PUT /boot-source "$(cat "$TMP/big")"
expect "204" PUT /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"console=ttyS0 hopxguest.run=counter hopxguest.count=30\"}"
expect "204" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
expect "204" PUT /drives/disk0 "{\"drive_id\": \"disk0\", \"path_on_host\": \"$TMP/disk.img\", \"is_root_device\": false, \"is_read_only\": false}"
expect '200 "mem_size_mib":64' GET /machine-config
expect "204" PUT /actions '{"action_type": "InstanceStart"}'
expect '200 "state":"Running"' GET /
expect "400 already started" PUT /actions '{"action_type": "InstanceStart"}'
expect "400 before InstanceStart" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
expect "400 PS/2 keyboard" PUT /actions '{"action_type": "SendCtrlAltDel"}'
expect "400 only .*Full" PUT /snapshot/create '{"snapshot_type": "Diff", "snapshot_path": "a", "mem_file_path": "b"}'
for _ in $(seq 1 100); do grep -aq "COUNTER 5$" "$TMP/out" && break; sleep 0.1; done
expect "204" PATCH /vm '{"state": "Paused"}'
expect "204" PATCH /vm '{"state": "Paused"}'   # pausing a paused VM does nothing
expect "204" PUT /snapshot/create "{\"snapshot_path\": \"$TMP/state\", \"mem_file_path\": \"$TMP/mem\"}"
expect '200 "pauses":1' GET /metrics
expect '200 "reads":' GET /metrics
expect "400 only be loaded before" PUT /snapshot/load "{\"snapshot_path\": \"$TMP/state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/mem\"}}"
expect "204" PATCH /vm '{"state": "Resumed"}'
wait $vmm || { cat "$TMP/err"; fail "VMM exited $?"; }
assert_grep "hopx-test-guest: done, 0 failure" "$TMP/out" "API-started guest finished"
echo "ok: Firecracker's pre-boot flow, errors named, snapshot taken over the API"

# --- the snapshot loaded into a fresh API-only instance ---
rm -f "$TMP/api.sock"
"$VMM" run --api-sock "$TMP/api.sock" >"$TMP/out2" 2>"$TMP/err2" &
vmm=$!
$API "$TMP/api.sock" wait || fail "API socket never answered"
expect "400 backend_type" PUT /snapshot/load "{\"snapshot_path\": \"$TMP/state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"/x\"}}"
expect "400 cannot load the snapshot: open snapshot state .*nonexistent: No such file" PUT /snapshot/load "{\"snapshot_path\": \"$TMP/nonexistent\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/mem\"}}"
expect "204" PUT /snapshot/load "{\"snapshot_path\": \"$TMP/state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/mem\"}, \"resume_vm\": false}"
expect '200 "state":"Paused"' GET /
expect "204" PATCH /vm '{"state": "Resumed"}'
wait $vmm || { cat "$TMP/err2"; fail "restored VMM exited $?"; }
assert_grep "hopx-test-guest: done, 0 failure" "$TMP/out2" "snapshot loaded over the API finished"
echo "ok: PUT /snapshot/load into an API-only instance, resumed with PATCH /vm"

# --- --config-file (Firecracker's schema) ---
cat >"$TMP/vm.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$GUEST", "boot_args": "console=ttyS0 hopxguest.run=blk hopxguest.blkid=rootfs"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "smt": false},
  "drives": [{"drive_id": "rootfs", "path_on_host": "$TMP/disk.img", "is_root_device": true, "is_read_only": false}]
}
JSON
python3 tests/guest/peer.py mkdisk "$TMP/disk.img" 1
timeout 60 "$VMM" run --config-file "$TMP/vm.json" </dev/null >"$TMP/out3" 2>&1 || { cat "$TMP/out3"; fail "config-file run"; }
assert_grep "TEST blk-get-id: ok" "$TMP/out3" "the drive id from the config file reached the guest"
assert_grep "root=/dev/vda rw" "$TMP/out3" "is_root_device added root= to the command line"
echo '{"boot-source": {"kernel_image_path": "x"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "cpus": 2}}' >"$TMP/bad.json"
"$VMM" run --config-file "$TMP/bad.json" </dev/null >"$TMP/out4" 2>&1 && fail "a bad config file was accepted"
grep -q "machine-config: unknown field 'cpus'" "$TMP/out4" || { cat "$TMP/out4"; fail "bad config file message"; }
echo "ok: --config-file runs the guest; unknown fields named"
echo "PASS"
