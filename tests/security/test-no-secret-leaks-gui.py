#!/usr/bin/python3
"""No secret leaks from the GUI: the real Bastion (BASTION_APP) connects the demo team
(`bastion --connect demo`, G_MESSAGES_DEBUG=all); while it is connected (its tunnel answers and
its database session shows in pg_stat_activity) the database password and the SSH key's
passphrase must be in no /proc/PID/cmdline or /proc/PID/environ of it or its children; its
memory must be closed to a same-user reader without CAP_SYS_PTRACE (it is not dumpable) and its
core size limit 0; then it quits (app.quit over D-Bus), and neither secret may be in its output
or in any file under HOME or the runtime folder.

Run as root under tests/harness/with-servers --xvfb --sshd --postgres --keyring --team demo.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import leakcheck  # noqa: E402  (tests/security/leakcheck.py)

APP = os.environ.get("BASTION_APP")
CLI = os.environ["BASTION_CLI"]
HOME = os.environ["HOME"]
RUNTIME = os.environ.get("XDG_RUNTIME_DIR")
DATA = os.environ.get("XDG_DATA_HOME", os.path.join(HOME, ".local", "share"))
TEAM = os.environ["BASTION_TEST_TEAM"]
TEAM_DIR = os.environ["BASTION_TEST_TEAM_DIR"]
TMP = tempfile.mkdtemp(prefix="no-leaks-gui.", dir=os.environ["BASTION_TEST_TMP"])
APP_ID = "io.github.bastiongtk.Bastion"

with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
    DB_PASSWORD = f.read().strip()
PASSPHRASE = "pp-" + secrets.token_hex(12)
SECRETS = {"the database password": DB_PASSWORD, "the SSH key passphrase": PASSPHRASE}

# gnome-keyring's (encrypted) files and the session bus are not Bastion's.
NOT_OURS = [os.path.join(DATA, "keyrings")]
if RUNTIME:
    NOT_OURS += [os.path.join(RUNTIME, name) for name in ("keyring", "bus", "dconf")]

passed = 0
failed = 0
LEAKS = []


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok %d - %s" % (passed + failed, name))
    else:
        failed += 1
        print("not ok %d - %s %s" % (passed + failed, name, detail))
    sys.stdout.flush()


def env():
    e = dict(os.environ)
    e["G_MESSAGES_DEBUG"] = "all"
    return e


def cli(name, *args, stdin=None):
    res = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env(), input=stdin, timeout=180)
    text = res.stdout.decode(errors="replace")
    check("bastion-cli %s exits 0" % name, res.returncode == 0, text[-1500:])
    for label, secret in SECRETS.items():
        check("%s is not in the output of bastion-cli %s" % (label, name), secret not in text)


def local_port():
    with open(os.path.join(TEAM_DIR, "config.json")) as f:
        return int(json.load(f)["ssh_db_local_port"])


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def bastion_sessions():
    """Sessions of application_name Bastion in the harness's PostgreSQL (as its DB user)."""
    e = dict(os.environ)
    e["PGPASSWORD"] = DB_PASSWORD
    res = subprocess.run(["psql", "-X", "-At", "-h", os.environ["BASTION_TEST_PG_HOST"],
                          "-p", os.environ["BASTION_TEST_PG_PORT"],
                          "-U", os.environ["BASTION_TEST_PG_USER"],
                          "-d", os.environ["BASTION_TEST_PG_DB"], "-c",
                          "select count(*) from pg_stat_activity "
                          "where application_name = 'Bastion'"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=e, timeout=30)
    out = res.stdout.decode().strip()
    return int(out) if out.isdigit() else 0


def scan_processes(pid, seen, read):
    for p in leakcheck.descendants([pid]):
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%d/%s" % (p, what), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            read.add((p, what))
            if what == "cmdline":
                seen.setdefault(p, os.path.basename(data.split(b"\0")[0].decode(errors="replace")))
            for label, secret in SECRETS.items():
                if secret.encode() in data:
                    LEAKS.append((label, p, what))
                    check("%s is not in /proc/%d/%s (%s)" % (label, p, what, seen.get(p)), False)


# Without CAP_SYS_PTRACE (for Bastion and for the reader), the kernel lets a same-uid reader
# open /proc/PID/mem (ptrace's access check) only if the target is dumpable. Root drops it.
NO_PTRACE_CAP = []
if os.geteuid() == 0:
    NO_PTRACE_CAP = ["setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps", "-sys_ptrace",
                     "--"]


def can_open_mem(pid):
    """Whether a process of the same uid and capabilities can open /proc/PID/mem."""
    res = subprocess.run(NO_PTRACE_CAP + ["/usr/bin/python3", "-c",
                                          "open('/proc/%d/mem', 'rb')" % pid],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    return res.returncode == 0, res.stderr.decode(errors="replace").strip()[-300:]


def check_protected(pid):
    with open("/proc/%d/limits" % pid) as f:
        core = [line.split()[4:6] for line in f if line.startswith("Max core file size")][0]
    check("Bastion's soft core size limit is 0 (/proc/PID/limits)", core[0] == "0",
          " ".join(core))
    ok, why = can_open_mem(pid)
    check("Bastion is not dumpable: the same uid without CAP_SYS_PTRACE cannot open its "
          "/proc/PID/mem (nor ptrace it)", not ok, why)
    control = subprocess.Popen(NO_PTRACE_CAP + ["sleep", "600"])
    try:
        ok, why = can_open_mem(control.pid)
        check("(control: the same reader opens a dumpable process's /proc/PID/mem)", ok, why)
    finally:
        control.kill()
        control.wait()


def quit_app(proc):
    subprocess.run(["gdbus", "call", "--session", "--dest", APP_ID, "--object-path",
                    "/" + APP_ID.replace(".", "/"), "--method", "org.gtk.Actions.Activate",
                    "quit", "[]", "{}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    try:
        proc.wait(timeout=60)
        return True
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return False


def main():
    if not APP:
        print("1..0 # SKIP built without the GUI (BASTION_APP is not set)")
        return 0

    leakcheck.use_encrypted_key(TMP, PASSPHRASE, "no-leaks-gui")
    cli("import", "import")
    with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"], "rb") as f:
        cli("secret set db-password", "secret", "set", TEAM, "db-password", stdin=f.read())
    cli("secret set key-passphrase", "secret", "set", TEAM, "key-passphrase",
        stdin=(PASSPHRASE + "\n").encode())
    cli("hostkey --trust", "hostkey", TEAM, "--trust")

    port = local_port()
    log = os.path.join(TMP, "bastion.log")
    with open(log, "w") as out:
        app = subprocess.Popen(NO_PTRACE_CAP + [APP, "--connect", TEAM], stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env())
    seen, read = {}, set()
    connected = False
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and app.poll() is None:
            scan_processes(app.pid, seen, read)
            if port_answers(port) and bastion_sessions() > 0:
                connected = True
                break
            time.sleep(0.2)
        with open(log, errors="replace") as f:
            tail = f.read()[-2000:]
        check("Bastion connected %s: 127.0.0.1:%d answers and its database session is open"
              % (TEAM, port), connected, tail)

        # A few more rounds while connected.
        for _ in range(10):
            scan_processes(app.pid, seen, read)
            time.sleep(0.1)
        check("Bastion's own cmdline and environ were scanned",
              {(app.pid, "cmdline"), (app.pid, "environ")} <= read, str(sorted(read)))
        check("no secret in any /proc/PID/cmdline or environ of %d processes (%s)"
              % (len(seen), ", ".join(sorted(set(seen.values())))),
              not LEAKS)
        if connected:
            check_protected(app.pid)
    finally:
        quit_ok = quit_app(app) if app.poll() is None else False
    check("Bastion quits through app.quit", quit_ok, "exit %s" % app.returncode)

    with open(log, errors="replace") as f:
        text = f.read()
    check("the debug log is on (G_MESSAGES_DEBUG=all)", "DEBUG" in text)
    for label, secret in SECRETS.items():
        check("%s is not in Bastion's output" % label, secret not in text)

    tops = [HOME] + ([os.path.join(RUNTIME, "bastion")] if RUNTIME else [])
    written = list(leakcheck.files_under(tops, NOT_OURS))
    check("Bastion wrote its profiles", any(p.endswith("profiles.json") for p in written))
    for path in written:
        with open(path, "rb") as f:
            data = f.read()
        for label, secret in SECRETS.items():
            check("%s is not in %s" % (label, os.path.relpath(path, HOME)),
                  secret.encode() not in data)

    print("1..%d" % (passed + failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
