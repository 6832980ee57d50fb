#!/usr/bin/python3
"""`bastion-cli tunnel TEAM --via ssm` through the harness's Session Manager endpoint, with real
psql clients and the real PostgreSQL behind it (TAP on stdout; issue 21).

Run under: with-servers --aws --ssm --postgres --keyring --team demo -- test-ssm-tunnel.py

- psql through the tunnel gets the right answer; ssm:StartSession and ssm:TerminateSession were
  signed right (the endpoint verified them with botocore) and the session is terminated on exit;
- COPY of a 1M-row result arrives intact (sha256 against the direct connection);
- 16 psql clients at once over one session, each with its own stream, all answers right;
- every fault of the endpoint (drop, duplicate, reorder, corrupt digest, an unacknowledged input
  message, pause_publication) still gives intact data; the WebSocket closed or the session ended
  by the service: the tunnel says so, reconnects, keeps its port, and the next query works;
- an old agent without multiplexing serves one client and refuses a second one with a message;
- AccessDeniedException (names ssm:StartSession), TargetNotConnected (not registered) and clock
  skew each end the tunnel with one clear line and exit status 1;
- `check --via ssm` reports the Session Manager step, ok or FAILED with the reason.
Every step is bounded by a timeout: a hang fails the test instead of blocking it.
"""

import hashlib
import json
import os
import subprocess
import sys
import threading
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
PG_PORT = env("BASTION_TEST_PG_PORT")
PG_USER = env("BASTION_TEST_PG_USER")
PG_DB = env("BASTION_TEST_PG_DB")
TMP = env("BASTION_TEST_TMP")

with open(env("BASTION_TEST_PG_PASSWORD_FILE")) as f:
    PASSWORD = f.read().strip()
PGPASS = os.path.join(TMP, "ssm-pgpass")
with open(PGPASS, "w") as f:
    f.write("127.0.0.1:*:%s:%s:%s\n" % (PG_DB, PG_USER, PASSWORD))
os.chmod(PGPASS, 0o600)
PSQL_ENV = dict(os.environ, PGPASSFILE=PGPASS, PGCONNECT_TIMEOUT="20")


