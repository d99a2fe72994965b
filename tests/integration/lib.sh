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

# assert_test_init_ran RC CONSOLE ERR: hopx-vmm exited 0 after the test /init
# (tests/init/test-init.c) ran all its checks and signalled userspace ready.
assert_test_init_ran() {
	local rc=$1 console=$2 err=$3
	cat "$err"
	[ "$rc" = 0 ] || { tail -n 30 "$console"; fail "hopx-vmm exited $rc"; }
	assert_grep "Run /init as init process" "$console" "kernel reached /init"
	assert_grep "hopx-test-init: running as pid 1: ok" "$console" "init ran as pid 1"
	assert_grep "hopx-test-init: getrandom without blocking: ok" "$console" "RNG seeded by the host"
	assert_grep "hopx-test-init: fork\+exec child exited 42: ok" "$console" "fork+exec worked"
	assert_grep "hopx-test-init: done, 0 failure" "$console" "init reported no failure"
	assert_grep "boot-timings: Run /init +[0-9.]+ ms" "$err" "Run /init mark timed"
	assert_grep "boot-timings: userspace ready +[0-9.]+ ms" "$err" "userspace-ready signal received"
}

# Tests that create TAP devices and network namespaces need root.
need_root_net() {
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || [ ! -e /dev/net/tun ]; then
		echo "SKIP: needs root, iproute2 and /dev/net/tun (TAP devices in a network namespace)"
		exit 77
	fi
}

# make_netns: a fresh network namespace $NETNS with TAP hxtap0 at 10.0.2.1/24,
# removed when the test exits.
make_netns() {
	NETNS=hopx-test-$$
	ip netns add "$NETNS" || fail "ip netns add"
	trap 'ip netns del "$NETNS" 2>/dev/null; rm -rf "$TMP"' EXIT
	ip -n "$NETNS" link set lo up
	ip -n "$NETNS" tuntap add dev hxtap0 mode tap
	ip -n "$NETNS" addr add 10.0.2.1/24 dev hxtap0
	ip -n "$NETNS" link set hxtap0 up
}
