#!/usr/bin/python3
"""A frozen UI thread does not stall the app's tunnel (issue 16).

The real Bastion (BASTION_APP) connects the demo team (`bastion --connect demo`). An external
psql then streams `COPY bigcopy TO STDOUT` (a table of more than 100 MB) through the app's
tunnel, read at a steady pace so the transfer lasts several seconds. Meanwhile the app's UI
thread is frozen for 5 s (SIGUSR1 with BASTION_TEST_UI_BLOCK_MS, a test hook in main.c).
Checks: bytes kept arriving while the UI thread was frozen (no gap longer than GAP_MAX, and a
good part of the table came through meanwhile), and every byte arrived: size and SHA-256 equal
the same COPY read directly from PostgreSQL.

With the tunnel on the UI thread's main loop (before issue 16) the transfer stops for the whole
freeze once the sockets' buffers are drained, and this test fails.

Run under tests/harness/with-servers --xvfb --sshd --postgres --keyring --team demo.
"""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

APP = os.environ.get("BASTION_APP")
CLI = os.environ["BASTION_CLI"]
TEAM = os.environ["BASTION_TEST_TEAM"]
TEAM_DIR = os.environ["BASTION_TEST_TEAM_DIR"]
TMP = tempfile.mkdtemp(prefix="ui-tunnel-block.", dir=os.environ["BASTION_TEST_TMP"])
APP_ID = "io.github.bastiongtk.Bastion"
PG = {k: os.environ["BASTION_TEST_PG_" + k] for k in ("HOST", "PORT", "USER", "DB")}
with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
    DB_PASSWORD = f.read().strip()

ROWS = 1500000            # about 108 MB of COPY text
MIN_BYTES = 100 * 1000 * 1000
BLOCK_MS = 5000
PACE = 12 * 1024 * 1024   # bytes per second the client reads: the COPY lasts about 9 s
CHUNK = 64 * 1024
GAP_MAX = 2.5             # seconds without a byte: a generous hang detector, not a timing
MARK_BLOCK = "test hook: the UI thread blocks"
MARK_BACK = "test hook: the UI thread is back"

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok %d - %s" % (passed + failed, name))
    else:
        failed += 1
        print("not ok %d - %s %s" % (passed + failed, name, detail))
    sys.stdout.flush()


def pg_env():
    e = dict(os.environ)
    e["PGPASSWORD"] = DB_PASSWORD
    e["PGCONNECT_TIMEOUT"] = "30"
    return e


def psql_args(host, port, sql):
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", str(port),
            "-U", PG["USER"], "-d", PG["DB"], "-c", sql]


def cli(name, *args, stdin=None):
    res = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         input=stdin, timeout=180)
    check("bastion-cli %s exits 0" % name, res.returncode == 0,
          res.stdout.decode(errors="replace")[-1500:])


