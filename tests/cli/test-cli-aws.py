#!/usr/bin/python3
"""`bastion-cli aws …` against the local AWS endpoint (TAP on stdout).

Run under: with-servers --aws --postgres --keyring --team demo -- test-cli-aws.py

The endpoint (tests/harness/aws_endpoint.py) verifies every request's SigV4 signature with
botocore; each step below also asserts that it saw no badly signed request.

- `aws secret demo` fetches the DB password from Secrets Manager into the real keyring, and it is
  the password PostgreSQL accepts;
- `aws allow-my-ip demo` with three rules on port 22 (the install IP, a teammate's Bastion rule,
  my own old Bastion rule) says what it will remove, then removes only mine and adds the new one;
- `--temporary` adds a rule with an expiry that goes again on SIGINT, SIGTERM, SIGHUP and
  SIGQUIT; after SIGKILL, the next AWS command for the team removes it once it has expired;
- hostile checkip answers (0.0.0.0, 255.255.255.255, 127.0.0.1, private, CGNAT …) are refused
  and the group is unchanged;
- `aws bastion demo start` of a bastion without a public DNS name returns once it runs, with its
  private address; replies nested a million levels deep end in one clear line, not SIGSEGV;
- `aws bastion demo start` starts a stopped bastion, waits for it and picks up its new DNS name;
  `status` and `stop` report the state;
- AccessDenied, an expired token, an unknown secret and an unreachable endpoint each end in one
  line on stderr that names the action and says what to do.
"""

import getpass
import json
import os
import signal
import socket
import subprocess
import sys
import time
from clitest import cli, control, env, finish, tap

CLI = env("BASTION_CLI")
env("BASTION_TEST_AWS_CONTROL_URL")
TEAM = env("BASTION_TEST_TEAM")
PG_PASSWORD_FILE = env("BASTION_TEST_PG_PASSWORD_FILE")


def signatures_ok(name):
    state = control("state")
    failures = state["signature_failures"]
    unsigned = [r for r in state["requests"] if not r.get("signature_ok")]
    tap(not failures and not unsigned and state["requests"],
        name + ": every request correctly signed",
        json.dumps({"failures": failures, "unsigned": unsigned}))


def set_rules(pairs):
    group = control("state")["security_groups"][0]
    group["rules"] = [{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": c,
                       "description": d} for c, d in pairs]
    control("state", {"security_groups": [group]})


