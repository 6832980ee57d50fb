#!/usr/bin/python3
"""Hostile files and hostile neighbours (issue 25, findings 1, 2, 5, 7, 8): bastion-cli against
deeply nested JSON, a FIFO or /dev/zero as profiles.json, parallel imports, saves killed midway,
team names with terminal escapes or NUL, loose port arguments and a D-Bus that never answers.

Run under tests/harness/with-servers --keyring (HOME, XDG_* and BASTION_SIMPLEIOT_DIR are the
harness's). TAP output. Every run is bounded by a generous timeout that only turns a hang into a
failure."""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

CLI = os.environ["BASTION_CLI"]
SOURCE_ROOT = os.environ["BASTION_SOURCE_ROOT"]
FIXTURES = os.path.join(SOURCE_ROOT, "tests", "fixtures", "simpleiot")
SIMPLEIOT = os.environ["BASTION_SIMPLEIOT_DIR"]
CONFIG_DIR = os.path.join(os.environ["XDG_CONFIG_HOME"], "bastion")
PROFILES = os.path.join(CONFIG_DIR, "profiles.json")
DEEP = 100000

results = []


def tap(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name), flush=True)
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print("# " + line)


def note(text):
    print("# " + text, flush=True)


def cli(*args, env=None, timeout=30):
    """Runs bastion-cli; a hang past TIMEOUT is reported as exit 124 (never waits forever)."""
    try:
        res = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, timeout=timeout)
        return res.returncode, res.stdout.decode(errors="replace"), \
            res.stderr.decode(errors="replace"), res.stdout + res.stderr
    except subprocess.TimeoutExpired as e:
        return 124, "", "killed after %d s" % timeout, b""


def reset_profiles():
    shutil.rmtree(CONFIG_DIR, ignore_errors=True)


def reset_simpleiot(install="install"):
    shutil.rmtree(SIMPLEIOT, ignore_errors=True)
    shutil.copytree(os.path.join(FIXTURES, install), SIMPLEIOT)


def write_team(root, folder, config):
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    with open(os.path.join(root, folder, "config.json"), "wb") as f:
        f.write(config if isinstance(config, bytes) else json.dumps(config).encode())


def team_config(team):
    return {"team": team, "bastionHostSSHDns": "bastion.%s.example" % team,
            "dbHostname": "db.%s.example" % team}


def crashed(rc):
    return rc < 0 or rc >= 128


def test_deep_json():
    """Finding 1: 100,000 nested '[' in config.json and profiles.json (json-glib recursed until
    SIGSEGV, exit 139)."""
    deep = b"[" * DEEP + b"]" * DEEP
    reset_profiles()
    reset_simpleiot()
    write_team(SIMPLEIOT, "deep", deep)
    config = os.path.join(SIMPLEIOT, "deep", "config.json")
    rc, out, err, _ = cli("import")
    tap(not crashed(rc) and rc == 0, "deep config.json: import does not crash (exit %d)" % rc, err)
    tap(config in err and "64 levels" in err,
        "deep config.json: the warning names the file and the depth bound", err)
    tap("imported acme" in out,
        "deep config.json: the other teams are imported all the same", out)

    reset_profiles()
    os.makedirs(CONFIG_DIR, mode=0o700)
    with open(PROFILES, "wb") as f:
        f.write(b'{"version": 1, "profiles": ' + deep + b"}")
    for args in (("teams",), ("import",)):
        rc, out, err, _ = cli(*args)
        tap(not crashed(rc) and rc == 1,
            "deep profiles.json: %s exits 1, no crash (exit %d)" % (args[0], rc), err)
        tap(PROFILES in err and "64 levels" in err and "bastion-cli: " in err,
            "deep profiles.json: %s names the file and the depth bound" % args[0], err)
    with open(PROFILES, "rb") as f:
        kept = f.read()
    tap(kept.startswith(b'{"version": 1, "profiles": [[['), "deep profiles.json is left as it was")
    shutil.rmtree(os.path.join(SIMPLEIOT, "deep"))


def test_not_regular():
    """Finding 2: a FIFO or /dev/zero as profiles.json hung `teams` (killed after 30 s)."""
    for what in ("fifo", "dev-zero"):
        reset_profiles()
        os.makedirs(CONFIG_DIR, mode=0o700)
        if what == "fifo":
            os.mkfifo(PROFILES, 0o600)
        else:
            os.symlink("/dev/zero", PROFILES)
        start = time.monotonic()
        rc, out, err, _ = cli("teams", timeout=20)
        took = time.monotonic() - start
        tap(rc == 1, "%s as profiles.json: teams exits 1 (exit %d, %.1f s)" % (what, rc, took),
            err)
        tap(PROFILES in err and ("named pipe" in err or "device" in err),
            "%s as profiles.json: the message names the file and what it is" % what, err)
    # The same for a team's config.json: a warning, the other teams imported.
    reset_profiles()
    reset_simpleiot()
    os.makedirs(os.path.join(SIMPLEIOT, "pipe"))
    os.mkfifo(os.path.join(SIMPLEIOT, "pipe", "config.json"), 0o600)
    rc, out, err, _ = cli("import", timeout=20)
    tap(rc == 0 and "imported acme" in out and "pipe/config.json is not a regular file" in err,
        "a FIFO as a team's config.json: a warning, the other teams imported (exit %d)" % rc,
        out + err)
    shutil.rmtree(os.path.join(SIMPLEIOT, "pipe"))


