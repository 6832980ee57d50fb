#!/usr/bin/python3
"""Issue 25, finding 6: only the tunnel's user reaches it. `bastion-cli tunnel` runs as this
user; psql as this user gets through, psql and a raw socket as `nobody` (setpriv) are closed
before one byte is relayed, and the refusal is logged once per uid.

Run under: with-servers --sshd --postgres --team demo, as root (setpriv). TAP on stdout.
"""

import os
import pwd
import select
import signal
import subprocess
import sys

CLI = os.environ["BASTION_CLI"]
TEAM = os.environ["BASTION_TEST_TEAM"]
results = []


def tap(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name), flush=True)
    if not ok:
        for line in str(detail).strip().splitlines()[:20]:
            print("# " + line)


def as_nobody(args):
    nobody = pwd.getpwnam("nobody")
    return ["setpriv", "--reuid", str(nobody.pw_uid), "--regid", str(nobody.pw_gid),
            "--clear-groups", "--"] + args


def psql(port, sql, prefix=None):
    with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
        password = f.read().strip()
    env = dict(os.environ, PGPASSWORD=password, HOME="/")  # the test's own psql only
    args = ["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port),
            "-U", os.environ["BASTION_TEST_PG_USER"], "-d", os.environ["BASTION_TEST_PG_DB"],
            "-c", sql]
    return subprocess.run(prefix(args) if prefix else args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=60, universal_newlines=True,
                          cwd="/")


RAW = """
import socket, sys
s = socket.create_connection(("127.0.0.1", %d), timeout=20)
s.sendall(b"\\x00\\x00\\x00\\x08\\x04\\xd2\\x16\\x2f")  # SSLRequest: PostgreSQL answers one byte
try:
    data = s.recv(100)
except ConnectionResetError:
    # Closed before our 8 bytes were read: the kernel answers with a reset. No byte came back.
    data = "reset"
print(repr(data))
"""


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root to run a client as another user (setpriv)")
        return 0
    res = subprocess.run([CLI, "import"], capture_output=True, text=True, timeout=60)
    tap(res.returncode == 0, "import", res.stderr)
    res = subprocess.run([CLI, "hostkey", TEAM, "--trust"], capture_output=True, text=True,
                         timeout=60)
    tap(res.returncode == 0, "hostkey --trust", res.stderr)

    proc = subprocess.Popen([CLI, "tunnel", TEAM, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    line = proc.stdout.readline()
    ok = line.startswith("listening 127.0.0.1:")
    tap(ok, "the tunnel listens", line)
    if not ok:
        proc.kill()
        print("1..%d" % len(results))
        return 1
    port = int(line.strip().rsplit(":", 1)[1])

    res = psql(port, "select name from project order by name")
    tap(res.returncode == 0 and res.stdout == "Sunshine\n", "the owner's psql gets through",
        res.stdout + res.stderr)

    res = psql(port, "select name from project order by name", as_nobody)
    tap(res.returncode != 0 and "Sunshine" not in res.stdout,
        "psql as nobody is refused", res.stdout + res.stderr)
    raw = subprocess.run(as_nobody([sys.executable, "-c", RAW % port]), capture_output=True,
                         text=True, timeout=60, cwd="/")
    tap(raw.stdout.strip() in ("b''", "'reset'"),
        "a raw connection as nobody gets no byte back (closed or reset)",
        raw.stdout + raw.stderr)
    raw = subprocess.run([sys.executable, "-c", RAW % port], capture_output=True, text=True,
                         timeout=60)
    tap(raw.stdout.strip() in ("b'N'", "b'S'"), "the same raw connection as the owner is relayed",
        raw.stdout + raw.stderr)

    res = psql(port, "select count(*) from model")
    tap(res.stdout == "6\n", "the owner's psql still gets through", res.stdout + res.stderr)

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    err = proc.stderr.read()
    uid = pwd.getpwnam("nobody").pw_uid
    needle = "refused a connection from uid %d" % uid
    tap(err.count(needle) == 1, "the refusal is logged once for uid %d" % uid, err)

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
