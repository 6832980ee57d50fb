#!/usr/bin/python3
"""`bastion-cli query` and `bastion-cli check` end to end: the demo team imported from a
SimpleIOT folder, through the real sshd to the real PostgreSQL, with the AWS endpoint that
verifies every signature. Run under tests/harness/with-servers --sshd --postgres --keyring
--aws --team demo. TAP output."""

import csv
import io
import json
import os
import subprocess

from clitest import cli, control, env, finish, one_line_error, tap

CLI = env("BASTION_CLI")
TEAM = env("BASTION_TEST_TEAM")
env("BASTION_TEST_AWS_CONTROL_URL")
FINGERPRINT = env("BASTION_TEST_SSH_FINGERPRINT")
with open(env("BASTION_TEST_PG_PASSWORD_FILE")) as f:
    PG_PASSWORD = f.read().strip()

res = cli("import")
tap(res.returncode == 0, "import the demo team", res.stderr)
res = cli("secret", "set", TEAM, "db-password", stdin=PG_PASSWORD + "\n")
tap(res.returncode == 0, "store the DB password in the keyring", res.stderr)

# An unknown host key is refused, with the fingerprint and the way to trust it.
res = cli("query", TEAM, "select name from project")
tap(one_line_error(res, "host key") and FINGERPRINT in res.stderr and "--accept-new" in
    res.stderr, "unknown host key refused with its fingerprint", res.stderr)
tap(res.stdout == "", "nothing printed on stdout on failure", res.stdout)

res = cli("query", TEAM, "select name from project", "--accept-new")
tap(res.returncode == 0 and "Sunshine" in res.stdout, "query prints Sunshine",
    res.stdout + res.stderr)

# Trusted now: no flag needed. Every format.
res = cli("query", TEAM, "select name, is_gateway from project", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "name,is_gateway\nSunshine,f\n",
    "CSV output", repr(res.stdout) + res.stderr)

res = cli("query", TEAM, "select count(*)::int as n, 'x' as s, null::text as z from device",
          "--format", "json")
try:
    rows = json.loads(res.stdout)
except ValueError:
    rows = None
tap(rows == [{"n": 5, "s": "x", "z": None}], "JSON output with types", res.stdout + res.stderr)

res = cli("query", TEAM, 'select d.name, m.name as model from device d join model m '
          'on m.id = d.model order by d.name', "--format", "csv")
table = list(csv.reader(io.StringIO(res.stdout)))
tap(res.returncode == 0 and len(table) == 6 and table[0] == ["name", "model"],
    "the demo devices with their models", res.stdout + res.stderr)

res = cli("query", TEAM, 'select "desc", "position" from device limit 1')
tap(res.returncode == 0, "quoted identifiers", res.stderr)

# Read-only unless asked.
res = cli("query", TEAM, "create table bastion_probe (x int)")
tap(one_line_error(res, "query") and "--write" in res.stderr, "a write is refused without --write",
    res.stderr)
res = cli("query", TEAM, "create table bastion_probe (x int)", "--write")
tap(res.returncode == 0, "the write succeeds with --write", res.stderr)
res = cli("query", TEAM, "select count(*) from bastion_probe", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "count\n0\n", "the table exists", res.stdout + res.stderr)
cli("query", TEAM, "drop table bastion_probe", "--write")

res = cli("query", TEAM, "select from where")
tap(one_line_error(res, "query") and "syntax error" in res.stderr, "a syntax error in one line",
    res.stderr)