def test_parallel_imports(rounds=50):
    """Finding 5: two imports of different teams at once lost one of them in 37 of 50 rounds."""
    tmp = os.path.join(os.environ.get("BASTION_TEST_TMP", "/tmp"), "parallel-imports")
    dirs = []
    for name in ("alpha", "beta"):
        d = os.path.join(tmp, name)
        shutil.rmtree(d, ignore_errors=True)
        write_team(d, name, team_config(name))
        dirs.append(d)
    lost = 0
    failed_runs = 0
    for i in range(rounds):
        reset_profiles()
        procs = [subprocess.Popen([CLI, "import", "--from", d], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for d in dirs]
        for p in procs:
            p.wait(timeout=60)
            if p.returncode != 0:
                failed_runs += 1
                note("round %d: import exit %d: %s" % (i, p.returncode, p.stderr.read()))
            p.stderr.close()
        with open(PROFILES) as f:
            ids = {p["id"] for p in json.load(f)["profiles"]}
        if ids != {"simpleiot-alpha", "simpleiot-beta"}:
            lost += 1
            note("round %d: profiles.json holds %s" % (i, sorted(ids)))
    tap(failed_runs == 0, "parallel imports: every run exits 0 (%d failed)" % failed_runs)
    tap(lost == 0, "parallel imports: both teams kept in every one of %d rounds (%d lost one)"
        % (rounds, lost))
    shutil.rmtree(tmp, ignore_errors=True)


def temp_files():
    if not os.path.isdir(CONFIG_DIR):
        return []
    return sorted(n for n in os.listdir(CONFIG_DIR)
                  if n.startswith("profiles.json.") and len(n) == len("profiles.json.") + 6)


def test_killed_saves(kills=200):
    """Finding 5: each SIGKILL during a save left a profiles.json.XXXXXX (18 after 200)."""
    tmp = os.path.join(os.environ.get("BASTION_TEST_TMP", "/tmp"), "killed-saves")
    shutil.rmtree(tmp, ignore_errors=True)
    # Many teams: a longer save, so more kills land inside it.
    for i in range(300):
        write_team(tmp, "team%03d" % i, team_config("team%03d" % i))
    reset_profiles()
    rc, _, err, _ = cli("import", "--from", tmp, timeout=120)
    tap(rc == 0, "killed saves: the first import works", err)
    # The save is the end of a run: kill within the last part of a run's usual duration.
    start = time.monotonic()
    for i in range(3):
        cli("import", "--from", tmp, timeout=120)
    took = (time.monotonic() - start) / 3
    note("one import of 300 teams takes %.0f ms" % (took * 1000))
    rng = random.Random(25)
    for i in range(kills):
        p = subprocess.Popen([CLI, "import", "--from", tmp], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5 * took, 1.1 * took))
        p.send_signal(signal.SIGKILL)
        p.wait()
    left = temp_files()
    note("%d SIGKILLs left %d temporary files" % (kills, len(left)))
    # Whether or not a kill landed inside a save, the rule is tested on files such a save
    # leaves: aged past the minute, they go; a young one (a writer that may be alive) stays.
    planted = os.path.join(CONFIG_DIR, "profiles.json.Zz9Yy8")
    with open(planted, "w") as f:
        f.write('{"version": 1, "prof')
    old = time.time() - 120
    for name in temp_files():
        os.utime(os.path.join(CONFIG_DIR, name), (old, old))
    young = os.path.join(CONFIG_DIR, "profiles.json.Young1")
    with open(young, "w") as f:
        f.write("{")
    rc, _, err, _ = cli("import", "--from", tmp, timeout=120)
    left = temp_files()
    tap(rc == 0 and left == ["profiles.json.Young1"],
        "killed saves: after the next save no temporary file older than a minute is left",
        "exit %d, left %s %s" % (rc, left, err))
    with open(PROFILES) as f:
        n = len(json.load(f)["profiles"])
    tap(n == 300, "killed saves: profiles.json is whole (%d profiles)" % n)
    os.unlink(young)
    shutil.rmtree(tmp, ignore_errors=True)


