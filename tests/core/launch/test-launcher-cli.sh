#!/bin/bash
# bastion-cli launch, end to end: under tests/harness/with-servers --postgres --keyring
# --team demo. The harness's PostgreSQL port stands in for a running tunnel; a recorder
# terminal (tests/fixtures/launcher/recorder) runs the REAL psql that the launch starts.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

cli=${BASTION_CLI:?}
src=${G_TEST_SRCDIR:?}
port=${BASTION_TEST_PG_PORT:?}
pw=$(cat "${BASTION_TEST_PG_PASSWORD_FILE:?}")
tmp=$(mktemp -d "${BASTION_TEST_TMP:?}/cli-launch.XXXXXX")
bin=$tmp/bin
mkdir "$bin"
ln -s "$src/fixtures/launcher/recorder" "$bin/xdg-terminal-exec"
export PATH=$bin:/usr/bin:/bin
export BASTION_RECORDER_DIR=$tmp/records
mkdir "$BASTION_RECORDER_DIR"
rt=${XDG_RUNTIME_DIR:?}/bastion

"$cli" import >/dev/null
"$cli" secret set demo db-password < "$BASTION_TEST_PG_PASSWORD_FILE"

# --dry-run: the command, variable names and files; nothing written, no password.
out=$("$cli" launch demo psql --dry-run --port "$port")
echo "$out"
grep -q "service=simpleiot-demo" <<<"$out" || fail "no service= in the dry run"
grep -q "^  PGSERVICEFILE$" <<<"$out" || fail "no PGSERVICEFILE in the dry run"
grep -q "simpleiot-demo.pgpass" <<<"$out" || fail "no pgpass file in the dry run"
grep -qF -- "$pw" <<<"$out" && fail "the password is in the dry run"
[ ! -e "$rt" ] || [ -z "$(find "$rt" -name '*.pgpass')" ] || fail "the dry run wrote a file"

# No tunnel: a clear error naming what to do.
if "$cli" launch demo psql --port 1 2>"$tmp/err"; then fail "launched without a tunnel"; fi
grep -q "no tunnel is listening on 127.0.0.1:1" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"

# The real psql through the service entry; the profile is read-only by default.
printf '\\set QUIET on\n\\pset format unaligned\n\\pset tuples_only on\nshow default_transaction_read_only;\n' \
  > "$tmp/in.sql"
BASTION_RECORDER_EXEC=1 BASTION_RECORDER_STDIN=$tmp/in.sql \
  "$cli" launch demo psql --port "$port" > "$tmp/launch.out" 2>&1 &
pid=$!

for _ in $(seq 1200); do
  grep -q "Started psql" "$tmp/launch.out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/launch.out"; fail "bastion-cli launch exited"; }
  sleep 0.1
done
grep -q "Started psql" "$tmp/launch.out" || fail "bastion-cli launch did not start psql"

rec=$BASTION_RECORDER_DIR/000-xdg-terminal-exec
[ "$(cat "$rec/output.txt")" = "on" ] || fail "psql said: $(cat "$rec/output.txt")"

# While connected: one pgpass, 0600, in a 0700 folder; the password nowhere else.
pgpass=$(find "$rt" -name 'simpleiot-demo.pgpass')
[ -n "$pgpass" ] || fail "no pgpass file while connected"
[ "$(stat -c %a "$pgpass")" = 600 ] || fail "pgpass mode $(stat -c %a "$pgpass")"
[ "$(stat -c %a "$rt")" = 700 ] || fail "runtime folder mode $(stat -c %a "$rt")"
grep -qF -- "$pw" "$rec/record.json" && fail "the password is in the recorded argv/environment"
tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qF -- "$pw" && fail "the password is in argv"
tr '\0' '\n' < "/proc/$pid/environ" | grep -qF -- "$pw" && fail "the password is in the environment"

# Done: Ctrl+C removes everything.
kill -INT "$pid"
wait "$pid" || fail "bastion-cli launch exited with $?"
[ -z "$(find "$rt" -mindepth 1)" ] || fail "left behind: $(find "$rt" -mindepth 1)"

echo "ok"
