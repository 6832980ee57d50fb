#!/bin/sh
# The real `bastion` binary, as a user starts it: --version names our libraries, and under Xvfb
# (tests/harness/with-servers --xvfb) it opens a window titled Bastion that belongs to this process,
# is at least the window's minimum size, and draws a real frame: the screenshot of that window
# alone (<builddir>/tests/screenshots/smoke-window.png) has many colours and no colour covering
# nearly all of it.
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

wpid=$(xdotool getwindowpid "$wid" 2>/dev/null || echo none)
[ "$wpid" = "$pid" ] || { echo "FAIL: the Bastion window belongs to pid $wpid, not to $pid"; exit 1; }

geometry=$(xdotool getwindowgeometry "$wid")
echo "$geometry"
size=$(echo "$geometry" | sed -n 's/.*Geometry: \([0-9]*\)x\([0-9]*\).*/\1 \2/p')
set -- $size
[ "${1:-0}" -ge 360 ] && [ "${2:-0}" -ge 294 ] || {
  echo "FAIL: the window is ${1:-?}x${2:-?}, smaller than GNOME's 360x294 minimum"; exit 1; }

# The window maps before its first frame: wait until the window itself is drawn (many colours,
# and no single colour over 97 % of its pixels, which a blank or unstyled window would have).
shot="$shots/smoke-window.png"
rm -f "$shot"
tries=0
while :; do
  import -window "$wid" "$shot" 2>/dev/null || true
  if [ -f "$shot" ]; then
    colours=$(identify -format '%k' "$shot")
    top=$(convert "$shot" -format %c histogram:info:- | sort -rn | head -n 1 |
          sed 's/^ *\([0-9]*\):.*/\1/')
    total=$(identify -format '%[fx:w*h]' "$shot")
    share=$((100 * top / total))
    [ "$colours" -gt 16 ] && [ "$share" -le 97 ] && break
  fi
  tries=$((tries + 1))
  [ "$tries" -lt 300 ] || {
    echo "FAIL: the window stays blank (${colours:-0} colours, one covers ${share:-100} %)"; exit 1; }
  sleep 0.2
done
echo "screenshot: $shot ($colours colours; the commonest covers $share % of the window)"

kill "$pid"
wait "$pid" || true
trap - EXIT
echo "PASS"
