"""Helpers for the bastion-cli scripts of this folder: TAP lines, the harness's environment,
running bastion-cli. Import it first: the scripts run as files, so this folder is on sys.path."""

import os
import subprocess
import sys

results = []


def tap(ok, name, detail=""):
    """One TAP line; the detail (on failure) as comment lines."""
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)


def env(name):
    """A variable tests/harness/with-servers exports; bails out without it."""
    value = os.environ.get(name)
    if not value:
        raise SystemExit("Bail out! %s is not set: run under tests/harness/with-servers" % name)
    return value


def cli(*args, stdin=None, timeout=300):
    """bastion-cli with ARGS, text in and out."""
    return subprocess.run([env("BASTION_CLI")] + list(args), input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, text=True)


def one_line_error(res, step):
    """Failed with exactly one line on stderr, under STEP."""
    lines = res.stderr.strip().splitlines()
    return res.returncode != 0 and len(lines) == 1 and \
        lines[0].startswith("bastion-cli: %s: " % step)


def finish():
    """The TAP plan, and the exit status meson reads."""
    print("1..%d" % len(results))
    sys.exit(0 if all(results) else 1)
