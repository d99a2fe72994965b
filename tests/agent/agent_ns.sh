#!/usr/bin/env bash
# Runs hopx-agent for the host test suite in a private mount namespace whose
# root is ROOTDIR, made of either
# - a template image (IMAGE given: an ext4 file from make templates), mounted
#   read-only under a tmpfs overlay: a copy-on-write view of the template;
# - or the host's /usr, /bin, /lib*, /sbin and /etc bound read-only (its
#   bash, python3, node);
# plus /proc, /dev, a fresh /tmp and /workspace.
#
# usage: agent_ns.sh AGENT SOCKET TOKEN ROOTDIR [IMAGE|""] [AGENT OPTION ...]
# (runs until killed; the options go to hopx-agent)
set -euo pipefail
agent=$1 sock=$2 token=$3 root=$4 image=${5:-}
shift $(($# < 5 ? $# : 5))
exec unshare -m --propagation private bash -c '
set -e
agent=$1 sock=$2 token=$3 root=$4 image=$5
shift 5
if [ -n "$image" ]; then
	mkdir -p "$root.lower" "$root.rw"
	mount -o loop,ro "$image" "$root.lower"
	mount -t tmpfs tmpfs "$root.rw"
	mkdir -p "$root.rw/upper" "$root.rw/work"
	mount -t overlay overlay -o "lowerdir=$root.lower,upperdir=$root.rw/upper,workdir=$root.rw/work" "$root"
fi
mkdir -p "$root/workspace" "$root/tmp" "$root/dev" "$root/proc"
for d in usr bin lib lib32 lib64 libx32 sbin etc; do
	[ -z "$image" ] || break
	[ -e "/$d" ] || continue
	if [ -L "/$d" ]; then
		ln -sfn "$(readlink "/$d")" "$root/$d"
	else
		mkdir -p "$root/$d"
		mount --bind "/$d" "$root/$d"
		mount -o remount,bind,ro "$root/$d"
	fi
done
mount -t tmpfs tmpfs "$root/tmp"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/workspace LANG=C.UTF-8 \
	"$agent" --listen "unix:$sock" --token "$token" --root "$root" "$@"
' agent_ns "$agent" "$sock" "$token" "$root" "$image" "$@"
