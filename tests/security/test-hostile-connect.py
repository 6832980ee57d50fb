#!/usr/bin/python3
"""Hostile files on the way to the database (issue 25, findings 4, 7 and 8): private keys others
may read or write or that belong to another user, database values with terminal escapes (table,
CSV to a pipe and CSV to a terminal), the changed-key warning, an @revoked key, and --accept-new
with a known_hosts file Bastion cannot read. The demo team through the real sshd and PostgreSQL.

Run under tests/harness/with-servers --sshd --postgres --keyring --team demo. TAP output."""

import os
import pty
import pwd
import select
import shutil
import subprocess
import sys

results = []


def tap(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name), flush=True)
    if not ok and detail:
        for line in str(detail).splitlines()[:20]:
            print("# " + line)


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit("Bail out! %s is not set: run under tests/harness/with-servers" % name)
    return value


CLI = env("BASTION_CLI")
TEAM = env("BASTION_TEST_TEAM")
TEAM_DIR = env("BASTION_TEST_TEAM_DIR")
PORT = env("BASTION_TEST_SSH_PORT")
FINGERPRINT = env("BASTION_TEST_SSH_FINGERPRINT")
TMP = env("BASTION_TEST_TMP")
OWN_KNOWN_HOSTS = os.path.join(env("XDG_DATA_HOME"), "bastion", "known_hosts")
with open(env("BASTION_TEST_PG_PASSWORD_FILE")) as f:
    PG_PASSWORD = f.read().strip()


def cli(*args, stdin=None, timeout=120):
    res = subprocess.run([CLI] + list(args), input=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=timeout)
    return res.returncode, res.stdout, res.stderr.decode(errors="replace")


def server_key_line():
    """The harness sshd's ed25519 host key as "TYPE BASE64"."""
    with open(env("BASTION_TEST_SSH_KNOWN_HOSTS")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] == "ssh-ed25519":
                return parts[1] + " " + parts[2]
    raise SystemExit("Bail out! no ed25519 key in the harness's known_hosts")