def control(path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(CONTROL + "/" + path, data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def last_session():
    sessions = control("state")["ssm_sessions"]
    return sessions[-1] if sessions else {}


def psql(port, sql, timeout=120):
    return subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER,
                           "-d", PG_DB, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          env=PSQL_ENV, capture_output=True, timeout=timeout)


class Tunnel:
    def __init__(self):
        self.err_path = os.path.join(TMP, "ssm-tunnel-%d.err" % time.monotonic_ns())
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([CLI, "tunnel", TEAM, "--via", "ssm", "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.err,
                                     stdin=subprocess.DEVNULL)
        self.port = None
        line = []
        timer = threading.Timer(40, self.proc.kill)
        timer.start()
        first = self.proc.stdout.readline().decode()
        timer.cancel()
        line.append(first)
        if first.startswith("listening 127.0.0.1:"):
            self.port = int(first.strip().rsplit(":", 1)[1])

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)
        try:
            status = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = "hung"
        self.err.close()
        return status


def sha(data):
    return hashlib.sha256(data).hexdigest()


SAMPLE = "select g, md5(g::text) from generate_series(1, 20000) g"
DIRECT_SAMPLE = psql(PG_PORT, SAMPLE).stdout
COPY = "copy (select g, md5(g::text), g * 7 from generate_series(1, 1000000) g) to stdout"

print("1..19")
control("reset-log", {})
res = subprocess.run([CLI, "import"], capture_output=True, timeout=60)
tap(res.returncode == 0, "import the demo team", res.stderr)

# 1. A query, and the session's lifecycle.
t = Tunnel()
res = psql(t.port, "select count(*), sum(g) from generate_series(1, 100000) g") if t.port else None
tap(res is not None and res.stdout == b"100000|5000050000\n",
    "psql through --via ssm gets the right answer",
    (res.stderr if res else b"") + t.stderr().encode())
status = t.stop()
record = last_session()
state = control("state")
tap(status == 0 and record.get("closed_by") == "TerminateSession" and
    not state["signature_failures"] and
    [r["action"] for r in state["requests"] if r.get("signature_ok")][-2:] ==
    ["StartSession", "TerminateSession"],
    "StartSession and TerminateSession signed right; the session is terminated on exit",
    "status %s, record %s, failures %s" % (status, record, state["signature_failures"]))

# 2. COPY of a million rows.
direct = psql(PG_PORT, COPY, timeout=300)
t = Tunnel()
start = time.monotonic()
via = psql(t.port, COPY, timeout=300)
elapsed = time.monotonic() - start
t.stop()
tap(via.returncode == 0 and direct.stdout.count(b"\n") == 1000000 and
    sha(via.stdout) == sha(direct.stdout),
    "COPY of 1,000,000 rows through Session Manager is intact (%.1f MB in %.1f s)"
    % (len(via.stdout) / 1e6, elapsed), via.stderr)

# 3. Sixteen clients at once.
t = Tunnel()
outs = [None] * 16


def client(i):
    try:
        outs[i] = psql(t.port, "select %d, count(*), sum(g) from generate_series(1, %d) g"
                       % (i, 20000 + i), timeout=120)
    except subprocess.TimeoutExpired:
        outs[i] = None


threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
for th in threads:
    th.start()
for th in threads:
    th.join()
want = [("%d|%d|%d\n" % (i, 20000 + i, (20000 + i) * (20001 + i) // 2)).encode()
        for i in range(16)]
t.stop()
record = last_session()
tap(all(o is not None and o.stdout == w for o, w in zip(outs, want)) and
    record.get("streams") == 16 and record.get("data_channels") == 1,
    "16 concurrent psql clients over one session, 16 streams",
    "%s / %s" % ([o.stdout if o else None for o in outs], record))

# 4. Faults that must leave the data intact.
for name, faults, check in [
        ("a dropped frame", {"drop": [3, 10]}, lambda r: r.get("resends", 0) >= 2),
        ("a duplicated frame", {"duplicate": [3, 10]}, lambda r: r.get("faults_duplicated") == 2),
        ("two reordered frames", {"reorder": [3, 10]}, lambda r: r.get("faults_reordered") == 2),
        ("a corrupted digest", {"corrupt": [3, 10]},
         lambda r: r.get("faults_corrupted") == 2 and r.get("resends", 0) >= 2),
        ("an input frame left unacknowledged", {"drop_in": [3]},
         lambda r: r.get("faults_dropped_in") == 1 and r.get("out_of_order_in", 0) >= 0),
        ("pause_publication for 1.5 s", {"pause_ms": 1500},
         lambda r: r.get("paused_violations", 0) == 0)]:
    control("state", {"faults": faults})
    t = Tunnel()
    res = psql(t.port, SAMPLE, timeout=60) if t.port else None
    t.stop()
    record = last_session()
    tap(res is not None and res.stdout == DIRECT_SAMPLE and check(record),
        "%s: the data arrives intact" % name,
        "%s %s %s" % (res.stderr if res else "", record, t.stderr()))
control("state", {"faults": {}})

# 5. The WebSocket dropped, and the session ended by the service: reconnect, same port.
for name, faults, closed_by in [("the WebSocket closed", {"close_after": 5}, None),
                                ("the session ended by the service", {"closed_after": 5},
                                 "service")]:
    control("state", {"faults": faults})
    t = Tunnel()
    first = psql(t.port, SAMPLE, timeout=60) if t.port else None
    control("state", {"faults": {}})
    sessions_before = len(control("state")["ssm_sessions"])
    again = None
    for attempt in range(20):
        again = psql(t.port, "select 42", timeout=30)
        if again.stdout == b"42\n":
            break
        time.sleep(0.5)
    sessions = control("state")["ssm_sessions"]
    t.stop()
    text = t.stderr()
    tap(first is not None and first.returncode != 0 and again is not None and
        again.stdout == b"42\n" and "Reconnecting" in text and
        len(sessions) >= sessions_before and
        (closed_by is None or any(s.get("closed_by") == closed_by for s in sessions)),
        "%s: the query in flight fails cleanly, the tunnel reconnects on the same port" % name,
        "%s %s %s" % (first.stderr if first else "", again.stderr if again else "", text))

# 6. An old agent: one connection at a time, a second one is refused with a message.
control("state", {"agent_version": "3.0.100.0"})
t = Tunnel()
first = subprocess.Popen(["psql", "-X", "-h", "127.0.0.1", "-p", str(t.port), "-U", PG_USER,
                          "-d", PG_DB, "-At", "-c", "select pg_sleep(3), 1"],
                         env=PSQL_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(1.0)
second = psql(t.port, "select 2", timeout=30)
out, err = first.communicate(timeout=60)
third = psql(t.port, "select 3", timeout=30)
t.stop()
tap(out == b"|1\n" and second.returncode != 0 and third.stdout == b"3\n" and
    "one connection at a time" in t.stderr(),
    "old agent: one client at a time; the second is refused and told why",
    "%s %s %s %s" % (out, second.stderr, third.stderr, t.stderr()))
control("state", {"agent_version": "3.2.582.0"})


# 7. The errors a user can meet.
def failing(update, expect, name):
    control("state", update)
    proc = subprocess.run([CLI, "tunnel", TEAM, "--via", "ssm", "--port", "0"],
                          capture_output=True, timeout=60)
    err = proc.stderr.decode(errors="replace")
    tap(proc.returncode == 1 and all(e in err for e in expect) and
        len(err.strip().splitlines()) == 1, name, err)


# 8. check --via ssm: the session step, and its failure with the reason.
res = subprocess.run([CLI, "check", TEAM, "--via", "ssm"], capture_output=True, timeout=120)
out = res.stdout.decode(errors="replace")
tap(res.returncode == 0 and any(l.startswith("ok") and "AWS Session Manager session" in l and
                                "i-0bastion000000001" in l and "agent 3.2.582.0" in l
                                for l in out.splitlines()) and
    last_session().get("closed_by") == "TerminateSession",
    "check --via ssm starts a session, reports it and terminates it", out + res.stderr.decode())
control("state", {"deny": ["StartSession"]})
res = subprocess.run([CLI, "check", TEAM, "--via", "ssm"], capture_output=True, timeout=120)
out = res.stdout.decode(errors="replace")
tap(res.returncode == 1 and any(l.startswith("FAILED") and "ssm:StartSession" in l
                                for l in out.splitlines()),
    "check --via ssm names the missing ssm:StartSession", out)
control("state", {"deny": []})

failing({"deny": ["StartSession"]}, ["ssm:StartSession"],
        "AccessDeniedException names ssm:StartSession")
failing({"deny": [], "registered": ["i-0someotherinstance"]},
        ["not registered with Session Manager", "i-0bastion000000001"],
        "TargetNotConnected says the bastion is not registered")
failing({"registered": None, "clock_skew_s": 3600}, ["clock"],
        "clock skew says to set the clock right")
control("state", {"clock_skew_s": 0})

sys.exit(0 if all(results) else 1)
