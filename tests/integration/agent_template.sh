#!/usr/bin/env bash
# hopx-agent's API suite inside the code-interpreter template (make
# templates): the agent in a copy-on-write view of the template image, so
# rich outputs are real (a matplotlib PNG that decodes, a pandas DataFrame as
# an HTML table) and Go runs.
. "$(dirname "$0")/lib.sh"
need_files "$BUILD/hopx-agent" "$BUILD/templates/code-interpreter.ext4"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the agent suite needs root (mount namespaces, loop devices, chroot)"
	exit 77
fi
/usr/bin/python3 tests/agent/test_agent.py "$BUILD/hopx-agent" "$BUILD/templates/code-interpreter.ext4" 2>&1