def other_key_line():
    path = os.path.join(TMP, "other_ed25519")
    if not os.path.exists(path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    with open(path + ".pub") as f:
        parts = f.read().split()
    fp = subprocess.run(["ssh-keygen", "-l", "-f", path + ".pub"], stdout=subprocess.PIPE,
                        text=True, check=True).stdout.split()[1]
    return parts[0] + " " + parts[1], fp


def write_own_known_hosts(text):
    os.makedirs(os.path.dirname(OWN_KNOWN_HOSTS), mode=0o700, exist_ok=True)
    with open(OWN_KNOWN_HOSTS, "w") as f:
        f.write(text)
    os.chmod(OWN_KNOWN_HOSTS, 0o600)


def key_file():
    rc, out, err = cli("teams", "--json")
    import json
    for p in json.loads(out):
        if p["id"] == TEAM or p.get("display-name") == TEAM:
            return p["key-file"]
    raise SystemExit("Bail out! no key file for " + TEAM)


def test_accept_new_garbage():
    """Finding 8: --accept-new appended to a known_hosts it could not parse."""
    garbage = "\x00\xff not a known_hosts line\nbastion ssh-ed25519 !!!notbase64\n"
    write_own_known_hosts(garbage)
    rc, out, err = cli("query", TEAM, "select 1", "--accept-new")
    tap(rc == 1 and OWN_KNOWN_HOSTS in err and "line 1" in err,
        "--accept-new refuses an unreadable known_hosts, naming file and line", err)
    with open(OWN_KNOWN_HOSTS) as f:
        tap(f.read() == garbage, "--accept-new: the unreadable file is left as it was")
    os.unlink(OWN_KNOWN_HOSTS)
    rc, out, err = cli("query", TEAM, "select 1", "--accept-new")
    tap(rc == 0, "--accept-new with no file: trusted and recorded", err)


def test_changed_and_revoked():
    """Finding 8: the changed-key warning showed only the new fingerprint; @revoked was
    reported as CHANGED by query."""
    other, other_fp = other_key_line()
    host = "[127.0.0.1]:%s" % PORT
    write_own_known_hosts("# Bastion's own\n\n%s %s\n" % (host, other))
    rc, out, err = cli("query", TEAM, "select 1")
    tap(rc == 1 and "CHANGED" in err, "a changed key is refused", err)
    tap(other_fp in err and FINGERPRINT in err,
        "the warning shows the expected (%s) and the offered fingerprint" % other_fp, err)
    tap(OWN_KNOWN_HOSTS + ":3" in err, "the warning names the file and line of the old key", err)

    write_own_known_hosts("@revoked %s %s\n%s %s\n" % (host, server_key_line(), host,
                                                        server_key_line()))
    rc, out, err = cli("query", TEAM, "select 1")
    tap(rc == 1 and "revoked" in err and "CHANGED" not in err,
        "an @revoked key is reported as revoked by query", err)
    rc, out, err = cli("hostkey", TEAM)
    tap("revoked" in (out.decode() + err), "and by hostkey", out.decode() + err)

    write_own_known_hosts("%s %s\n" % (host, server_key_line()))
    rc, out, err = cli("query", TEAM, "select 1")
    tap(rc == 0, "the right key again: query works", err)


def test_key_modes():
    """Finding 4: keys at 0644, 0666 and another user's were used with no warning."""
    key = key_file()
    st = os.stat(key)
    nobody = pwd.getpwnam("nobody").pw_uid
    cases = [("0644", 0o644, None, "chmod 600"), ("0666", 0o666, None, "chmod 600"),
             ("0640", 0o640, None, "chmod 600"),
             ("another user's at 0644", 0o644, nobody, "not yours"),
             ("another user's at 0600", 0o600, nobody, "belongs to another user")]
    try:
        for name, mode, owner, fix in cases:
            os.chmod(key, mode)
            if owner is not None:
                os.chown(key, owner, -1)
            rc, out, err = cli("query", TEAM, "select 1")
            tap(rc == 1 and key in err and fix in err,
                "a key %s is refused, naming the file and '%s'" % (name, fix), err)
            os.chown(key, st.st_uid, -1)
        rc, out, err = cli("import")
        os.chmod(key, 0o644)
        rc, out, err = cli("import")
        tap(rc == 0 and key in err and "chmod 600" in err,
            "import warns about a key at 0644, with the fix", err)
    finally:
        os.chown(key, st.st_uid, st.st_gid)
        os.chmod(key, 0o600)
    rc, out, err = cli("query", TEAM, "select 1")
    tap(rc == 0, "the same key at 0600: query works (control)", err)


SQL = "select E'a\\x1b]0;pwned\\x07b' as v, E'red\\x1b[31m\\x7f\\u009b' as w"


def run_on_pty(args):
    """ARGS with stdout on a terminal (stderr a pipe); what the terminal received."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([CLI] + args, stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    data = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, data, proc.stderr.read().decode(errors="replace")


def test_escapes():
    """Finding 7: ESC and BEL of database values reached the terminal raw."""
    rc, out, err = cli("query", TEAM, SQL)
    tap(rc == 0 and b"\x1b" not in out and b"\x07" not in out and b"\x7f" not in out
        and "\xc2\x9b".encode("latin-1") not in out,
        "table: no raw ESC, BEL, DEL or C1 control", repr(out))
    tap(b"a\\x1B]0;pwned\\x07b" in out and b"red\\x1B[31m\\x7F\\u009B" in out,
        "table: controls shown as psql shows them (\\x1B)", out.decode(errors="replace"))

    rc, out, err = cli("query", TEAM, SQL, "--format", "csv")
    tap(rc == 0 and out == "v,w\na\x1b]0;pwned\x07b,red\x1b[31m\x7f\u009b\n".encode(),
        "csv to a pipe: byte-exact", repr(out))

    rc, data, err = run_on_pty(["query", TEAM, SQL, "--format", "csv"])
    tap(rc == 0 and b"\x1b" not in data and b"\x07" not in data,
        "csv to a terminal: no raw ESC or BEL", repr(data))
    tap(b"a\\x1B]0;pwned\\x07b,red\\x1B[31m\\x7F\\u009B" in data,
        "csv to a terminal: the controls shown escaped", repr(data))

    rc, data, err = run_on_pty(["query", TEAM, "select E'two\\nlines' as v", "--format",
                                "csv"])
    tap(rc == 0 and b'"two\r\nlines"' in data,
        "csv to a terminal: a quoted line break stays a line break", repr(data))


def main():
    print("TAP version 13")
    rc, out, err = cli("import")
    tap(rc == 0, "import the demo team", err)
    rc, out, err = cli("secret", "set", TEAM, "db-password", stdin=(PG_PASSWORD + "\n").encode())
    tap(rc == 0, "store the DB password", err)
    tests = [test_accept_new_garbage, test_changed_and_revoked, test_key_modes, test_escapes]
    only = sys.argv[1:]
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t()
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
