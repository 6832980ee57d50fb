#!/usr/bin/python3
"""Every file bastion-cli writes is private: files 0600 (or stricter), new folders 0700.

Run under tests/harness/with-servers --sshd --postgres --keyring --team demo. Runs import,
secret set, hostkey --trust, launch --dry-run and a real launch of psql (through the recorder
terminal, tests/fixtures/launcher/recorder, against the harness PostgreSQL standing in for the tunnel),
all with umask 000 so nothing is private by accident. While psql is connected and again at the
end it walks HOME and XDG_RUNTIME_DIR for every file and folder that appeared or changed and
checks the modes; files of gnome-keyring and the session bus (not Bastion's) are listed and
skipped. The database password must be in no file but the pgpass, which is gone at the end, and
in no output.
"""

import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

CLI = os.environ["BASTION_CLI"]
HOME = os.environ["HOME"]
RUNTIME = os.environ.get("XDG_RUNTIME_DIR")
DATA = os.environ.get("XDG_DATA_HOME", os.path.join(HOME, ".local", "share"))
SRC = os.environ["G_TEST_SRCDIR"]
PG_PORT = os.environ["BASTION_TEST_PG_PORT"]
with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
    SECRET = f.read().strip()
TMP = tempfile.mkdtemp(prefix="file-modes.", dir=os.environ["BASTION_TEST_TMP"])

# Written by gnome-keyring / dbus / dconf, not by Bastion.
NOT_OURS = [os.path.join(DATA, "keyrings")]
if RUNTIME:
    NOT_OURS += [os.path.join(RUNTIME, name) for name in ("keyring", "bus", "dconf", "gvfs",
                                                          "at-spi", "pulse", "doc")]

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


def ours(path):
    return not any(path == p or path.startswith(p + os.sep) for p in NOT_OURS)


def snapshot():
    seen = {}
    for top in [HOME] + ([RUNTIME] if RUNTIME else []):
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(root, name)
                try:
                    st = os.lstat(path)
                except FileNotFoundError:
                    continue
                seen[path] = (st.st_mode, st.st_mtime_ns, st.st_ino)
    return seen


def recorder_env():
    """The recorder stands in for the terminal; it runs the real psql (as tests/core/launch/test-launcher-cli.sh)."""
    bindir = os.path.join(TMP, "bin")
    if not os.path.isdir(bindir):
        os.mkdir(bindir)
        os.symlink(os.path.join(SRC, "fixtures", "launcher", "recorder"), os.path.join(bindir, "xdg-terminal-exec"))
        os.mkdir(os.path.join(TMP, "records"))
        with open(os.path.join(TMP, "in.sql"), "w") as f:
            f.write("\\set QUIET on\nselect 1;\n")
    env = dict(os.environ)
    env["PATH"] = bindir + ":/usr/bin:/bin"
    env["BASTION_RECORDER_DIR"] = os.path.join(TMP, "records")
    env["BASTION_RECORDER_EXEC"] = "1"
    env["BASTION_RECORDER_STDIN"] = os.path.join(TMP, "in.sql")
    return env


def cli(*args, stdin=None):
    res = subprocess.run([CLI] + list(args), input=stdin.encode() if stdin is not None else None,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                         env=recorder_env())
    out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
    return res.returncode, out


def check_modes(label, before, after):
    """Checks what changed between two snapshots; returns the regular files that are ours."""
    changed = sorted(p for p, v in after.items() if before.get(p) != v)
    for p in changed:
        if not ours(p):
            print("# %s: not Bastion's, skipped: %s" % (label, p))
    mine = [p for p in changed if ours(p)]
    files = [p for p in mine if stat.S_ISREG(after[p][0])]
    for p in files:
        mode = stat.S_IMODE(after[p][0])
        check("%s: file %s is private (%o)" % (label, os.path.relpath(p, HOME), mode),
              mode & 0o077 == 0)
    for p in mine:
        mode = stat.S_IMODE(after[p][0])
        if stat.S_ISDIR(after[p][0]) and p not in before:
            check("%s: new folder %s is 0700 (%o)" % (label, os.path.relpath(p, HOME), mode),
                  mode == 0o700)
        elif not stat.S_ISDIR(after[p][0]) and not stat.S_ISREG(after[p][0]):
            check("%s: %s is a plain file or folder" % (label, p), False)
    return files


def leaks(files):
    found = []
    for p in files:
        if p.endswith(".pgpass"):
            continue
        try:
            with open(p, "rb") as f:
                if SECRET.encode() in f.read():
                    found.append(p)
        except FileNotFoundError:
            pass
    return found


def main():
    before = snapshot()
    os.umask(0)

    outputs = []
    for name, args, stdin in [
            ("import", ["import"], None),
            ("secret set", ["secret", "set", "demo", "db-password"], SECRET + "\n"),
            ("hostkey --trust", ["hostkey", "demo", "--trust"], None),
            ("launch --dry-run", ["launch", "demo", "psql", "--dry-run", "--port", PG_PORT], None)]:
        rc, out = cli(*args, stdin=stdin)
        outputs.append(out)
        check("%s exits 0" % name, rc == 0, out)

    # A real launch: the pgpass and service files exist while psql is connected.
    log = os.path.join(TMP, "launch.out")
    with open(log, "w") as out:
        launch = subprocess.Popen([CLI, "launch", "demo", "psql", "--port", PG_PORT],
                                  stdout=out, stderr=subprocess.STDOUT, env=recorder_env())
    started = False
    for _ in range(1200):
        with open(log) as f:
            text = f.read()
        if "Started psql" in text:
            started = True
            break
        if launch.poll() is not None:
            break
        time.sleep(0.1)
    check("launch starts psql", started, text)
    during = snapshot()
    launch.send_signal(signal.SIGINT)
    try:
        rc = launch.wait(timeout=60)
    except subprocess.TimeoutExpired:
        launch.kill()
        rc = launch.wait()
    with open(log) as f:
        outputs.append(f.read())
    check("launch ends with exit 0 on SIGINT", rc == 0, outputs[-1])
    after = snapshot()

    files = check_modes("while connected", before, during)
    check("a pgpass file exists while connected", any(p.endswith(".pgpass") for p in files),
          " ".join(files))
    files += check_modes("at the end", before, after)
    check("profiles.json was written",
          any(p.endswith(os.path.join("bastion", "profiles.json")) for p in files))
    check("Bastion's known_hosts was written", any(p.endswith("known_hosts") for p in files))
    if RUNTIME:
        left = [p for p in after if p.startswith(os.path.join(RUNTIME, "bastion") + os.sep)]
        check("nothing left in XDG_RUNTIME_DIR/bastion at the end", not left, " ".join(left))

    found = leaks(sorted(set(files)))
    check("the password is in no file Bastion wrote but the pgpass", not found, " ".join(found))
    check("the password is in no output", all(SECRET not in o for o in outputs))

    print("1..%d" % (passed + failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