# A stream larger than any cap, cut short by the reader.
proc = subprocess.Popen([CLI, "query", TEAM, "select g from generate_series(1, 2000000) g",
                         "--format", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
head = proc.stdout.readline() + proc.stdout.readline()
proc.stdout.close()
rc = proc.wait(timeout=60)
tap(head == b"g\n1\n" and rc == 0, "a reader that stops (| head) ends the query cleanly",
    "rc=%d %r %s" % (rc, head, proc.stderr.read().decode()))

# launch with no tunnel running: it opens its own through the bastion, psql runs (in a recorded
# terminal) through the service entry with no password typed, and Ctrl+C removes every file.
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
tmp = tempfile.mkdtemp(dir=env("BASTION_TEST_TMP"))
os.mkdir(os.path.join(tmp, "bin"))
os.mkdir(os.path.join(tmp, "records"))
os.symlink(os.path.join(env("G_TEST_SRCDIR"), "fixtures", "launcher", "recorder"),
           os.path.join(tmp, "bin", "xdg-terminal-exec"))
with open(os.path.join(tmp, "in.sql"), "w") as f:
    f.write("\\pset format unaligned\n\\pset tuples_only on\nselect name from project;\n")
launch_env = dict(os.environ, PATH=os.path.join(tmp, "bin") + ":/usr/bin:/bin",
                  BASTION_RECORDER_DIR=os.path.join(tmp, "records"), BASTION_RECORDER_EXEC="1",
                  BASTION_RECORDER_STDIN=os.path.join(tmp, "in.sql"))
proc = subprocess.Popen([CLI, "launch", TEAM, "psql"], env=launch_env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
line = proc.stdout.readline()
output_file = os.path.join(tmp, "records", "000-xdg-terminal-exec", "output.txt")
for _ in range(300):
    if os.path.exists(output_file):
        break
    time.sleep(0.1)
try:
    with open(output_file) as f:
        psql_output = f.read()
except OSError:
    psql_output = ""
tap(line.startswith("Started psql") and "Sunshine" in psql_output,
    "launch opens its own tunnel and psql reads the projects through it",
    line + psql_output)
runtime = os.path.join(env("XDG_RUNTIME_DIR"), "bastion")
pgpass = [os.path.join(d, f) for d, _, fs in os.walk(runtime) for f in fs if f.endswith(".pgpass")]
tap(len(pgpass) == 1 and os.stat(pgpass[0]).st_mode & 0o777 == 0o600,
    "one 0600 pgpass file while launched", pgpass)
proc.send_signal(signal.SIGINT)
rc = proc.wait(timeout=30)
left = [os.path.join(d, f) for d, _, fs in os.walk(runtime) for f in fs]
tap(rc == 0 and not left, "Ctrl+C ends launch and removes its files", "rc=%d left=%s %s"
    % (rc, left, proc.stderr.read()))

res = cli("query", "no-such-team", "select 1")
tap(one_line_error(res, "profile"), "an unknown team is one clear line", res.stderr)

# check: the bastion here is 127.0.0.1; so is its public name in the fake AWS.
control("state", {"instances": [dict(control("state")["instances"][0], dns="127.0.0.1",
                                     ip="127.0.0.1")]})
res = cli("check", TEAM)
out = res.stdout
tap(res.returncode == 1 and "FAILED  My IP against the security group" in out and
    "198.51.100.7" in out and "203.0.113.45" in out and "allow-my-ip" in out,
    "check names the security group that does not admit my IP", out + res.stderr)
tap("ok      Reach port 22" in out and "ok      Log in to the database" in out and
    "ok      A read-only query: the session is read-only" in out,
    "check: every tunnel step ok", out)

res = cli("aws", "allow-my-ip", TEAM)
tap(res.returncode == 0, "allow-my-ip", res.stderr)
res = cli("check", TEAM)
tap(res.returncode == 0 and "0 failed" in res.stdout, "check passes once my IP is admitted",
    res.stdout + res.stderr)

control("state", {"instances": [dict(control("state")["instances"][0], state="stopped")]})
res = cli("check", TEAM)
tap(res.returncode == 1 and "FAILED  Bastion instance" in res.stdout and "start" in res.stdout,
    "check: a stopped bastion and how to start it", res.stdout)

state = control("state")
tap(not state["signature_failures"], "every AWS request was correctly signed",
    json.dumps(state["signature_failures"]))

finish()
