#!/usr/bin/python3
"""The app at start removes the user's expired temporary SSH rules (issue 17), and says so.

Run under: with-servers --xvfb --aws --keyring --team demo -- test-ui-expired-rules.py

The harness's security group gets four rules on port 22: the install IP (no mark), a teammate's
expired temporary Bastion rule, the user's own expired temporary rule and the user's own
temporary rule that has not expired. The real app (BASTION_APP) starts; within 60 s only the
user's expired rule must be gone, and the app's log must name it.
"""

import datetime
import getpass
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

CONTROL = os.environ["BASTION_TEST_AWS_CONTROL_URL"]
APP = os.environ.get("BASTION_APP")
results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).strip().splitlines():
            print("# " + line)
    sys.stdout.flush()


def control(path, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(CONTROL + "/" + path, data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def rules():
    return {r["cidr"]: r["description"] for r in control("state")["security_groups"][0]["rules"]}


def until(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    if not APP:
        print("1..0 # SKIP built without the GUI (BASTION_APP is not set)")
        return 0
    subprocess.run([os.environ["BASTION_CLI"], "import"], check=True, stdout=subprocess.DEVNULL)

    owner = "%s@%s" % (getpass.getuser(), socket.gethostname())
    now = datetime.datetime.now(datetime.timezone.utc)
    group = control("state")["security_groups"][0]
    group["rules"] = [
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": cidr, "description": desc}
        for cidr, desc in [
            ("203.0.113.45/32", "SimpleIOT install IP"),
            ("203.0.113.60/32", "bastion:alice@alice-laptop temporary until 2020-01-01T00:00:00Z"),
            ("203.0.113.70/32", "bastion:%s temporary until %s"
             % (owner, until(now - datetime.timedelta(minutes=5)))),
            ("203.0.113.71/32", "bastion:%s temporary until %s"
             % (owner, until(now + datetime.timedelta(hours=1)))),
        ]]
    control("state", {"security_groups": [group]})

    log_path = os.path.join(os.environ["BASTION_TEST_TMP"], "expired-rules-app.log")
    env = dict(os.environ, G_MESSAGES_DEBUG="")
    with open(log_path, "w") as log:
        app = subprocess.Popen([APP], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(600):
            if "203.0.113.70/32" not in rules() or app.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        now_rules = rules()
    finally:
        app.terminate()
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
    with open(log_path) as f:
        log_text = f.read()

    tap("203.0.113.70/32" not in now_rules, "the user's expired temporary rule is removed at start",
        json.dumps(now_rules))
    tap(set(now_rules) == {"203.0.113.45/32", "203.0.113.60/32", "203.0.113.71/32"},
        "the install IP, the teammate's rule and the unexpired rule stay", json.dumps(now_rules))
    tap("Removed your expired temporary SSH rule for 203.0.113.70/32" in log_text,
        "the app says so", log_text[-2000:])
    state = control("state")
    tap(not state["signature_failures"], "every request correctly signed",
        json.dumps(state["signature_failures"]))

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
