#!/bin/sh
# A plain `meson setup` of a clean tree (no tools/fetch-subprojects run before it) either builds
# a libssh2 carrying Debian's security patches and ours, or fails at configure time saying why;
# it never builds an unpatched libssh2.
set -eu

src=${BASTION_SOURCE_ROOT:?}
cache="$src/subprojects/packagecache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if pkg-config --atleast-version=1.11.0 libssh2 2>/dev/null; then
  echo "SKIP: a system libssh2 >= 1.11 is installed; meson uses it and prepares no subproject"
  exit 77
fi
if [ ! -f "$cache/libssh2_1.11.1.orig.tar.gz" ]; then
  echo "FAIL: $cache has no libssh2 tarball; run tools/fetch-subprojects once"
  exit 1
fi

clean_tree() {
  mkdir -p "$1"
  (cd "$src" && git ls-files -co --exclude-standard | grep -v '^subprojects/libssh2-1.11.1/' |
     tar cf - -T -) | tar xf - -C "$1"
  rm -rf "$1/subprojects/libssh2-1.11.1" "$1/subprojects/packagecache"
}

fails=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails + 1)); fi; }

# 1. The cached, hash-pinned tarballs, no network: configure prepares and builds the patched tree.
clean_tree "$tmp/a"
mkdir -p "$tmp/a/subprojects/packagecache"
cp "$cache"/libssh2_1.11.1.orig.tar.gz "$cache"/libssh2_*.debian.tar.* "$tmp/a/subprojects/packagecache/"
rc=0
(cd "$tmp/a" && BASTION_DEBIAN_MIRROR=http://127.0.0.1:1/debian meson setup _b) \
  > "$tmp/a.log" 2>&1 || rc=$?
check "configure succeeds from the cache with no mirror reachable" '[ "$rc" -eq 0 ]'
[ "$rc" -eq 0 ] || tail -n 20 "$tmp/a.log"
stamp="$tmp/a/subprojects/libssh2-1.11.1/.bastion-prepared"
check "the subproject carries the preparation stamp" '[ -f "$stamp" ]'
for p in "$src"/subprojects/packagefiles/libssh2-patches/*.patch; do
  name=$(basename "$p")
  check "our patch $name is recorded as applied" 'grep -q "$name" "$stamp"'
done
check "Debian's security patches are recorded as applied" 'grep -q "CVE-" "$stamp"'
check "patch 0002's code is in the tree meson builds" \
  'grep -q LIBSSH2_CRYPT_FLAG_ANY_LENGTH "$tmp/a/subprojects/libssh2-1.11.1/src/libssh2_priv.h"'
check "meson's summary says the patches are applied" 'grep -q "Debian trixie security patches and ours" "$tmp/a.log"'
rc=0
ninja -C "$tmp/a/_b" subprojects/libssh2-1.11.1/libssh2.so.1.0.1 > "$tmp/a-build.log" 2>&1 || rc=$?
check "the patched libssh2 builds" '[ "$rc" -eq 0 ]'
[ "$rc" -eq 0 ] || tail -n 20 "$tmp/a-build.log"

# 2. No cache and no reachable mirror: configure fails, naming the cause, and prepares nothing.
clean_tree "$tmp/b"
rc=0
(cd "$tmp/b" && BASTION_DEBIAN_MIRROR=http://127.0.0.1:1/debian meson setup _b) \
  > "$tmp/b.log" 2>&1 || rc=$?
check "configure fails without the sources" '[ "$rc" -ne 0 ]'
check "the error says why and what to do" \
  'grep -q "could not download libssh2.s source package" "$tmp/b.log" && grep -q "does not build an unpatched libssh2" "$tmp/b.log"'
check "no unpatched tree is left to build" '[ ! -d "$tmp/b/subprojects/libssh2-1.11.1" ]'
check "no build files were generated" '[ ! -f "$tmp/b/_b/build.ninja" ]'
[ "$fails" -eq 0 ] || { echo "--- configure output:"; tail -n 15 "$tmp/b.log"; }

if [ "$fails" -ne 0 ]; then
  echo "FAIL: $fails checks failed"
  exit 1
fi
echo "PASS"
