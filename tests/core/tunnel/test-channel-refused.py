#!/usr/bin/python3
"""Issue 18, "say what the bastion refused": a real sshd with AllowTcpForwarding no. The SSH
login works; the direct-tcpip channel to the database is refused (administratively
prohibited). `bastion-cli check` reports the tunnel step as FAILED with the bastion's reason and
the fix (the database login is not reached); `bastion-cli query` says the same in one line. A
team whose database port has nothing listening gets "connect failed" from a second sshd run.

Run under: with-servers --sshd --sshd-config 'AllowTcpForwarding no' --postgres --keyring
--team demo. TAP on stdout.
"""

import json
import os
import socket
import subprocess
import sys

CLI = os.environ["BASTION_CLI"]
TEAM = os.environ["BASTION_TEST_TEAM"]
results = []


def tap(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name), flush=True)
    if not ok:
        for line in str(detail).strip().splitlines()[:30]:
            print("# " + line)


def cli(*args, stdin=None):
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=120,
                          input=stdin)


def main():
    res = cli("import")
    tap(res.returncode == 0, "import", res.stderr)
    res = cli("hostkey", TEAM, "--trust")
    tap(res.returncode == 0, "hostkey --trust", res.stderr)
    with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
        res = cli("secret", "set", TEAM, "db-password", stdin=f.read().strip() + "\n")
    tap(res.returncode == 0, "the database password is stored", res.stderr)

    res = cli("check", TEAM)
    out = res.stdout
    lines = out.splitlines()
    tunnel = [x for x in lines if x.startswith("FAILED  Open the tunnel")
              and "administratively prohibited" in x]
    tap(res.returncode == 1 and len(tunnel) == 1 and "AllowTcpForwarding no" in tunnel[0]
        and "ask its administrator" in tunnel[0],
        "check: one FAILED step with the bastion's reason and the fix", out + res.stderr)
    login = [x for x in lines if x.startswith("ok") and "Authenticate" in x]
    db = [x for x in lines if "Log in to the database" in x]
    tap(login and db and db[0].startswith("-") and "not reached" in db[0],
        "check: the SSH login is ok, the database login not reached", out)
    tap(tunnel and lines.index(tunnel[0]) < lines.index(db[0]) if db else False,
        "check: the failed step is the tunnel's, before the database login", out)
    print("# " + (tunnel[0] if tunnel else out.replace("\n", " | ")), flush=True)

    res = cli("query", TEAM, "SELECT 1")
    # The tunnel logs the refusal too (Bastion-Message, for `bastion-cli tunnel`'s user).
    err = [x for x in res.stderr.splitlines() if x.startswith("bastion-cli:")]
    tap(res.returncode != 0 and len(err) == 1 and "administratively prohibited" in err[0]
        and "AllowTcpForwarding no" in err[0], "query: its error has the reason and the fix",
        res.stderr)

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
