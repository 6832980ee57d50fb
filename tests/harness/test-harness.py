#!/usr/bin/python3
"""Proves that tests/harness/with-servers gives real servers (TAP on stdout).

Run under: with-servers --sshd --postgres --keyring --team demo -- test-harness.py

- the OpenSSH client logs in to the sshd with the SimpleIOT-style RSA PEM key and a pinned
  known_hosts, and the same login restricted to SHA-1 `ssh-rsa` signatures is refused, as a
  current bastion refuses it;
- psql (password from a 0600 pgpass file, never argv) sees the SimpleIOT fixture, directly and
  through an `ssh -L` tunnel;
- the Secret Service on the private session bus stores and returns a secret;
- the team folder is laid out as SimpleIOT lays it out and points at these servers.
"""

import json
import os
import socket
import stat
import subprocess
import sys
import time

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).strip().splitlines():
            print("# " + line)
    sys.stdout.flush()


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit("Bail out! %s is not set: run under tests/harness/with-servers" % name)
    return value


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, timeout=60, **kwargs):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          stdin=kwargs.pop("stdin", subprocess.DEVNULL), **kwargs)


TMP = env("BASTION_TEST_TMP")
SSH_HOST = env("BASTION_TEST_SSH_HOST")
SSH_PORT = env("BASTION_TEST_SSH_PORT")
SSH_USER = env("BASTION_TEST_SSH_USER")
SSH_KEY = env("BASTION_TEST_SSH_KEY")
KNOWN_HOSTS = env("BASTION_TEST_SSH_KNOWN_HOSTS")
PG_HOST = env("BASTION_TEST_PG_HOST")
PG_PORT = env("BASTION_TEST_PG_PORT")
PG_USER = env("BASTION_TEST_PG_USER")
PG_DB = env("BASTION_TEST_PG_DB")
PG_PASSWORD_FILE = env("BASTION_TEST_PG_PASSWORD_FILE")
TEAM_DIR = env("BASTION_TEST_TEAM_DIR")


def ssh_cmd(*extra, key=SSH_KEY):
    # -F /dev/null: no user or system ssh_config may change what is being proved here.
    return ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none", "-i", key,
            "-o", "UserKnownHostsFile=" + KNOWN_HOSTS, "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=20",
            "-p", SSH_PORT] + list(extra) + ["%s@%s" % (SSH_USER, SSH_HOST)]


def check_ssh():
    res = run(ssh_cmd() + ["echo", "ok"])
    tap(res.returncode == 0 and res.stdout.decode().strip() == "ok",
        "ssh logs in with the RSA PEM key and a pinned host key, runs `echo ok`",
        res.stderr.decode())

    res = run(ssh_cmd("-o", "PubkeyAcceptedAlgorithms=ssh-rsa") + ["echo", "ok"])
    err = res.stderr.decode()
    tap(res.returncode == 255 and "ok" not in res.stdout.decode()
        and "Permission denied" in err,
        "sshd refuses the same key signed with SHA-1 ssh-rsa (like a current bastion)",
        "exit %d; stderr: %s" % (res.returncode, err))

    # A host key that does not match is refused: the known_hosts really is checked.
    wrong = os.path.join(TMP, "test-harness-wrong-known-hosts")
    other = os.path.join(TMP, "test-harness-other-hostkey")
    if not os.path.exists(other):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other])
    with open(other + ".pub") as f:
        parts = f.read().split()
    with open(wrong, "w") as f:
        for kind in ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"):
            f.write("[%s]:%s %s %s\n" % (SSH_HOST, SSH_PORT, kind, parts[1]))
    cmd = ssh_cmd() + ["echo", "ok"]
    cmd[cmd.index("UserKnownHostsFile=" + KNOWN_HOSTS)] = "UserKnownHostsFile=" + wrong
    res = run(cmd)
    err = res.stderr.decode()
    tap(res.returncode == 255 and ("HOST IDENTIFICATION HAS CHANGED" in err
                                   or "verification failed" in err),
        "ssh refuses the sshd when known_hosts holds another key", err)