def start_temporary(*extra):
    """Starts allow-my-ip --temporary; returns it once it has said "Allowed …"."""
    proc = subprocess.Popen([CLI, "aws", "allow-my-ip", TEAM, "--temporary"] + list(extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    first = ""
    while True:
        line = proc.stdout.readline()
        if not line or line.startswith("Allowed "):
            first = line
            break
    return proc, first


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

    # --- allow-my-ip: only my own rules go ------------------------------------------------
    control("reset", {})
    owner = "%s@%s" % (getpass.getuser(), socket.gethostname())
    mine_old = "bastion:%s added 2026-11-01" % owner
    set_rules([("203.0.113.45/32", "SimpleIOT install IP"),
               ("203.0.113.60/32", "bastion:alice@alice-laptop added 2026-11-02"),
               ("203.0.113.50/32", mine_old)])
    res = cli("aws", "allow-my-ip", TEAM)
    tap(res.returncode == 0, "aws allow-my-ip exits 0", res.stderr)
    tap("you are 198.51.100.7." in res.stdout, "the diagnosis names my address", res.stdout)
    plan = res.stdout.find("Will remove your own old rule(s) on port 22: 203.0.113.50/32.")
    allowed = res.stdout.find("Allowed 198.51.100.7/32")
    tap(0 <= plan < allowed and "Removed your old rule for 203.0.113.50/32." in res.stdout,
        "what it will remove is printed before it is removed", res.stdout)
    now = rules()
    tap(now.get("203.0.113.45/32") == "SimpleIOT install IP"
        and now.get("203.0.113.60/32") == "bastion:alice@alice-laptop added 2026-11-02"
        and "203.0.113.50/32" not in now
        and now.get("198.51.100.7/32", "").startswith("bastion:%s added " % owner)
        and len(now) == 3,
        "three rules: the install IP and the teammate's stay, only my old one is replaced",
        json.dumps(now))
    signatures_ok("aws allow-my-ip")

    # --- allow-my-ip --temporary: every catchable signal removes the rule ----------------------
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        control("reset", {})
        proc, first = start_temporary()
        during = rules()
        tap(first.startswith("Allowed 198.51.100.7/32")
            and " temporary until 20" in during.get("198.51.100.7/32", "")
            and "203.0.113.45/32" in during,
            "--temporary adds our rule with an expiry and keeps the old one (%s)" % sig.name,
            first + json.dumps(during))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        after = rules()
        tap(proc.returncode == 0 and "198.51.100.7/32" not in after and "203.0.113.45/32" in after
            and "Removed the temporary rule for 198.51.100.7/32." in out,
            "the temporary rule goes on %s" % sig.name, err + out + json.dumps(after))
    signatures_ok("aws allow-my-ip --temporary")

    # SIGKILL cannot be caught: the rule stays until it expires, then any AWS command removes it.
    control("reset", {})
    proc, first = start_temporary("--lifetime", "2s")
    proc.kill()
    proc.communicate(timeout=60)
    tap("198.51.100.7/32" in rules(), "after SIGKILL the temporary rule is still there")
    time.sleep(3)
    res = cli("aws", "bastion", TEAM, "status")
    tap(res.returncode == 0
        and "Removed your expired temporary rule for 198.51.100.7/32" in res.stdout
        and "198.51.100.7/32" not in rules() and "203.0.113.45/32" in rules(),
        "the next AWS command removes the expired rule and says so", res.stdout + res.stderr)

    # A --lifetime that ends while it runs removes the rule itself.
    control("reset", {})
    res = cli("aws", "allow-my-ip", TEAM, "--temporary", "--lifetime", "1s")
    tap(res.returncode == 0 and "end of its lifetime" in res.stdout
        and "198.51.100.7/32" not in rules(), "--lifetime ends the temporary rule",
        res.stdout + res.stderr)

    # --- hostile checkip answers ----------------------------------------------------------------
    for ip in ("0.0.0.0", "255.255.255.255", "127.0.0.1", "10.0.0.8", "192.168.1.1",
               "169.254.169.254", "100.64.1.1", "224.0.0.1"):
        control("reset", {})
        before = rules()
        control("state", {"ip": ip})
        res = cli("aws", "allow-my-ip", TEAM)
        lines = res.stderr.strip().splitlines()
        tap(res.returncode != 0 and len(lines) == 1 and "cannot be one" in lines[0]
            and rules() == before,
            "checkip answering %s is refused and the group is unchanged" % ip,
            res.stdout + res.stderr + json.dumps(rules()))

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

    # A bastion in a private subnet (issue 18): running, no public DNS name.
    control("reset", {})
    instance = control("state")["instances"][0]
    instance.update({"state": "stopped", "transition_polls": 1, "dns": "", "ip": "",
                     "next_dns": "", "next_ip": "", "private_ip": "10.0.3.17"})
    control("state", {"instances": [instance]})
    res = cli("aws", "bastion", TEAM, "start", timeout=60)
    tap(res.returncode == 0 and "i-0bastion000000001 running -" in res.stdout
        and "private address is 10.0.3.17" in res.stdout,
        "a private bastion's start returns once it runs, with its private address",
        res.stdout + res.stderr)

    # Replies nested a million levels deep (issue 25): one clear line, no crash.
    control("reset", {})
    control("state", {"canned": {"DescribeSecurityGroups": {
        "status": 200, "content_type": "text/xml", "body": "<a>", "size": 3000000}}})
    res = cli("aws", "allow-my-ip", TEAM)
    lines = res.stderr.strip().splitlines()
    tap(res.returncode == 1 and len(lines) == 1 and "deeper than 64 levels" in lines[0],
        "1,000,000 nested <a> from DescribeSecurityGroups: a clear error (exit %d)"
        % res.returncode, res.stderr)
    control("reset", {})
    saved = control("state")["secrets"]
    control("state", {"secrets": {"SimpleIOT-db-password": "[" * 1000000 + "]" * 1000000}})
    res = cli("aws", "secret", TEAM)
    lines = res.stderr.strip().splitlines()
    tap(res.returncode == 1 and len(lines) == 1 and "deeper than 64 levels" in lines[0],
        "a SecretString of 1,000,000 nested arrays: a clear error (exit %d)" % res.returncode,
        res.stderr)
    control("state", {"secrets": saved})

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

    finish()


if __name__ == "__main__":
    main()
