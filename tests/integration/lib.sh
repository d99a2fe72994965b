# Shared by the integration tests: paths, the KVM skip rule, assertions.
# A test needing /dev/kvm skips (exit 77) only where it is absent; where it
# exists, the test runs.
BUILD=${BUILD:-build}
VMM=$BUILD/hopx-vmm
KERNEL=build/guest/vmlinux
INITRD=$BUILD/guest/test-initrd.cpio
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

need_kvm() {
	if [ ! -e /dev/kvm ]; then
		echo "SKIP: /dev/kvm is absent on this host; this test boots a VM"
		exit 77
	fi
}

need_files() {
	for f in "$@"; do
		[ -e "$f" ] || { echo "FAIL: $f missing: run make test (it builds it)"; exit 1; }
	done
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# assert_grep PATTERN FILE WHAT
assert_grep() {
	grep -aqE -- "$1" "$2" || { echo "--- $2:"; tail -n 40 "$2"; fail "$3 (no /$1/ in $2)"; }
}

is_pvm() {
	[ -d /sys/module/kvm_pvm ]
}
