#!/usr/bin/env bash
# Builds a template's root filesystem with Debian's debootstrap, from the
# mirror configured in this machine's apt sources, and packs it with
# hopx-agent (as /sbin/hopx-agent and /init) into an ext4 image.
#
# The debootstrap result is cached outside the clone under a key of the
# recipe (this script, the package list, the mirror and the suite), so a
# rebuild happens only when one of those changes; the agent is added fresh
# every time (seconds).
#
# usage: build.sh NAME AGENT_BINARY OUT_DIR    -> OUT_DIR/NAME.ext4, OUT_DIR/NAME.json
# env:   HOPX_CACHE_DIR (default ~/.cache/hopx), TEMPLATE_SUITE (bookworm)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?usage: build.sh NAME AGENT OUT_DIR} agent=${2:?} out=${3:?}
recipe=$here/$name
suite=${TEMPLATE_SUITE:-bookworm}
cache=${HOPX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hopx}

[ -f "$recipe/packages" ] && [ -f "$recipe/manifest.json" ] || { echo "template $name: no recipe in $recipe" >&2; exit 1; }
for tool in debootstrap mkfs.ext4 tar; do
	command -v "$tool" >/dev/null || { echo "template $name: '$tool' missing: run scripts/install-deps.sh" >&2; exit 1; }
done
# The mirror the machine's apt uses (deb822 sources, then the one-line format).
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
packages=$(grep -v '^#' "$recipe/packages" | xargs | tr ' ' ,)
key=$( { cat "$here/build.sh" "$recipe/packages"; echo "$mirror $suite"; } | sha256sum | cut -c1-16)
dir=$cache/templates/$name-$key

if [ -f "$dir/rootfs.tar" ]; then
	echo "template $name: cached root filesystem $dir (key $key)"
else
	echo "template $name: debootstrap $suite from $mirror, then $packages (key $key); this takes a few minutes"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/root"
	root=$dir.tmp/root
	debootstrap --variant=minbase "$suite" "$root" "$mirror" 2>&1 |
		while IFS= read -r line; do
			case $line in I:\ Retrieving*|I:\ Validating*|I:\ Unpacking*|I:\ Configuring*|I:\ Extracting*) ;;
			*) echo "template $name: $line" ;; esac
		done
	[ -x "$root/bin/bash" ] || { echo "template $name: debootstrap failed" >&2; exit 1; }
	# apt in the new root resolves what debootstrap cannot (alternatives,
	# virtual packages); no services start inside it.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
	mount -t proc proc "$root/proc"
	trap 'umount "$root/proc" 2>/dev/null' EXIT
	chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null
	chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends \
		$(echo "$packages" | tr , ' ') 2>&1 | grep -E '^(Setting up|E:)' | sed "s/^/template $name: /"
	umount "$root/proc"
	trap - EXIT
	rm -f "$root/usr/sbin/policy-rc.d"
	for p in $(echo "$packages" | tr , ' '); do
		chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			{ echo "template $name: package $p did not install" >&2; exit 1; }
	done
	rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
	tar -C "$root" -cf "$dir.tmp/rootfs.tar" .
	rm -rf "$root"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	echo "template $name: root filesystem cached in $dir"
fi

mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tar -C "$stage" -xf "$dir/rootfs.tar"
install -m 0755 "$agent" "$stage/sbin/hopx-agent"
ln -sf /sbin/hopx-agent "$stage/init"
mkdir -p "$stage/workspace"
size_mb=$(( $(du -sm "$stage" | cut -f1) * 13 / 10 + 256 ))
rm -f "$out/$name.ext4"
mkfs.ext4 -q -F -L "hopx-$name" -d "$stage" "$out/$name.ext4" "${size_mb}M"
cp "$recipe/manifest.json" "$out/$name.json"
echo "template $name: $out/$name.ext4 (${size_mb} MiB)"
