#!/usr/bin/env bash
# Prints the include graph of the C tree as folder -> folder edges (with how
# many #include lines make each edge), then checks the layering: lib/ depends
# on nothing above it, boot/ and devices/ only on lib/, the library (vmm/) not
# on frontend/, frontend/ only on include/ and lib/ of the VMM, and no folder
# depends on one that depends back on it. With --files DIR, prints DIR's
# file -> file edges instead and fails on a cycle among DIR's files.
# Exits 1 on a violation, naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

# "from_file to_file" for every quoted #include that resolves to a file.
edges() {
	local f inc dir target
	for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]'); do
		dir=$(dirname "$f")
		{ grep -oE '^#include "[^"]+"' "$f" || true; } | sed -E 's/^#include "(.*)"/\1/' | while read -r inc; do
			target=$(realpath -m --relative-to=. "$dir/$inc")
			[ -e "$target" ] || target=$(realpath -m --relative-to=. "include/$inc")
			if [ -e "$target" ]; then echo "$f $target"; fi
		done
	done
}

# The top folder of a path; guest/agent and tests/* count as their own.
folder() {
	case $1 in
	guest/*/* | tests/*/*) echo "$1" | cut -d/ -f1-2 ;;
	*/*) echo "${1%%/*}" ;;
	*) echo . ;;
	esac
}

all=$(edges)
if [ "${1:-}" = --files ]; then
	d=${2:?usage: deps-graph.sh --files DIR}
	fe=$(echo "$all" | awk -v d="$d/" 'index($1, d) == 1 && index($2, d) == 1 && $1 != $2 {
		a = $1; b = $2; sub(/\.[ch]$/, "", a); sub(/\.[ch]$/, "", b); if (a != b) print a, b }' | sort -u)
	echo "$fe" | sed 's/ / -> /'
	# tsort reports a cycle on stderr.
	if echo "$fe" | tsort 2>&1 >/dev/null | grep -q cycle; then
		echo "cycle among $d's files:"; echo "$fe" | tsort 2>&1 >/dev/null | sed 's/^/  /'
		exit 1
	fi
	echo "no cycle among $d's modules"
	exit 0
fi

fedges=$(echo "$all" | while read -r a b; do
	fa=$(folder "$a"); fb=$(folder "$b")
	if [ "$fa" != "$fb" ]; then echo "$fa $fb"; fi
done | sort | uniq -c | awk '{ print $2, $3, $1 }')
echo "$fedges" | awk '{ printf "%-16s -> %-16s (%s)\n", $1, $2, $3 }'

bad=0
violate() { echo "layering: $*"; bad=1; }
while read -r a b n; do
	[ -n "$a" ] || continue
	case "$a:$b" in
	lib:include) ;;  # the public header's types only
	lib:*) violate "lib/ includes $b/ ($n)" ;;
	boot:lib | devices:lib | boot:include | devices:include) ;;
	boot:* | devices:*) violate "$a/ includes $b/ ($n)" ;;
	vmm:frontend) violate "the library (vmm/) includes frontend/ ($n)" ;;
	frontend:include | frontend:lib) ;;
	frontend:*) violate "frontend/ includes $b/ ($n): it uses include/hopx/vmm.h only" ;;
	esac
	if echo "$fedges" | grep -q "^$b $a "; then
		violate "$a/ and $b/ include each other"
	fi
done <<<"$fedges"
[ "$bad" = 0 ] && echo "layering: ok"
exit "$bad"
