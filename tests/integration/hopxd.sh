#!/usr/bin/env bash
# hopxd end to end with the Python SDK (tests/orchestrator/test_hopxd.py):
# a real hopxd on a free port with the namespace runtime, sandboxes from the
# code-interpreter template: create, code in four languages, rich outputs,
# files, commands, env, background processes, streams and the terminal,
# isolation, pause/resume with state, list/iter, timeouts, kill, auth and
# bad requests, a restart that adopts the running sandboxes, AsyncSandbox.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: hopxd's namespace runtime needs root (namespaces, cgroups, loop devices)"
	exit 77
fi
need_files "$BUILD/hopxd" "$BUILD/hopx-jail" "$BUILD/templates/code-interpreter.ext4"
/usr/bin/python3 tests/orchestrator/test_hopxd.py "$BUILD" --runtime namespace 2>&1
