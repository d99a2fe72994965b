#!/usr/bin/env bash
# Installs everything hopx needs to build, test and benchmark, from Debian's
# packages. Safe to re-run. Needs root (or sudo).
set -euo pipefail
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
pkgs=(
	# build
	build-essential make pkg-config linux-libc-dev
	# bzImage payloads unpacked on the host
	zlib1g-dev liblzma-dev libzstd-dev
	# device I/O threads; snapshot state files; the control API (HTTP, JSON)
	liburing-dev libfdt-dev libmicrohttpd-dev libjansson-dev
	# hopx-agent: HTTP + WebSocket (libsoup 3); its host tests run it in a mount namespace
	libsoup-3.0-dev util-linux procps python3-websocket
	# hopxd: the registry (SQLite) and hopx-jail's seccomp filter; sandboxes'
	# internet access (veth pairs, NAT and filter rules)
	libsqlite3-dev libseccomp-dev curl iproute2 nftables
	# templates (guest/templates/build.sh)
	debootstrap
	# device tests: ext4 root images, TAP devices and network namespaces
	e2fsprogs iproute2
	# unit tests, fuzz targets (libFuzzer ships with clang)
	libcmocka-dev clang
	# guest kernel (guest-kernel-config/build.sh)
	linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio xz-utils patch dwarves
	# test and demo initramfs
	cpio busybox-static
	# bench/: the harness and the peer
	python3 qemu-system-x86
)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${pkgs[@]}"

# The official JavaScript SDK, for the test that drives hopxd with it
# unchanged: node and npm (nodejs ships npm where it comes from NodeSource;
# Debian's own packages it apart), then @hopx-ai/sdk into a cache outside
# the clone.
command -v node >/dev/null || $SUDO apt-get install -y -q --no-install-recommends nodejs
command -v npm >/dev/null || $SUDO apt-get install -y -q --no-install-recommends npm
NPM_DIR=${HOPX_NPM_DIR:-$HOME/.cache/hopx/npm}
if [ ! -f "$NPM_DIR/node_modules/@hopx-ai/sdk/package.json" ]; then
	mkdir -p "$NPM_DIR"
	npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error @hopx-ai/sdk@0.5.1
fi
