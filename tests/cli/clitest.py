"""Helpers for the bastion-cli scripts of this folder: TAP lines, the harness's environment,
running bastion-cli, the AWS endpoint's control URL. Import it first: the scripts run as files,
so this folder is on sys.path."""

import json
import os
import subprocess
import sys
import urllib.request

results = []


def tap(ok, name, detail=""):
    """One TAP line; the detail (on failure) as comment lines."""
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).strip().splitlines():
            print("# " + line)
    sys.stdout.flush()


def env(name):
    """A variable tests/harness/with-servers exports; bails out without it."""
    value = os.environ.get(name)
    if not value:
        raise SystemExit("Bail out! %s is not set: run under tests/harness/with-servers" % name)
    return value


def cli(*args, stdin=None, timeout=300, extra_env=None):
    """bastion-cli with ARGS, text in and out (no terminal to prompt on). A hang is a failure
    of that step (exit status -1), not the end of the script."""
    try:
        return subprocess.run([env("BASTION_CLI")] + list(args), input=stdin,
                              stdin=subprocess.DEVNULL if stdin is None else None,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              text=True, env=dict(os.environ, **(extra_env or {})))
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, -1, e.stdout or "",
                                           "timed out after %d s" % timeout)


def control(path, payload=None):
    """The local AWS endpoint's control URL: its state read (GET) or changed (POST)."""
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(env("BASTION_TEST_AWS_CONTROL_URL") + "/" + path, data=data,
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def one_line_error(res, step):
    """Failed with exactly one line on stderr, under STEP."""
    lines = res.stderr.strip().splitlines()
    return res.returncode != 0 and len(lines) == 1 and \
        lines[0].startswith("bastion-cli: %s: " % step)


def finish():
    """The TAP plan, and the exit status meson reads."""
    print("1..%d" % len(results))
    sys.exit(0 if all(results) else 1)
