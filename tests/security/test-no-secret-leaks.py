#!/usr/bin/python3
"""No secret leaks: the database password, the SSH key's passphrase and the AWS secret access
key appear in no log line (G_MESSAGES_DEBUG=all), no /proc/PID/cmdline or /proc/PID/environ of
bastion-cli and its children, and no file Bastion wrote (the pgpass excepted while connected, and
it must be gone afterwards).

Run under tests/harness/with-servers --sshd --postgres --keyring --aws --team demo. The team's key
is replaced by an ed25519 key encrypted with a random passphrase (authorized for the harness's
sshd), the passphrase stored with `bastion-cli secret set demo key-passphrase` (stdin).
Steps: import; aws secret (the password comes from the harness's Secrets Manager, signed with the
secret key); hostkey --trust; a tunnel; a real psql launched through the tunnel
(tests/fixtures/launcher/recorder as the terminal) running a query; then Ctrl+C for both.

Deterministic by construction (issue 17): psql reads its queries from a FIFO this test holds
open, so it stays connected until the scan is done, however slow the machine; it is recognised
by its executable (/proc/PID/exe, the real binary that Debian's Perl wrapper /usr/bin/psql execs),
not by its name in argv. Each check fails only for its own reason: whether psql ran, whether it
was scanned, and whether any scanned process held a secret are separate checks.
"""

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import leakcheck  # noqa: E402  (tests/security/leakcheck.py)

CLI = os.environ["BASTION_CLI"]
SRC = os.environ["G_TEST_SRCDIR"]
HOME = os.environ["HOME"]
RUNTIME = os.environ.get("XDG_RUNTIME_DIR")
DATA = os.environ.get("XDG_DATA_HOME", os.path.join(HOME, ".local", "share"))
TMP = tempfile.mkdtemp(prefix="no-leaks.", dir=os.environ["BASTION_TEST_TMP"])

with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
    DB_PASSWORD = f.read().strip()


def aws_secret_key():
    path = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", os.path.join(HOME, ".aws", "credentials"))
    with open(path) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "aws_secret_access_key" and value.strip():
                return value.strip()
    return None


AWS_SECRET = aws_secret_key()
PASSPHRASE = "pp-" + secrets.token_hex(12)
SECRETS = {"the database password": DB_PASSWORD, "the AWS secret access key": AWS_SECRET,
           "the SSH key passphrase": PASSPHRASE}

# Files that hold a secret on purpose and are not Bastion's: the harness's ~/.aws, gnome-keyring's
# (encrypted) keyrings, the session bus. The recorder's copies live under TMP, outside HOME.
NOT_OURS = [os.path.join(HOME, ".aws"), os.path.join(DATA, "keyrings")]
if RUNTIME:
    NOT_OURS += [os.path.join(RUNTIME, name) for name in ("keyring", "bus", "dconf")]

passed = 0
failed = 0
ENVIRON_READ = set()


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok %d - %s" % (passed + failed, name))
    else:
        failed += 1
        print("not ok %d - %s %s" % (passed + failed, name, detail))


def env():
    bindir = os.path.join(TMP, "bin")
    if not os.path.isdir(bindir):
        os.mkdir(bindir)
        os.symlink(os.path.join(SRC, "fixtures", "launcher", "recorder"),
                   os.path.join(bindir, "xdg-terminal-exec"))
        os.mkdir(os.path.join(TMP, "records"))
    e = dict(os.environ)
    e["G_MESSAGES_DEBUG"] = "all"
    e["PATH"] = bindir + ":/usr/bin:/bin"
    e["BASTION_RECORDER_DIR"] = os.path.join(TMP, "records")
    e["BASTION_RECORDER_EXEC"] = "1"
    e["BASTION_RECORDER_STDIN"] = FIFO
    return e


def run(name, *args, stdin=None):
    log = os.path.join(TMP, "%s.log" % name)
    with open(log, "w") as out:
        rc = subprocess.run([CLI] + list(args), stdout=out, stderr=subprocess.STDOUT,
                            env=env(), timeout=180, input=stdin).returncode
    with open(log) as f:
        text = f.read()
    check("%s exits 0" % name, rc == 0, text[-2000:])
    return log


def start(name, *args, ready):
    log = os.path.join(TMP, "%s.log" % name)
    with open(log, "w") as out:
        proc = subprocess.Popen([CLI] + list(args), stdout=out, stderr=subprocess.STDOUT,
                                env=env())
    text = ""
    for _ in range(1800):
        with open(log) as f:
            text = f.read()
        if ready(text) or proc.poll() is not None:
            break
        time.sleep(0.1)
    check("%s is up" % name, ready(text), text[-2000:])
    return proc, log, text


FIFO = os.path.join(TMP, "psql-input.fifo")
LEAKS = []


def executable(pid):
    """The basename of the program PID runs now (its /proc/PID/exe), or None."""
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return None


def scan_processes(pids, seen):
    """Reads cmdline and environ of PIDS and their descendants. SEEN maps (pid, executable) ->
    the set of files read, so that a process that execs (Perl's psql wrapper becoming psql) is
    scanned again as what it became. Leaks found go into LEAKS."""
    for pid in leakcheck.descendants(pids):
        exe = executable(pid)
        if exe is None:
            continue
        done = seen.setdefault((pid, exe), set())
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%d/%s" % (pid, what), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            # Still the same program after the read: otherwise the next round reads it again.
            if executable(pid) != exe:
                continue
            done.add(what)
            if what == "environ":
                ENVIRON_READ.add(pid)
            for label, secret in SECRETS.items():
                if secret.encode() in data:
                    LEAKS.append("%s in /proc/%d/%s (%s)" % (label, pid, what, exe))


