#!/bin/sh
# The real `bastion` binary, as a user starts it: --version names our libraries, and under Xvfb
# (tests/harness/with-servers --xvfb) it opens a window titled Bastion, shown in a screenshot of
# the whole screen at <builddir>/tests/screenshots/smoke-root.png.
set -eu

app=${BASTION_APP:?}
shots=${G_TEST_BUILDDIR:?}/screenshots
: "${DISPLAY:?run under tests/harness/with-servers --xvfb}"
mkdir -p "$shots"

out=$("$app" --version)
echo "$out"
for lib in "bastion " "libssh2 1.1" "libpq " "libcurl " "GLib 2." "GTK 4." "libadwaita 1."; do
  echo "$out" | grep -q "^$lib" || { echo "FAIL: bastion --version does not name '$lib'"; exit 1; }
done

"$app" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT

# --sync waits for the window to appear; timeout only turns a hang into a failure.
wid=$(timeout 90 xdotool search --sync --onlyvisible --name '^Bastion$' | head -n 1) || {
  echo "FAIL: no window named Bastion appeared"; exit 1; }
echo "window $wid: $(xdotool getwindowname "$wid")"
kill -0 "$pid" || { echo "FAIL: bastion exited"; exit 1; }

geometry=$(xdotool getwindowgeometry "$wid")
echo "$geometry"

# The window maps before its first frame; wait until the screen is no longer one colour.
rm -f "$shots/smoke-root.png"
tries=0
while :; do
  import -window root "$shots/smoke-root.png"
  colours=$(identify -format '%k' "$shots/smoke-root.png")
  [ "$colours" -gt 16 ] && break
  tries=$((tries + 1))
  [ "$tries" -lt 300 ] || { echo "FAIL: the screen stays blank ($colours colours)"; exit 1; }
  sleep 0.2
done
echo "screenshot: $shots/smoke-root.png ($colours colours)"

kill "$pid"
wait "$pid" || true
trap - EXIT
echo "PASS"
