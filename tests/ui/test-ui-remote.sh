#!/bin/sh
# `bastion --connect TEAM` from a second process reaches the running Bastion (single instance
# through D-Bus): the second process exits at once, and the first shows the team. Run under
# tests/harness/with-servers --xvfb --keyring --sshd --team demo (the keyring's private session
# bus carries the GApplication).
set -eu

app=${BASTION_APP:?}
team=${BASTION_TEST_TEAM:?}
: "${DISPLAY:?run under tests/harness/with-servers --xvfb}"
: "${DBUS_SESSION_BUS_ADDRESS:?run under tests/harness/with-servers --keyring}"

# A second team, so that the first Bastion does not open the only one by itself.
other=${BASTION_SIMPLEIOT_DIR:?}/other
cp -r "${BASTION_TEST_TEAM_DIR:?}" "$other"
sed -i 's/"team": "[^"]*"/"team": "other"/' "$other/config.json"

"$app" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT

timeout 90 xdotool search --sync --onlyvisible --name '^Bastion$' >/dev/null || {
  echo "not ok 1 - the first Bastion shows a window"; exit 1; }
echo "ok 1 - the first Bastion shows a window"

# The second instance hands the request over and exits 0, without a window of its own.
if timeout 30 "$app" --connect "$team"; then
  echo "ok 2 - bastion --connect $team returns"
else
  echo "not ok 2 - bastion --connect $team failed or hung"; exit 1
fi
# Only this test's processes count (tests run in parallel, other ui tests run Bastion too): those
# below the harness that runs this script, which also owns the session bus that could activate
# a second Bastion.
n=$(ps -e -o pid= -o ppid= -o args= | awk -v root="$PPID" -v app="$app" '
  { p = $1; pp = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); parent[p] = pp; cmd[p] = $0 }
  END {
    n = 0
    for (p in cmd)
      if (cmd[p] == app) {
        q = p
        while ((q in parent) && q != root && q > 1)
          q = parent[q]
        if (q == root)
          n++
      }
    print n
  }')
[ "$n" -eq 1 ] || { echo "not ok 3 - $n bastion processes run, expected the first only"; exit 1; }
echo "ok 3 - one Bastion process runs"

wid=$(timeout 60 xdotool search --sync --onlyvisible --name "^$team — Bastion\$" | head -n 1) || {
  echo "not ok 4 - the running Bastion does not show $team"; exit 1; }
echo "ok 4 - the running Bastion shows $team (window $wid)"
kill -0 "$pid" || { echo "not ok 5 - the first Bastion exited"; exit 1; }
echo "ok 5 - the first Bastion still runs"
echo "1..5"