def write_pgpass(ports):
    with open(PG_PASSWORD_FILE) as f:
        password = f.read().strip()
    path = os.path.join(TMP, "test-harness-pgpass")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    with os.fdopen(fd, "w") as f:
        for port in ports:
            f.write("127.0.0.1:%s:%s:%s:%s\n" % (port, PG_DB, PG_USER, escaped))
    return path


def psql(port, sql, pgpass):
    e = dict(os.environ)
    for var in ("PGPASSWORD", "PGSERVICE", "PGSERVICEFILE"):
        e.pop(var, None)
    e["PGPASSFILE"] = pgpass
    e["PGCONNECT_TIMEOUT"] = "20"
    return run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", str(port), "-U", PG_USER, "-d", PG_DB, "-w", "-c", sql], env=e)


FIXTURE_SQL = ("SELECT (SELECT string_agg(name, ',') FROM project), (SELECT count(*) FROM model), "
               "(SELECT count(*) FROM device), (SELECT count(*) FROM datatype)")


def check_postgres(pgpass):
    res = psql(PG_PORT, FIXTURE_SQL, pgpass)
    out = res.stdout.decode().strip()
    tap(res.returncode == 0 and out == "Sunshine|6|5|13",
        "psql sees project Sunshine, 6 models, 5 devices, 13 data types",
        "got %r; %s" % (out, res.stderr.decode()))

    res = psql(PG_PORT, "SELECT current_setting('password_encryption'), "
               "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)", pgpass)
    out = res.stdout.decode().strip()
    tap(res.returncode == 0 and out == "scram-sha-256|f",
        "PostgreSQL stores scram-sha-256 passwords and the team's user is not a superuser",
        "got %r; %s" % (out, res.stderr.decode()))

    wrong = os.path.join(TMP, "test-harness-wrong-pgpass")
    fd = os.open(wrong, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("127.0.0.1:%s:%s:%s:not-the-password\n" % (PG_PORT, PG_DB, PG_USER))
    res = psql(PG_PORT, "SELECT 1", wrong)
    os.unlink(wrong)
    err = res.stderr.decode()
    tap(res.returncode != 0 and "password authentication failed" in err,
        "PostgreSQL refuses a wrong password", "exit %d; %s" % (res.returncode, err))

    res = psql(PG_PORT,
               "SELECT (SELECT count(*) FROM information_schema.table_constraints "
               "        WHERE constraint_type = 'FOREIGN KEY' AND constraint_name LIKE 'fk\\_%'), "
               "(SELECT count(*) FROM information_schema.columns "
               " WHERE table_schema = 'public' AND column_default IS NOT NULL), "
               "(SELECT count(*) FROM systemsetting), "
               "(SELECT string_agg(name, ',' ORDER BY name) FROM \"user\"), "
               "(SELECT model_type || '/' || provision_via FROM model WHERE name = 'TP1000'), "
               "(SELECT model_type FROM model WHERE name = 'GW5000')", pgpass)
    out = res.stdout.decode().strip()
    fields = out.split("|")
    ok = (res.returncode == 0 and len(fields) == 6 and fields[0] == "25" and fields[1] == "0"
          and int(fields[2]) >= 36 and fields[3] == "admin,extrauser" and fields[4] == "1/15"
          and fields[5] == "2")
    tap(ok, "the schema has its 25 named foreign keys, no DEFAULTs, and the install's seed rows",
        "got %r; %s" % (out, res.stderr.decode()))


def wait_listening(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def check_tunnel(local_port, pgpass):
    proc = subprocess.Popen(ssh_cmd("-N", "-o", "ExitOnForwardFailure=yes",
                                    "-L", "127.0.0.1:%d:%s:%s" % (local_port, PG_HOST, PG_PORT)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        listening = wait_listening(local_port, proc)
        if not listening:
            proc.kill()
            _, err = proc.communicate()
            tap(False, "psql reaches the database through `ssh -L`", err.decode())
            return
        res = psql(local_port, FIXTURE_SQL + ", inet_server_port()", pgpass)
        out = res.stdout.decode().strip()
        tap(res.returncode == 0 and out == "Sunshine|6|5|13|%s" % PG_PORT,
            "psql reaches the database through `ssh -L 127.0.0.1:%d`" % local_port,
            "got %r; %s" % (out, res.stderr.decode()))
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def check_keyring():
    bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    tmp_bus = bus.startswith("unix:path=" + TMP)
    tap(tmp_bus, "the session bus is the harness's private one", "DBUS_SESSION_BUS_ADDRESS=" + bus)
    secret = "s3cret-%d" % os.getpid()
    attrs = ["bastion-test", "harness-%d" % os.getpid()]
    res = run(["secret-tool", "store", "--label=Bastion harness test"] + attrs,
              stdin=None, input=secret.encode())
    stored = res.returncode == 0
    tap(stored, "secret-tool stores a secret in gnome-keyring", res.stderr.decode())
    res = run(["secret-tool", "lookup"] + attrs)
    tap(res.returncode == 0 and res.stdout.decode() == secret,
        "secret-tool looks the same secret up again", res.stderr.decode())
    run(["secret-tool", "clear"] + attrs)
    res = run(["secret-tool", "lookup"] + attrs)
    tap(res.returncode != 0 and res.stdout.decode() == "",
        "after secret-tool clear the secret is gone", res.stdout.decode())


def check_team():
    path = os.path.join(TEAM_DIR, "config.json")
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        tap(False, "the team folder has a config.json", e)
        return
    expect = {
        "team": os.path.basename(TEAM_DIR),
        "bastion_ssh_port": int(SSH_PORT),
        "bastion_ssh_user": SSH_USER,
        "bastionHostSSHDns": SSH_HOST,
        "database_tcp_port": int(PG_PORT),
        "dbHostname": PG_HOST,
        "db_name": PG_DB,
        "db_username": PG_USER,
        "bastion_ssh_ec2_keypair_filename": "simpleiot-bastion-keypair.pem",
    }
    wrong = {k: config.get(k) for k, v in expect.items() if config.get(k) != v}
    tap(not wrong and os.path.dirname(TEAM_DIR) == os.environ.get("BASTION_SIMPLEIOT_DIR"),
        "the team folder's config.json points at these servers, under BASTION_SIMPLEIOT_DIR",
        "differs: %r" % wrong)
    for key in ("db_password_key", "region", "aws_profile", "ssh_db_local_port"):
        if key not in config:
            tap(False, "config.json has every key of an admin install", "missing " + key)
            break
    else:
        tap(True, "config.json has every key of an admin install")

    pem = os.path.join(TEAM_DIR, "certs", "simpleiot-bastion-keypair.pem")
    try:
        with open(pem) as f:
            head = f.readline().strip()
        mode = stat.S_IMODE(os.stat(pem).st_mode)
    except OSError as e:
        tap(False, "certs/simpleiot-bastion-keypair.pem exists", e)
        return
    tap(head == "-----BEGIN RSA " "PRIVATE KEY-----" and mode & 0o077 == 0,
        "certs/simpleiot-bastion-keypair.pem is a PKCS#1 PEM RSA key, not readable by others",
        "first line %r, mode %o" % (head, mode))
    res = run(ssh_cmd(key=pem) + ["echo", "ok"])
    tap(res.returncode == 0 and res.stdout.decode().strip() == "ok",
        "the team's .pem key logs in to the sshd", res.stderr.decode())


def main():
    print("TAP version 13")
    tunnel_port = free_port()
    pgpass = write_pgpass([PG_PORT, tunnel_port])
    try:
        check_ssh()
        check_postgres(pgpass)
        check_tunnel(tunnel_port, pgpass)
        check_keyring()
        check_team()
    finally:
        os.unlink(pgpass)
    print("1..%d" % len(results))
    failed = results.count(False)
    if failed:
        print("# %d of %d failed" % (failed, len(results)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