def scanned(seen, exe):
    """The pids running EXE whose cmdline and environ were both read."""
    return [pid for (pid, name), done in seen.items()
            if name == exe and {"cmdline", "environ"} <= done]


def main():
    check("the AWS secret key is known to the test", AWS_SECRET is not None)
    if AWS_SECRET is None:
        print("1..%d" % (passed + failed))
        return 1

    fingerprint = leakcheck.use_encrypted_key(TMP, PASSPHRASE, "no-leaks")
    logs = [run("import", "import"),
            run("secret-set", "secret", "set", "demo", "key-passphrase",
                stdin=(PASSPHRASE + "\n").encode()),
            run("aws-secret", "aws", "secret", "demo"),
            run("hostkey", "hostkey", "demo", "--trust")]

    tunnel, tunnel_log, text = start("tunnel", "tunnel", "demo", "--port", "0",
                                     ready=lambda t: "listening 127.0.0.1:" in t)
    port = None
    for line in text.splitlines():
        if line.startswith("listening 127.0.0.1:"):
            port = line.strip().rsplit(":", 1)[1]
    # psql's input: held open here (read and write, so that opening it never blocks) until the
    # scan is done; closing it is psql's end of input.
    os.mkfifo(FIFO, 0o600)
    fifo = os.open(FIFO, os.O_RDWR)
    os.write(fifo, b"\\set QUIET on\n\\pset format unaligned\n\\pset tuples_only on\n"
                   b"select count(*) from project;\n")
    launch, launch_log, _ = start("launch", "launch", "demo", "psql", "--port", port or "1",
                                  ready=lambda t: "Started psql" in t)
    logs += [tunnel_log, launch_log]

    # Scan bastion-cli, the terminal and psql while psql is connected, until psql has been
    # scanned and has answered (at most 3 minutes: a hang detector, not a timing).
    record = os.path.join(TMP, "records", "000-xdg-terminal-exec", "output.txt")
    seen = {}
    answer = ""
    for _ in range(1800):
        scan_processes([tunnel.pid, launch.pid], seen)
        if os.path.exists(record):
            with open(record) as f:
                lines = f.read().strip().splitlines()
            answer = lines[0] if lines else ""
        if scanned(seen, "psql") and re.fullmatch(r"\d+", answer):
            break
        if launch.poll() is not None:
            break
        time.sleep(0.1)
    scan_processes([tunnel.pid, launch.pid], seen)
    psql_pids = scanned(seen, "psql")
    os.close(fifo)

    check("psql ran a query through the tunnel", re.fullmatch(r"\d+", answer) is not None,
          repr(answer))
    check("psql (found by /proc/PID/exe) was scanned while connected", bool(psql_pids),
          " ".join(sorted({name for _pid, name in seen})))
    check("bastion-cli was scanned while connected", bool(scanned(seen, "bastion-cli")),
          " ".join(sorted({name for _pid, name in seen})))
    names = sorted({name for _pid, name in seen})
    check("no secret in any /proc/PID/cmdline or environ of %d processes (%s)"
          % (len({pid for pid, _name in seen}), ", ".join(names)), not LEAKS, "; ".join(LEAKS))
    # bastion-cli is not dumpable: only a reader with CAP_SYS_PTRACE (root) sees its environ.
    check("the environ of bastion-cli was read (not skipped)",
          {tunnel.pid, launch.pid} <= ENVIRON_READ,
          "need root: /proc/PID/environ of a non-dumpable process")

    for proc in (launch, tunnel):
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    for log in logs:
        with open(log) as f:
            text = f.read()
        for label, secret in SECRETS.items():
            check("%s is not in the output of %s" % (label, os.path.basename(log)),
                  secret not in text)
        if log == tunnel_log:
            check("the debug log is on (G_MESSAGES_DEBUG=all)", "DEBUG" in text)

    # The tunnel really logged in with the encrypted key (so the passphrase was in memory).
    with open(os.path.join(os.environ["BASTION_TEST_SSHD_DIR"], "sshd.log"),
              errors="replace") as f:
        accepted = [line for line in f if "Accepted publickey" in line]
    check("the tunnel logged in with the passphrase-protected key (%s)" % fingerprint,
          any(fingerprint in line for line in accepted), " | ".join(accepted))

    tops = [HOME] + ([os.path.join(RUNTIME, "bastion")] if RUNTIME else [])
    written = list(leakcheck.files_under(tops, NOT_OURS))
    check("Bastion wrote its profiles", any(p.endswith("profiles.json") for p in written))
    for path in written:
        with open(path, "rb") as f:
            data = f.read()
        for label, secret in SECRETS.items():
            check("%s is not in %s" % (label, os.path.relpath(path, HOME)),
                  secret.encode() not in data)
    if RUNTIME:
        left = list(leakcheck.files_under([os.path.join(RUNTIME, "bastion")], NOT_OURS))
        check("no pgpass or service file is left", not left, " ".join(left))

    print("1..%d" % (passed + failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