def local_port():
    with open(os.path.join(TEAM_DIR, "config.json")) as f:
        return int(json.load(f)["ssh_db_local_port"])


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def copy_digest(host, port):
    """The COPY's size and SHA-256, read as fast as it comes."""
    proc = subprocess.Popen(psql_args(host, port, "COPY bigcopy TO STDOUT"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=pg_env())
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    err = proc.stderr.read().decode(errors="replace")
    return proc.wait(timeout=120), size, digest.hexdigest(), err


class PacedReader(threading.Thread):
    """Reads psql's output at PACE and notes (time, total bytes) after every chunk."""

    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc = proc
        self.samples = []
        self.size = 0
        self.digest = hashlib.sha256()

    def run(self):
        start = time.monotonic()
        while True:
            chunk = self.proc.stdout.read1(CHUNK)
            if not chunk:
                break
            self.digest.update(chunk)
            self.size += len(chunk)
            now = time.monotonic()
            self.samples.append((now, self.size))
            ahead = start + self.size / PACE - now
            if ahead > 0:
                time.sleep(ahead)


def log_mark_time(log, mark, deadline):
    """The moment MARK first shows in the app's log (polled), or None."""
    while time.monotonic() < deadline:
        with open(log, errors="replace") as f:
            if mark in f.read():
                return time.monotonic()
        time.sleep(0.02)
    return None


def quit_app(proc):
    subprocess.run(["gdbus", "call", "--session", "--dest", APP_ID, "--object-path",
                    "/" + APP_ID.replace(".", "/"), "--method", "org.gtk.Actions.Activate",
                    "quit", "[]", "{}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    try:
        proc.wait(timeout=60)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def stream_while_blocked(app, port, log):
    proc = subprocess.Popen(psql_args("127.0.0.1", port, "COPY bigcopy TO STDOUT"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=pg_env())
    reader = PacedReader(proc)
    reader.start()
    # Freeze the UI thread once the stream is well under way.
    deadline = time.monotonic() + 120
    while reader.size < 16 * 1024 * 1024 and reader.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    app.send_signal(signal.SIGUSR1)
    t_block = log_mark_time(log, MARK_BLOCK, time.monotonic() + 30)
    t_back = log_mark_time(log, MARK_BACK, time.monotonic() + 60)
    reader.join(timeout=240)
    err = proc.stderr.read().decode(errors="replace")
    rc = proc.wait(timeout=60)
    return reader, rc, err, t_block, t_back


def main():
    if not APP:
        print("1..0 # SKIP built without the GUI (BASTION_APP is not set)")
        return 0

    cli("import", "import")
    with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"], "rb") as f:
        cli("secret set db-password", "secret", "set", TEAM, "db-password", stdin=f.read())
    cli("hostkey --trust", "hostkey", TEAM, "--trust")

    res = subprocess.run(psql_args(PG["HOST"], PG["PORT"],
                                   "DROP TABLE IF EXISTS bigcopy; "
                                   "CREATE UNLOGGED TABLE bigcopy AS SELECT g, "
                                   "md5(g::text) || md5((g + 1)::text) AS t "
                                   "FROM generate_series(1, %d) g" % ROWS),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=pg_env(),
                         timeout=600)
    check("the table bigcopy is created directly", res.returncode == 0,
          res.stdout.decode(errors="replace")[-500:])
    rc, direct_size, direct_sha, err = copy_digest(PG["HOST"], PG["PORT"])
    check("COPY bigcopy directly: %d bytes (at least %d)" % (direct_size, MIN_BYTES),
          rc == 0 and direct_size >= MIN_BYTES, err[-500:])

    port = local_port()
    log = os.path.join(TMP, "bastion.log")
    env = dict(os.environ)
    env["BASTION_TEST_UI_BLOCK_MS"] = str(BLOCK_MS)
    with open(log, "w") as out:
        app = subprocess.Popen([APP, "--connect", TEAM], stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and app.poll() is None and not port_answers(port):
            time.sleep(0.2)
        with open(log, errors="replace") as f:
            tail = f.read()[-2000:]
        check("Bastion's tunnel answers on 127.0.0.1:%d" % port, port_answers(port), tail)

        reader, rc, err, t_block, t_back = stream_while_blocked(app, port, log)
        check("the UI thread was frozen (the hook's marks are in the log)",
              t_block is not None and t_back is not None and t_back - t_block >= 3.0,
              "%s .. %s" % (t_block, t_back))
        check("psql through the tunnel exits 0", rc == 0, err[-500:])
        check("every byte arrived: %d bytes through the tunnel, %d directly"
              % (reader.size, direct_size), reader.size == direct_size)
        check("the bytes are the same (SHA-256)", reader.digest.hexdigest() == direct_sha)

        if t_block is not None and t_back is not None:
            during = [(t, n) for t, n in reader.samples if t_block <= t <= t_back]
            times = [t_block] + [t for t, _ in during] + [t_back]
            gap = max(b - a for a, b in zip(times, times[1:]))
            moved = during[-1][1] - during[0][1] if len(during) > 1 else 0
            expected = PACE * (t_back - t_block)
            print("# frozen %.2f s: %d bytes arrived meanwhile (%.0f %% of the client's pace), "
                  "longest gap %.2f s" % (t_back - t_block, moved, 100.0 * moved / expected, gap))
            check("bytes kept arriving while the UI thread was frozen (longest gap %.2f s, "
                  "at most %.1f s)" % (gap, GAP_MAX), gap <= GAP_MAX)
            check("at least half the client's pace came through meanwhile (%d bytes)" % moved,
                  moved >= expected / 2)
    finally:
        quit_ok = quit_app(app) if app.poll() is None else False
    check("Bastion quits through app.quit", quit_ok, "exit %s" % app.returncode)

    subprocess.run(psql_args(PG["HOST"], PG["PORT"], "DROP TABLE IF EXISTS bigcopy"),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=pg_env(),
                   timeout=120)
    print("1..%d" % (passed + failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
