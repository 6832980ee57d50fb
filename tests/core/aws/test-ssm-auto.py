#!/usr/bin/python3
"""`bastion-cli tunnel TEAM --via auto`: SSH when the bastion's port 22 answers, AWS Session
Manager when it is black-holed (TAP on stdout; issue 21).

Run in a network namespace of its own (tests/meson.build: unshare --net), under
with-servers --sshd --postgres --keyring --aws --ssm --team demo, because it adds an nftables
rule that drops the test sshd's port, as tests/security/test-faults.py does.

- with sshd answering, auto connects through SSH and starts no Session Manager session;
- with the SSH port's packets dropped, auto says port 22 does not answer, connects through
  Session Manager ("port 22 is closed to you"), and psql through the same command's port works;
  the nftables counter shows the SYNs really were dropped.
"""

import json
import os
import subprocess
import sys
import threading
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))

if len(sys.argv) > 1 and sys.argv[1] == "--in-namespace":
    # Started by meson: a network namespace of our own (needs root), then the servers.
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root for a network namespace and nftables")
        sys.exit(77)
    os.execvp("unshare", ["unshare", "--net", "--", "/bin/sh", "-c",
                          'ip link set lo up && exec "$@"', "sh", "/usr/bin/python3",
                          os.path.join(HERE, "..", "..", "harness", "with-servers"), "--sshd", "--postgres",
                          "--keyring", "--aws", "--ssm", "--team", "demo", "--",
                          os.path.abspath(__file__)])

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).strip().splitlines()[-15:]:
            print("# " + line)
    sys.stdout.flush()


CLI = os.environ["BASTION_CLI"]
CONTROL = os.environ["BASTION_TEST_SSM_CONTROL_URL"]
TEAM = os.environ["BASTION_TEST_TEAM"]
SSH_PORT = os.environ["BASTION_TEST_SSH_PORT"]
TMP = os.environ["BASTION_TEST_TMP"]
PG_USER = os.environ["BASTION_TEST_PG_USER"]
PG_DB = os.environ["BASTION_TEST_PG_DB"]
with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
    PASSWORD = f.read().strip()
PGPASS = os.path.join(TMP, "auto-pgpass")
with open(PGPASS, "w") as f:
    f.write("127.0.0.1:*:%s:%s:%s\n" % (PG_DB, PG_USER, PASSWORD))
os.chmod(PGPASS, 0o600)


def sessions():
    with urllib.request.urlopen(CONTROL + "/state", timeout=10) as reply:
        return json.loads(reply.read())["ssm_sessions"]


def tunnel_auto():
    """Starts the tunnel; returns (proc, port or None, stderr path)."""
    err_path = os.path.join(TMP, "auto-%d.err" % len(results))
    err = open(err_path, "wb")
    proc = subprocess.Popen([CLI, "tunnel", TEAM, "--via", "auto", "--port", "0",
                             "--accept-new"], stdout=subprocess.PIPE, stderr=err)
    timer = threading.Timer(90, proc.kill)
    timer.start()
    line = proc.stdout.readline().decode()
    timer.cancel()
    port = int(line.strip().rsplit(":", 1)[1]) if line.startswith("listening") else None
    return proc, port, err_path


def stop(proc, err_path):
    proc.send_signal(2)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    with open(err_path) as f:
        return f.read()


def psql(port):
    return subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, "-d",
                           PG_DB, "-At", "-c", "select 6 * 7"],
                          env=dict(os.environ, PGPASSFILE=PGPASS), capture_output=True,
                          timeout=60)


print("1..5")
res = subprocess.run([CLI, "import"], capture_output=True, timeout=60)
tap(res.returncode == 0, "import the demo team", res.stderr)

before = len(sessions())
proc, port, err_path = tunnel_auto()
res = psql(port) if port else None
text = stop(proc, err_path)
tap(res is not None and res.stdout == b"42\n" and len(sessions()) == before and
    "Session Manager" not in text, "auto with port 22 answering: SSH, no SSM session", text)

subprocess.run(["nft", "-f", "-"], check=True, input=(
    "table inet bastionauto {\n  chain input {\n    type filter hook input priority 0; "
    "policy accept;\n    tcp dport %s counter drop\n  }\n}\n" % SSH_PORT).encode())
try:
    proc, port, err_path = tunnel_auto()
    res = psql(port) if port else None
    text = stop(proc, err_path)
    listing = subprocess.run(["nft", "list", "chain", "inet", "bastionauto", "input"],
                             capture_output=True, text=True).stdout
finally:
    subprocess.run(["nft", "delete", "table", "inet", "bastionauto"])
tap("port 22 is closed to you" in text and "does not answer" in text,
    "auto with port 22 black-holed says it falls back to Session Manager", text)
tap(res is not None and res.stdout == b"42\n", "psql through the fallback gets the answer",
    (res.stderr if res else b"") + text.encode())
tap(len(sessions()) == before + 1 and sessions()[-1].get("closed_by") == "TerminateSession",
    "one Session Manager session, terminated on exit", sessions()[-1:])
words = listing.split()
dropped = int(words[words.index("packets") + 1]) if "packets" in words else 0
tap(dropped > 0, "the SYNs to port 22 really were dropped (%d packets)" % dropped, listing)

sys.exit(0 if all(results) else 1)
