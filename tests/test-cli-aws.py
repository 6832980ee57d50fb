#!/usr/bin/python3
"""`bastion-cli aws …` against the local AWS endpoint (TAP on stdout).

Run under: with-servers --aws --postgres --keyring --team demo -- test-cli-aws.py

The endpoint (tests/harness/aws_endpoint.py) verifies every request's SigV4 signature with
botocore; each step below also asserts that it saw no badly signed request.

- `aws secret demo` fetches the DB password from Secrets Manager into the real keyring, and it is
  the password PostgreSQL accepts;
- `aws allow-my-ip demo` replaces the old /32 rule with our IP; `--temporary` adds a rule that
  goes again on SIGTERM;
- `aws bastion demo start` starts a stopped bastion, waits for it and picks up its new DNS name;
  `status` and `stop` report the state;
- AccessDenied, an expired token, an unknown secret and an unreachable endpoint each end in one
  line on stderr that names the action and says what to do.
"""

import json
import os
import signal
import subprocess
import sys
import urllib.request

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


CLI = env("BASTION_CLI")
CONTROL = env("BASTION_TEST_AWS_CONTROL_URL")
TEAM = env("BASTION_TEST_TEAM")
PG_PASSWORD_FILE = env("BASTION_TEST_PG_PASSWORD_FILE")


def control(path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(CONTROL + "/" + path, data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def cli(*args, timeout=120):
    return subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=timeout, text=True)


def signatures_ok(name):
    state = control("state")
    failures = state["signature_failures"]
    unsigned = [r for r in state["requests"] if not r.get("signature_ok")]
    tap(not failures and not unsigned and state["requests"],
        name + ": every request correctly signed",
        json.dumps({"failures": failures, "unsigned": unsigned}))


def rules():
    return {r["cidr"]: r["description"] for r in control("state")["security_groups"][0]["rules"]}


def main():
    res = cli("import")
    tap(res.returncode == 0, "import the team", res.stderr)

    # --- secret -----------------------------------------------------------------------------
    control("reset", {})
    res = cli("aws", "secret", TEAM)
    tap(res.returncode == 0, "aws secret exits 0", res.stderr)
    with open(PG_PASSWORD_FILE) as f:
        pg_password = f.read().strip()
    tap(pg_password not in res.stdout and pg_password not in res.stderr,
        "the password is never printed by aws secret")
    res = cli("secret", "print", TEAM, "db-password")
    tap(res.returncode == 0 and res.stdout.rstrip("\n") == pg_password,
        "the keyring holds the password from Secrets Manager", res.stderr)
    psql_env = dict(os.environ, PGPASSWORD=res.stdout.rstrip("\n"))
    psql = subprocess.run(["psql", "-X", "-At", "-h", env("BASTION_TEST_PG_HOST"), "-p",
                           env("BASTION_TEST_PG_PORT"), "-U", env("BASTION_TEST_PG_USER"),
                           "-d", env("BASTION_TEST_PG_DB"), "-c", "SELECT 1"],
                          env=psql_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)
    tap(psql.returncode == 0 and psql.stdout.strip() == "1",
        "PostgreSQL accepts the fetched password", psql.stderr)
    signatures_ok("aws secret")

    # --- allow-my-ip --------------------------------------------------------------------------
    control("reset", {})
    res = cli("aws", "allow-my-ip", TEAM)
    tap(res.returncode == 0, "aws allow-my-ip exits 0", res.stderr)
    tap("The bastion admits 203.0.113.45/32, you are 198.51.100.7." in res.stdout,
        "the diagnosis names both addresses", res.stdout)
    now = rules()
    tap("198.51.100.7/32" in now and "203.0.113.45/32" not in now
        and now["198.51.100.7/32"].startswith("Bastion: "),
        "the old rule is replaced by ours, described as Bastion's", json.dumps(now))
    signatures_ok("aws allow-my-ip")

    control("reset", {})
    proc = subprocess.Popen([CLI, "aws", "allow-my-ip", TEAM, "--temporary"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    first = ""
    while True:
        line = proc.stdout.readline()
        if not line or line.startswith("Allowed "):
            first = line
            break
    during = rules()
    tap(first.startswith("Allowed 198.51.100.7/32")
        and during.get("198.51.100.7/32", "").startswith("Bastion (temporary): ")
        and "203.0.113.45/32" in during,
        "--temporary adds our rule and keeps the old one", first + json.dumps(during))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    after = rules()
    tap(proc.returncode == 0 and "198.51.100.7/32" not in after and "203.0.113.45/32" in after,
        "the temporary rule goes on SIGTERM", err + json.dumps(after))
    signatures_ok("aws allow-my-ip --temporary")

    # --- the bastion instance -----------------------------------------------------------------
    control("reset", {})
    instance = control("state")["instances"][0]
    instance.update({"state": "stopped", "transition_polls": 2})
    control("state", {"instances": [instance]})
    res = cli("aws", "bastion", TEAM, "start")
    tap(res.returncode == 0 and "i-0bastion000000001 running " + instance["next_dns"]
        in res.stdout, "aws bastion start waits until it runs", res.stdout + res.stderr)
    tap("changed" in res.stdout, "the new DNS name is noticed", res.stdout)
    teams = json.loads(cli("teams", "--json").stdout)
    hosts = [p.get("ssh-host") for p in teams]
    tap(instance["next_dns"] in hosts, "the profile now uses the new DNS name", json.dumps(hosts))
    requests = control("state")["requests"]
    tap(sum(1 for r in requests if r["action"] == "StartInstances") == 1,
        "StartInstances was sent once")
    res = cli("aws", "bastion", TEAM, "status")
    tap(res.returncode == 0 and " running " in res.stdout, "aws bastion status",
        res.stdout + res.stderr)
    res = cli("aws", "bastion", TEAM, "stop")
    tap(res.returncode == 0 and " stopping " in res.stdout, "aws bastion stop",
        res.stdout + res.stderr)
    signatures_ok("aws bastion")

    # --- errors -------------------------------------------------------------------------------
    def one_line_error(res, name, *needles):
        lines = res.stderr.strip().splitlines()
        tap(res.returncode != 0 and len(lines) == 1 and all(n in lines[0] for n in needles),
            name, res.stderr)

    control("reset", {})
    control("state", {"deny": ["GetSecretValue", "AuthorizeSecurityGroupIngress"]})
    one_line_error(cli("aws", "secret", TEAM), "AccessDenied names the permission",
                   "aws secret", "secretsmanager:GetSecretValue", "administrator")
    one_line_error(cli("aws", "allow-my-ip", TEAM), "UnauthorizedOperation names the permission",
                   "ec2:AuthorizeSecurityGroupIngress")
    control("reset", {})
    control("state", {"expired": [env("BASTION_TEST_AWS_ACCESS_KEY_ID")]})
    one_line_error(cli("aws", "bastion", TEAM, "status"), "an expired token says so",
                   "DescribeInstances", "expired")
    control("reset", {})
    state = control("state")
    control("state", {"secrets": {}})
    one_line_error(cli("aws", "secret", TEAM), "an unknown secret is named",
                   "SimpleIOT-db-password", "db_password_key")
    control("state", {"secrets": state["secrets"]})
    signatures_ok("errors")

    dead = subprocess.run([sys.executable, "-c",
                           "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
                           "print(s.getsockname()[1])"],
                          stdout=subprocess.PIPE, text=True).stdout.strip()
    os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:%s" % dead
    one_line_error(cli("aws", "secret", TEAM), "an unreachable endpoint is a network error",
                   "GetSecretValue", "network")

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
