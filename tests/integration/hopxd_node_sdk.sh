#!/usr/bin/env bash
# The official JavaScript SDK (@hopx-ai/sdk 0.5.1 from npm, installed by
# scripts/install-deps.sh under ~/.cache/hopx/npm) drives a real hopxd
# unchanged: tests/orchestrator/sdk_node.js runs hopx-api.md §6's session.
# (On the namespace runtime: the vm runtime has its own suite, hopxd_vm.)
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: hopxd's namespace runtime needs root (namespaces, cgroups, loop devices)"
	exit 77
fi
need_files "$BUILD/hopxd" "$BUILD/hopx-jail" "$BUILD/templates/code-interpreter.ext4"
NPM_DIR=${HOPX_NPM_DIR:-$HOME/.cache/hopx/npm}
[ -f "$NPM_DIR/node_modules/@hopx-ai/sdk/package.json" ] ||
	fail "@hopx-ai/sdk is not installed in $NPM_DIR: run scripts/install-deps.sh"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key=node-key-$$
"$BUILD/hopxd" --listen "127.0.0.1:$port" --api-key "$key" --runtime namespace --state-dir "$TMP/state" \
	>"$TMP/hopxd.log" 2>&1 &
hopxd=$!
trap 'kill $hopxd 2>/dev/null; wait $hopxd 2>/dev/null; pkill -f "hopx-jail .*--scratch $TMP/state/"; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
NODE_PATH="$NPM_DIR/node_modules" node tests/orchestrator/sdk_node.js "http://127.0.0.1:$port" "$key" ||
	{ tail -20 "$TMP/hopxd.log"; fail "the official SDK's session"; }
grep -q '"sandbox.stopped"' "$TMP/hopxd.log" || fail "hopxd never stopped the sandbox"
echo "PASS"
