#!/usr/bin/env bash
# Builds hopx's guest kernel (an uncompressed vmlinux) from Debian's
# linux-source-6.1 package: tinyconfig + hopx.config + patches/*.patch.
#
# The result is cached outside the clone, under a key derived from everything
# that decides the kernel's content (this script, the config fragment, the
# patches and the linux-source package version), so a rebuild happens only
# when one of those changes.
#
# usage: build.sh OUTPUT_VMLINUX
# env:   HOPX_CACHE_DIR (default: $XDG_CACHE_HOME/hopx or ~/.cache/hopx)
#        JOBS (default: nproc)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTPUT_VMLINUX}
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${HOPX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hopx}

if [ ! -f "$tarball" ]; then
	echo "guest-kernel: $tarball missing: apt-get install linux-source-6.1" >&2
	exit 1
fi
for tool in flex bison bc gcc make patch; do
	command -v "$tool" >/dev/null || { echo "guest-kernel: '$tool' missing: run scripts/install-deps.sh" >&2; exit 1; }
done

pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)
key=$( { echo "$pkgver"; cat "$here/build.sh" "$here/hopx.config" "$here"/patches/*.patch; } | sha256sum | cut -c1-16)
dir=$cache/guest-kernel/$key
mkdir -p "$(dirname "$out")"

if [ -f "$dir/vmlinux" ]; then
	echo "guest-kernel: cached $dir/vmlinux (key $key)"
	cp "$dir/vmlinux" "$out"
	exit 0
fi

echo "guest-kernel: building (key $key) in $dir; this takes a few minutes"
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
tar -C "$dir.tmp" -xf "$tarball"
src=$dir.tmp/linux-source-6.1
for p in "$here"/patches/*.patch; do
	echo "guest-kernel: applying $(basename "$p")"
	patch -d "$src" -p1 --no-backup-if-mismatch -s < "$p"
done

make -C "$src" -s ARCH=x86_64 tinyconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$here/hopx.config" >/dev/null
make -C "$src" -s ARCH=x86_64 olddefconfig

# Every option the fragment sets must have survived olddefconfig.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) want="# ${line%=n} is not set" ;;
	CONFIG_*) want=$line ;;
	*) continue ;;
	esac
	if ! grep -qxF "$want" "$src/.config"; then
		# An unset option may also be absent altogether.
		if [ "${line##*=}" = n ] && ! grep -q "^${line%=n}=" "$src/.config"; then
			continue
		fi
		echo "guest-kernel: hopx.config asks for '$line' but .config has: $(grep "${line%%=*}[= ]" "$src/.config" || echo nothing)" >&2
		bad=1
	fi
done < "$here/hopx.config"
[ "$bad" = 0 ] || exit 1

make -C "$src" -s ARCH=x86_64 -j"${JOBS:-$(nproc)}" vmlinux
cp "$src/vmlinux" "$dir.tmp/vmlinux"
cp "$src/.config" "$dir.tmp/config"
rm -rf "$src"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
cp "$dir/vmlinux" "$out"
echo "guest-kernel: built $out (cached in $dir)"
