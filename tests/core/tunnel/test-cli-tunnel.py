#!/usr/bin/python3
"""bastion-cli tunnel and hostkey against the harness's sshd and PostgreSQL.

Run under: with-servers --sshd --postgres --team demo (see tests/meson.build).
"""

import os
import signal
import socket
import subprocess
import sys
import time

CLI = os.environ["BASTION_CLI"]
TEAM = os.environ["BASTION_TEST_TEAM"]
FINGERPRINT = os.environ["BASTION_TEST_SSH_FINGERPRINT"]
OWN_KNOWN_HOSTS = os.path.join(os.environ["XDG_DATA_HOME"], "bastion", "known_hosts")
USER_KNOWN_HOSTS = os.path.join(os.environ["HOME"], ".ssh", "known_hosts")

failures = []
n = 0


def check(name, cond, detail=""):
    global n
    n += 1
    if cond:
        print("ok %d %s" % (n, name))
    else:
        print("not ok %d %s %s" % (n, name, detail.replace("\n", " | ")))
        failures.append(name)
    sys.stdout.flush()


def cli(*args, timeout=60):
    return subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, universal_newlines=True)


def start_tunnel(*args):
    proc = subprocess.Popen([CLI, "tunnel", TEAM] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    line = proc.stdout.readline()
    return proc, line


def psql(port, sql):
    with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
        password = f.read().strip()
    env = dict(os.environ)
    env["PGPASSWORD"] = password  # the test's own psql only
    return subprocess.run(["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(port),
                           "-U", os.environ["BASTION_TEST_PG_USER"],
                           "-d", os.environ["BASTION_TEST_PG_DB"], "-c", sql],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60,
                          universal_newlines=True)


def main():
    res = cli("import")
    check("import", res.returncode == 0, res.stderr)

    # Unknown host key.
    res = cli("hostkey", TEAM)
    check("hostkey unknown", res.returncode == 0 and res.stdout == "%s unknown\n" % FINGERPRINT,
          res.stdout + res.stderr)

    proc, line = start_tunnel("--port", "0")
    rc = proc.wait(timeout=60)
    err = proc.stderr.read()
    check("tunnel refuses an unknown key", rc != 0 and line == "" and FINGERPRINT in err
          and "host key" in err and "--accept-new" in err, err)
    check("nothing trusted by a refusal", not os.path.exists(OWN_KNOWN_HOSTS))

    res = cli("hostkey", TEAM, "--trust")
    check("hostkey --trust", res.returncode == 0 and res.stdout == "%s trusted\n" % FINGERPRINT,
          res.stdout + res.stderr)
    check("trust written to Bastion's known_hosts", os.path.exists(OWN_KNOWN_HOSTS)
          and not os.path.exists(USER_KNOWN_HOSTS))
    res = cli("hostkey", TEAM)
    check("hostkey trusted", res.stdout == "%s trusted\n" % FINGERPRINT, res.stdout + res.stderr)

    # The tunnel, psql through it, SIGTERM.
    proc, line = start_tunnel("--port", "0")
    ok = line.startswith("listening 127.0.0.1:")
    check("tunnel prints listening", ok, line + (proc.stderr.read() if not ok else ""))
    if ok:
        port = int(line.strip().rsplit(":", 1)[1])
        res = psql(port, "select name from project order by name")
        check("psql through the tunnel", res.returncode == 0 and res.stdout == "Sunshine\n",
              res.stdout + res.stderr)
        res = psql(port, "select count(*) from model")
        check("psql second connection", res.stdout == "6\n", res.stdout + res.stderr)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        check("SIGTERM exits 0", rc == 0, proc.stderr.read())

    # The team's own port, then SIGINT.
    proc, line = start_tunnel()
    ok = line.startswith("listening 127.0.0.1:")
    check("tunnel on the team's port", ok, line)
    if ok:
        team_port = int(line.strip().rsplit(":", 1)[1])
        check("team port is not ephemeral-0", team_port > 0)
        # Busy: a second tunnel on the same port names the process holding it. Bastion is not
        # dumpable (bastion-secure.c), so only root can see which process holds the socket; a
        # developer who is not root gets "another program".
        res = cli("tunnel", TEAM, "--port", str(team_port))
        if os.geteuid() == 0:
            check("busy port names the holder", res.returncode != 0
                  and str(proc.pid) in res.stderr and "bastion-cli" in res.stderr, res.stderr)
        else:
            check("busy port is reported (its non-dumpable holder cannot be named without root)",
                  res.returncode != 0 and "is already in use by another program" in res.stderr,
                  res.stderr)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
        check("SIGINT exits 0", rc == 0, proc.stderr.read())

    # A port held by another program.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        res = cli("tunnel", TEAM, "--port", str(busy))
        check("busy port held by python", res.returncode != 0 and str(os.getpid()) in res.stderr,
              res.stderr)

    # Changed key: only a wrong key known; refused even with --accept-new and --trust.
    os.unlink(OWN_KNOWN_HOSTS)
    os.makedirs(os.path.dirname(USER_KNOWN_HOSTS), exist_ok=True)
    tmpkey = os.path.join(os.environ["BASTION_TEST_TMP"], "wrong_host_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tmpkey], check=True)
    with open(tmpkey + ".pub") as f:
        kind, blob = f.read().split()[:2]
    with open(USER_KNOWN_HOSTS, "w") as f:
        f.write("[127.0.0.1]:%s %s %s\n" % (os.environ["BASTION_TEST_SSH_PORT"], kind, blob))
    proc, line = start_tunnel("--port", "0", "--accept-new")
    rc = proc.wait(timeout=60)
    err = proc.stderr.read()
    check("changed key refused with --accept-new", rc != 0 and line == "" and "CHANGED" in err,
          err)
    res = cli("hostkey", TEAM, "--trust")
    check("hostkey --trust refuses a changed key",
          res.returncode != 0 and res.stdout == "%s changed\n" % FINGERPRINT
          and not os.path.exists(OWN_KNOWN_HOSTS), res.stdout + res.stderr)

    # --accept-new with nothing known.
    os.unlink(USER_KNOWN_HOSTS)
    proc, line = start_tunnel("--port", "0", "--accept-new")
    check("--accept-new trusts an unknown key", line.startswith("listening 127.0.0.1:")
          and os.path.exists(OWN_KNOWN_HOSTS), line)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)

    print("1..%d" % n)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