def test_team_names():
    """Findings 7 and 8: ANSI/OSC sequences, BEL, line breaks and NUL in team names."""
    reset_profiles()
    reset_simpleiot()
    evil = {
        "osc": "evil\x1b]0;pwned\x07",
        "csi": "red\x1b[31mteam",
        "newline": "fake\nimported acme (forged)",
        "nul": "ab\x00cd",
    }
    for folder, name in evil.items():
        write_team(SIMPLEIOT, folder, team_config(name))
    write_team(SIMPLEIOT, "bell\x07folder", {"bastionHostSSHDns": "b.example",
                                             "dbHostname": "d.example"})
    rc, out, err, raw = cli("import")
    tap(rc == 0 and "imported acme" in out, "names with controls: import still exits 0", err)
    for folder in evil:
        path = os.path.join(SIMPLEIOT, folder, "config.json")
        what = "NUL character" if folder == "nul" else "control character"
        tap(path in err and what in err,
            "names with controls: %s refused, naming %s" % (folder, path), err)
    tap("bell\\x07folder" in err and "folder’s name" in err,
        "a folder name with BEL (no team key) refused, shown escaped", err)
    tap(b"\x1b" not in raw and b"\x07" not in raw, "no ESC or BEL reaches the terminal",
        repr(raw[:400]))
    tap("forged" not in out, "no line forged on stdout", out)
    tap(not any(n in out for n in ("cd", "pwned")), "none of these teams imported", out)

    # profiles.json is outside input too: a name with escapes is printed escaped by teams.
    reset_profiles()
    os.makedirs(CONFIG_DIR, mode=0o700)
    with open(PROFILES, "w") as f:
        json.dump({"version": 1, "profiles": [{"id": "manual-x", "source": "manual",
                                               "display-name": "x\x1b]52;c;AAAA\x07\nforged",
                                               "ssh-host": "h\x1b[2J"}]}, f)
    rc, out, err, raw = cli("teams")
    tap(rc == 0 and "x\\x1B]52;c;AAAA\\x07\\nforged" in out and "h\\x1B[2J" in out,
        "teams shows ESC, BEL and line breaks of profiles.json escaped", out + err)
    tap(b"\x1b" not in raw and b"\x07" not in raw and out.count("\n") == 1,
        "teams: one line, no raw control character", repr(out))


def test_ports():
    """Finding 8: --port -1 meant the default; ' 80' and 0x50 parsed as 80."""
    for value in ("-1", " 80", "0x50", "080x", "65536", "+80", "", "1e3", "99999999999"):
        for args in (("tunnel", "nosuchteam", "--port", value),
                     ("launch", "nosuchteam", "psql", "--port", value)):
            rc, out, err, _ = cli(*args)
            tap(rc == 1 and "--port must be a port number from 0 to 65535" in err,
                "%s --port %r refused" % (args[0], value), err)
    for args in (("tunnel", "nosuchteam", "--port", "6543"),
                 ("launch", "nosuchteam", "psql", "--port", "0")):
        rc, out, err, _ = cli(*args)
        tap(rc == 1 and "--port" not in err and "nosuchteam" in err,
            "%s --port %s accepted (then no such team)" % (args[0], args[-1]), err)


class SilentBus:
    """A 'session bus' that completes the SASL handshake and then never answers anything."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.clients = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(conn)
            threading.Thread(target=self.talk, args=(conn,), daemon=True).start()

    def talk(self, conn):
        buf = b""
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    line = line.lstrip(b"\0")
                    if line == b"AUTH":
                        conn.sendall(b"REJECTED EXTERNAL\r\n")
                    elif line == b"AUTH EXTERNAL":
                        conn.sendall(b"DATA\r\n")
                    elif line.startswith(b"AUTH") or line.startswith(b"DATA"):
                        conn.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
                    elif line.startswith(b"NEGOTIATE_UNIX_FD"):
                        conn.sendall(b"AGREE_UNIX_FD\r\n")
                    elif line.startswith(b"BEGIN"):
                        while conn.recv(65536):
                            pass
                        return
        except OSError:
            return


def test_silent_dbus():
    """Finding 8: a D-Bus that accepts and never answers hung `secret set` for over 60 s."""
    reset_profiles()
    reset_simpleiot()
    rc, _, err, _ = cli("import")
    path = os.path.join(os.environ.get("BASTION_TEST_TMP", "/tmp"), "silent-bus")
    if os.path.exists(path):
        os.unlink(path)
    bus = SilentBus(path)
    env = dict(os.environ)
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + path
    for args, stdin in ((("secret", "set", "acme", "db-password"), b"not-a-real-secret\n"),
                        (("secret", "print", "acme", "db-password"), None)):
        start = time.monotonic()
        try:
            res = subprocess.run([CLI] + list(args), input=stdin, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, timeout=45)
            rc, err = res.returncode, res.stderr.decode()
        except subprocess.TimeoutExpired:
            rc, err = 124, "killed after 45 s"
        took = time.monotonic() - start
        tap(rc == 1 and took < 20, "silent D-Bus: %s ends by itself within 20 s (exit %d, %.1f s)"
            % (" ".join(args[:2]), rc, took), err)
        tap("did not answer within 10 s" in err and "bastion-cli: " in err,
            "silent D-Bus: %s says the keyring did not answer" % " ".join(args[:2]), err)
    bus.sock.close()


def main():
    print("TAP version 13")
    tests = [test_deep_json, test_not_regular, test_team_names, test_ports, test_silent_dbus,
             test_parallel_imports, test_killed_saves]
    only = sys.argv[1:]
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t()
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
