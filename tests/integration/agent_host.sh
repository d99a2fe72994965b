#!/usr/bin/env bash
# hopx-agent's API suite on the host (tests/agent/test_agent.py): the agent
# in a private mount namespace over a scratch root, on a Unix socket.
. "$(dirname "$0")/lib.sh"
need_files "$BUILD/hopx-agent"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the agent suite needs root (mount namespaces, chroot)"
	exit 77
fi
# Debian's python3: the suite uses python3-websocket from its packages.
/usr/bin/python3 tests/agent/test_agent.py "$BUILD/hopx-agent" 2>&1
