#!/usr/bin/env bash
# Bad input gets a clear one-line reason and a non-zero status, never a crash:
# usage errors (exit 2), missing, empty, garbage and truncated kernels (exit 1).
. "$(dirname "$0")/lib.sh"
need_files "$VMM"

expect() { # expect STATUS PATTERN ARGS...
	local want=$1 pat=$2
	shift 2
	"$VMM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	[ $rc = "$want" ] || { cat "$TMP/err"; fail "hopx-vmm $*: exit $rc, expected $want"; }
	grep -qE -- "$pat" "$TMP/err" || { cat "$TMP/err"; fail "hopx-vmm $*: no /$pat/ in its message"; }
}

"$VMM" --help >"$TMP/help" || fail "--help failed"
for opt in --kernel --initrd --cmdline --mem-mib --vcpus --console --boot-timings --pvm; do
	grep -q -- "$opt" "$TMP/help" || fail "--help does not document $opt"
done
expect 2 "usage" 
expect 2 "--kernel PATH is required" run
expect 2 "--vcpus 0: expected a number" run --kernel x --vcpus 0
expect 2 "--vcpus 99: expected a number" run --kernel x --vcpus 99
expect 2 "--mem-mib abc" run --kernel x --mem-mib abc
expect 2 "--pvm maybe" run --kernel x --pvm maybe
expect 2 "unexpected argument" run --kernel x extra

if [ ! -e /dev/kvm ]; then
	expect 1 "open /dev/kvm: .*KVM is not available" run --kernel /nonexistent
	echo "SKIP: kernel-file checks need /dev/kvm (KVM is opened first); usage checks passed"
	exit 77
fi
expect 1 "open kernel /nonexistent: No such file or directory: pass --kernel PATH" run --kernel /nonexistent
: >"$TMP/empty"
expect 1 "kernel $TMP/empty: size 0 bytes is absurd" run --kernel "$TMP/empty"
head -c 4096 /dev/urandom >"$TMP/garbage"
expect 1 "neither an ELF vmlinux nor a bzImage" run --kernel "$TMP/garbage"
if [ -e "$KERNEL" ]; then
	head -c 100000 "$KERNEL" >"$TMP/truncated"
	expect 1 "runs past the end of the file.*truncated" run --kernel "$TMP/truncated"
	expect 1 "raise --mem-mib" run --kernel "$KERNEL" --mem-mib 32 --initrd "$KERNEL"
fi
expect 1 "open initrd /nonexistent" run --kernel "$KERNEL" --initrd /nonexistent
expect 1 "guest memory of .* bytes: must be" run --kernel "$KERNEL" --mem-mib 8
echo "PASS"
