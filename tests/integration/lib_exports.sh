#!/usr/bin/env bash
# libhopxvmm exports only vmm.h's hopx_ names, and needs neither libmicrohttpd
# nor jansson: an embedder that defines log_msg, now_ns, bus_add, disk_open
# and vm_create itself links (without those libraries) and runs.
. "$(dirname "$0")/lib.sh"
lib=$BUILD/libhopxvmm.a
need_files "$lib" "$BUILD/tests/embed_names"
nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' >"$TMP/exports"
[ -s "$TMP/exports" ] || fail "no symbols exported from $lib"
if grep -v '^hopx_' "$TMP/exports" >"$TMP/bad"; then
	cat "$TMP/bad"
	fail "libhopxvmm exports names without the hopx_ prefix"
fi
for f in hopx_vm_create hopx_vm_metrics hopx_last_error hopx_snapshot_export; do
	grep -qx "$f" "$TMP/exports" || fail "$f is not exported"
done
echo "exports: $(wc -l <"$TMP/exports") names, all hopx_"
if ldd "$BUILD/tests/embed_names" 2>/dev/null | grep -E 'microhttpd|jansson|gnutls'; then
	fail "an embedder of libhopxvmm pulls in the control API's libraries"
fi
"$BUILD/tests/embed_names" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "the embedder failed"; }
cat "$TMP/out"
assert_grep "library names are its own" "$TMP/out" "embedder ran"
echo "PASS"
