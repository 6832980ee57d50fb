#!/bin/sh
# Exactly one libssh2, >= 1.11, is loaded in bastion-cli, although libcurl (Debian's, linked
# against libssh2 1.10) needs one too; and libcurl itself reports using that same 1.11 copy.
set -eu

cli=${BASTION_CLI:?}

out=$("$cli" --version)
echo "$out"
ssh2=$(echo "$out" | sed -n 's/^libssh2 //p')
case "$ssh2" in
  1.1[1-9]*|1.[2-9][0-9]*|[2-9]*) ;;
  *) echo "FAIL: bastion-cli reports libssh2 '$ssh2', need >= 1.11"; exit 1 ;;
esac
echo "$out" | grep -q "^libcurl .*(with libssh2/$ssh2)" || {
  echo "FAIL: libcurl does not report using libssh2 $ssh2"; exit 1; }

# Every shared object the loader maps for bastion-cli, with its path: libssh2 must be there once,
# and be our 1.11 build (the system's 1.10 is /usr/lib/x86_64-linux-gnu/libssh2.so.1.0.1 too,
# so the version reported above by the running process is what tells them apart).
maps=$(LD_TRACE_LOADED_OBJECTS=1 "$cli" | grep libssh2 || true)
echo "libssh2 objects mapped:"
echo "$maps"
count=$(echo "$maps" | grep -c libssh2 || true)
if [ "$count" -ne 1 ]; then
  echo "FAIL: $count libssh2 objects are mapped into bastion-cli, expected exactly 1"
  exit 1
fi
echo "PASS: one libssh2 ($ssh2) loaded"
