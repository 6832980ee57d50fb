#!/usr/bin/python3
"""`--via ssm` for `query`, `launch` and `check`, and the per-team `transport` (issue 21): the
Session Manager endpoint of the harness carries BastionConnection's own tunnel to the real
PostgreSQL (TAP on stdout).

Run under: with-servers --aws --ssm --postgres --keyring --team demo -- test-ssm-via.py
(no sshd: anything that still went through SSH would fail to connect).

- profiles.json without "transport" loads as ssh; `profile set TEAM transport ssm|auto|ssh` is
  stored and shown, a bad value refused;
- `query --via ssm` prints the right rows, starts one session and terminates it;
- `launch psql --via ssm` opens its own tunnel through Session Manager, psql (in a recorded
  terminal) reads the projects through it;
- with the team's transport ssm, `query` needs no flag; `--via ssh` overrides it (and fails to
  reach the absent sshd without starting a session);
- `check --via ssm` reports the session, the tunnel, the database login and a query;
- AccessDenied on StartSession ends `query --via ssm` with one line naming ssm:StartSession;
- a data channel that drops mid-transfer is resumed (ssm:ResumeSession, the same session): the
  psql client in flight gets every row; where the service refuses to resume, a new session
  starts on the same port (test-ssm-tunnel checks that path).
Every step is bounded by a timeout: a hang fails the test instead of blocking it.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).strip().splitlines()[-15:]:
            print("# " + line)
    sys.stdout.flush()


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit("Bail out! %s is not set: run under tests/harness/with-servers" % name)
    return value


CLI = env("BASTION_CLI")
CONTROL = env("BASTION_TEST_SSM_CONTROL_URL")
TEAM = env("BASTION_TEST_TEAM")
TMP = env("BASTION_TEST_TMP")
with open(env("BASTION_TEST_PG_PASSWORD_FILE")) as f:
    PG_PASSWORD = f.read().strip()
PROFILES = os.path.join(env("XDG_CONFIG_HOME"), "bastion", "profiles.json")


def cli(*args, stdin=None, timeout=120):
    return subprocess.run([CLI] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=timeout, stdin=None if stdin is not None else subprocess.DEVNULL)


def control(path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(CONTROL + "/" + path, data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def sessions():
    return control("state")["ssm_sessions"]


def one_line_error(res, step):
    lines = [l for l in res.stderr.strip().splitlines() if not l.startswith("Bastion-Message")]
    return res.returncode != 0 and len(lines) == 1 and \
        lines[0].startswith("bastion-cli: %s: " % step)


def shown_transport():
    res = cli("profile", "show", TEAM)
    for line in res.stdout.splitlines():
        if line.startswith("transport: "):
            return line[len("transport: "):]
    return None


print("1..15")
res = cli("import")
tap(res.returncode == 0, "import the demo team", res.stderr)
res = cli("secret", "set", TEAM, "db-password", stdin=PG_PASSWORD + "\n")
tap(res.returncode == 0, "store the DB password in the keyring", res.stderr)

# 1. An older profiles.json has no "transport": it loads as ssh.
with open(PROFILES) as f:
    data = json.load(f)
removed = [p.pop("transport") for p in data["profiles"] if "transport" in p]
with open(PROFILES, "w") as f:
    json.dump(data, f)
tap(removed and shown_transport() == "ssh", "a profiles.json without transport loads as ssh",
    cli("profile", "show", TEAM).stdout)

# 2. query --via ssm.
before = len(sessions())
res = cli("query", TEAM, "select name from project", "--format", "csv", "--via", "ssm")
after = sessions()
tap(res.returncode == 0 and res.stdout == "name\nSunshine\n" and len(after) == before + 1 and
    after[-1].get("closed_by") == "TerminateSession" and
    "Connected through AWS Session Manager" in res.stderr,
    "query --via ssm prints the projects through one session, terminated at exit",
    "%r %s %s" % (res.stdout, res.stderr, after[-1:] if after else None))

res = cli("query", TEAM, "select count(*), sum(g) from generate_series(1, 200000) g",
          "--format", "csv", "--via", "ssm")
tap(res.returncode == 0 and res.stdout == "count,sum\n200000,20000100000\n",
    "an aggregate over 200,000 rows through --via ssm", res.stdout + res.stderr)

# 3. launch psql --via ssm, with no tunnel running: it opens its own through Session Manager.
tmp = tempfile.mkdtemp(dir=TMP)
os.mkdir(os.path.join(tmp, "bin"))
os.mkdir(os.path.join(tmp, "records"))
os.symlink(os.path.join(env("G_TEST_SRCDIR"), "fixtures", "launcher", "recorder"),
           os.path.join(tmp, "bin", "xdg-terminal-exec"))
with open(os.path.join(tmp, "in.sql"), "w") as f:
    f.write("\\pset format unaligned\n\\pset tuples_only on\nselect name from project;\n")
launch_env = dict(os.environ, PATH=os.path.join(tmp, "bin") + ":/usr/bin:/bin",
                  BASTION_RECORDER_DIR=os.path.join(tmp, "records"), BASTION_RECORDER_EXEC="1",
                  BASTION_RECORDER_STDIN=os.path.join(tmp, "in.sql"))
before = len(sessions())
proc = subprocess.Popen([CLI, "launch", TEAM, "psql", "--via", "ssm"], env=launch_env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        stdin=subprocess.DEVNULL)
output_file = os.path.join(tmp, "records", "000-xdg-terminal-exec", "output.txt")
psql_output = ""
for _ in range(600):
    if os.path.exists(output_file):
        with open(output_file) as f:
            psql_output = f.read()
        if "Sunshine" in psql_output:
            break
    if proc.poll() is not None:
        break
    time.sleep(0.1)
if proc.poll() is None:
    proc.send_signal(signal.SIGINT)
try:
    rc = proc.wait(timeout=30)
    out, err = proc.communicate(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill()
    rc, out, err = "hung", "", ""
tap(out.startswith("Started psql") and "Sunshine" in psql_output and rc == 0 and
    len(sessions()) == before + 1,
    "launch psql --via ssm: psql reads the projects through Session Manager",
    "%s %s %s %s" % (rc, out, err, psql_output))

# 4. The team's transport.
res = cli("profile", "set", TEAM, "transport", "ssm")
with open(PROFILES) as f:
    stored = f.read()
tap(res.returncode == 0 and "transport: ssm" in res.stdout and '"transport"' in stored and
    shown_transport() == "ssm", "profile set TEAM transport ssm is stored and shown",
    res.stdout + res.stderr)
res = cli("profile", "set", TEAM, "transport", "carrier-pigeon")
tap(one_line_error(res, "profile") and "ssh, ssm" in res.stderr and shown_transport() == "ssm",
    "an unknown transport is refused and nothing changes", res.stderr)

before = len(sessions())
res = cli("query", TEAM, "select count(*) from device", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "count\n5\n" and len(sessions()) == before + 1,
    "with transport ssm, query goes through Session Manager without --via",
    res.stdout + res.stderr)

before = len(sessions())
res = cli("query", TEAM, "select 1", "--via", "ssh", timeout=180)
tap(res.returncode != 0 and len(sessions()) == before,
    "--via ssh overrides the team's ssm (no sshd here: it fails, and starts no session)",
    res.stderr)
res = cli("query", TEAM, "select 1", "--via", "telnet")
tap(one_line_error(res, "query") and "--via" in res.stderr, "--via telnet is refused",
    res.stderr)

# 5. check --via ssm: the session, the tunnel, the login and a query.
res = cli("check", TEAM, "--via", "ssm", timeout=180)
lines = res.stdout.splitlines()
tap(res.returncode == 0 and any(l.startswith("ok") and "AWS Session Manager session" in l
                                for l in lines) and
    any(l.startswith("ok") and "database" in l.lower() for l in lines) and
    not any(l.startswith("FAILED") for l in lines),
    "check --via ssm: session, tunnel, database login and query all ok", res.stdout + res.stderr)

# 6. AccessDenied: one line, naming the action.
control("state", {"deny": ["StartSession"]})
res = cli("query", TEAM, "select 1", "--via", "ssm")
control("state", {"deny": []})
tap(one_line_error(res, "tunnel") and "ssm:StartSession" in res.stderr,
    "AccessDenied ends query --via ssm with one line naming ssm:StartSession", res.stderr)

res = cli("profile", "set", TEAM, "transport", "ssh")
tap(res.returncode == 0 and shown_transport() == "ssh", "transport back to ssh", res.stderr)

# 7. ResumeSession: the WebSocket drops after the 5th data message of a 20,000-row answer.
PGPASS = os.path.join(TMP, "via-pgpass")
with open(PGPASS, "w") as f:
    f.write("127.0.0.1:*:%s:%s:%s\n" % (env("BASTION_TEST_PG_DB"), env("BASTION_TEST_PG_USER"),
                                       PG_PASSWORD))
os.chmod(PGPASS, 0o600)
SAMPLE = "select g, md5(g::text) from generate_series(1, 20000) g"


def psql(port, sql):
    return subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U",
                           env("BASTION_TEST_PG_USER"), "-d", env("BASTION_TEST_PG_DB"), "-At",
                           "-c", sql], env=dict(os.environ, PGPASSFILE=PGPASS,
                                                PGCONNECT_TIMEOUT="20"),
                          capture_output=True, timeout=120)


direct = psql(env("BASTION_TEST_PG_PORT"), SAMPLE)
control("state", {"resume": True, "faults": {"close_after": 5}})
before = len(sessions())
err_path = os.path.join(TMP, "via-resume.err")
with open(err_path, "wb") as err:
    tunnel = subprocess.Popen([CLI, "tunnel", TEAM, "--via", "ssm", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    line = tunnel.stdout.readline().decode()
    port = int(line.strip().rsplit(":", 1)[1]) if line.startswith("listening") else None
    via = psql(port, SAMPLE) if port else None
    control("state", {"resume": False, "faults": {}})
    tunnel.send_signal(signal.SIGINT)
    try:
        tunnel.wait(timeout=30)
    except subprocess.TimeoutExpired:
        tunnel.kill()
with open(err_path) as f:
    text = f.read()
after = sessions()
tap(via is not None and via.returncode == 0 and via.stdout == direct.stdout and
    len(after) == before + 1 and after[-1].get("resumes") == 1 and
    after[-1].get("data_channels") == 2 and "resumed" in text,
    "a dropped data channel is resumed: the query in flight gets all 20,000 rows",
    "%s %s %s %s" % (via.stderr if via else line, via.stdout[-300:] if via else "",
                     after[-1:] if after else None,
                     text + open(os.environ.get("BASTION_TEST_SSM_LOG", os.devnull)).read()))

sys.exit(0 if all(results) else 1)
