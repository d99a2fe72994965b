#!/usr/bin/env bash
# hopxd's vm runtime end to end with the Python SDK: each sandbox a hopx-vmm
# microVM restored from the code-interpreter template's snapshot (made once
# per host boot: the first run boots the template, minutes on software-KVM
# hosts; cached under ~/.cache/hopx/template-snapshots). The suite is the
# core flow (tests/orchestrator/test_hopxd.py's VM_SUITE): code, files, a
# command, a writable root over the shared read-only image, pause (snapshot,
# VMM gone) and resume (restore) keeping a file and a running loop, tokens,
# timeout expiry, kill, and a hopxd restart that adopts the running VM.
. "$(dirname "$0")/lib.sh"
need_kvm
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: hopxd needs root"
	exit 77
fi
need_files "$BUILD/hopxd" "$BUILD/hopx-vmm" "$KERNEL" build/templates/code-interpreter.ext4
/usr/bin/python3 tests/orchestrator/test_hopxd.py "$BUILD" --runtime vm 2>&1
