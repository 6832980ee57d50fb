#!/usr/bin/python3
"""The second half of tools/run-demo: the demo servers around one run of Bastion.

    demo.py --builddir DIR [--screenshot FILE] [--no-bulk]

Starts the harness's sshd, PostgreSQL (with the bulk tables) and gnome-keyring on a private
session bus, writes the team folder `demo`, imports it when bastion-cli can, launches Bastion
and stops everything when it exits. HOME stays the user's (for the display session); Bastion's
XDG config/data/state, the keyring and BASTION_SIMPLEIOT_DIR live in the demo's directory.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import servers  # noqa: E402

TEAM = "demo"


def say(msg):
    print("run-demo: " + msg, flush=True)


class Interrupted(Exception):
    pass


def cli_commands(cli, env):
    """The command names `bastion-cli --help` lists."""
    try:
        res = subprocess.run([cli, "--help"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    text = res.stdout.decode(errors="replace")
    if "Commands:" in text:
        text = text.split("Commands:", 1)[1]
    return set(re.findall(r"^\s{2,}([a-z][a-z-]*)\b", text, re.MULTILINE))


def set_up_team(cli, stack):
    commands = cli_commands(cli, stack.env)
    if "import" not in commands:
        say("this bastion-cli has no `import` yet: Bastion imports %s itself at start"
            % stack.env["BASTION_TEST_TEAM_DIR"])
        return
    res = subprocess.run([cli, "import"], env=stack.env, stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        say("`bastion-cli import` failed (exit %d); continuing" % res.returncode)
        return
    say("imported the team folder with `bastion-cli import`")
    if "teams" in commands:
        res = subprocess.run([cli, "teams"], env=stack.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in res.stdout.decode(errors="replace").splitlines():
            say("  " + line)
    if "secret" in commands:
        # The database password goes from the harness's file straight into the demo keyring
        # through stdin: it is never printed, nor put in argv or the environment.
        with open(stack.env["BASTION_TEST_PG_PASSWORD_FILE"], "rb") as f:
            res = subprocess.run([cli, "secret", "set", TEAM, "db-password"], env=stack.env,
                                 stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if res.returncode == 0:
            say("stored the demo database password in the demo keyring")
        else:
            say("could not store the database password in the keyring: %s"
                % res.stderr.decode(errors="replace").strip())


def host_key_fingerprints(sshd):
    lines = []
    for kind in ("ed25519", "ecdsa", "rsa"):
        pub = os.path.join(sshd.dir, "ssh_host_%s_key.pub" % kind)
        res = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", pub],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        parts = res.stdout.decode().split()
        if len(parts) >= 4:
            lines.append("%-9s %s" % (parts[-1].strip("()"), parts[1]))
    return lines


def report(stack, app, xvfb):
    sshd, pg = stack.sshd, stack.pg
    print()
    print("  Demo bastion (OpenSSH sshd)  127.0.0.1:%d, user %s" % (sshd.port, sshd.user))
    print("    host key fingerprints, to compare with what Bastion shows:")
    for line in host_key_fingerprints(sshd):
        print("      " + line)
    print("  Demo database (PostgreSQL 15)  127.0.0.1:%d, database %s, user %s"
          % (pg.port, pg.DB, pg.USER))
    print("    seen from the bastion as %s:%d" % ("127.0.0.1", pg.port))
    print("  Keyring  gnome-keyring on the private session bus %s"
          % stack.env["DBUS_SESSION_BUS_ADDRESS"])
    print("  Team folder  %s" % stack.env["BASTION_TEST_TEAM_DIR"])
    print("  Bastion's own config and data  %s, %s"
          % (stack.env["XDG_CONFIG_HOME"], stack.env["XDG_DATA_HOME"]))
    if xvfb:
        print("  Display  private Xvfb %s (no DISPLAY or WAYLAND_DISPLAY here)"
              % stack.env["DISPLAY"])
    print("  Bastion  %s" % app)
    print()
    print("  Everything is stopped and removed when Bastion exits (or on Ctrl+C).")
    print(flush=True)


def stop_app(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def screenshot(proc, env, path):
    """Waits for Bastion's window, saves the screen to PATH, then quits Bastion."""
    try:
        res = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name",
                              "Bastion"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        say("Bastion's window did not appear within 120 s; no screenshot")
        return 1
    if res.returncode != 0 or proc.poll() is not None:
        say("Bastion's window did not appear (exit %s); no screenshot" % proc.poll())
        return 1
    # The window is mapped; give GTK a moment to paint its first frames before the capture.
    time.sleep(2)
    res = subprocess.run(["import", "-window", "root", path], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        say("import failed: %s" % res.stdout.decode(errors="replace").strip())
        return 1
    say("screenshot saved to %s" % path)
    return 0


def main():
    parser = argparse.ArgumentParser(description="Bastion against the local demo servers")
    parser.add_argument("--builddir", required=True)
    parser.add_argument("--screenshot", metavar="FILE")
    parser.add_argument("--no-bulk", action="store_true")
    args = parser.parse_args()

    app = os.path.join(args.builddir, "src", "app", "bastion")
    cli = os.path.join(args.builddir, "src", "cli", "bastion-cli")
    if not os.access(app, os.X_OK):
        say("%s is missing: the build did not produce the app (is the `gui` option off?)" % app)
        return 1

    xvfb = bool(args.screenshot) or not (os.environ.get("DISPLAY")
                                         or os.environ.get("WAYLAND_DISPLAY"))
    stack = servers.ServerStack(demo_home=True, prefix="bastion-demo-")

    def on_signal(signum, _frame):
        raise Interrupted()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    proc = None
    try:
        say("starting the demo bastion, PostgreSQL%s and a private keyring%s…"
            % ("" if args.no_bulk else " (loading 2 million demo rows takes a few seconds)",
               ", on a private Xvfb since there is no display" if xvfb else ""))
        started = time.monotonic()
        try:
            stack.start(sshd=True, postgres=True, bulk=not args.no_bulk, keyring=True,
                        xvfb=xvfb, team=TEAM)
        except servers.ServerError as e:
            say("a demo server could not start: %s" % e)
            return 1
        say("servers ready in %.1f s" % (time.monotonic() - started))
        if os.path.exists(cli):
            set_up_team(cli, stack)
        report(stack, app, xvfb)

        env = dict(stack.env)
        env["GSETTINGS_SCHEMA_DIR"] = os.path.join(args.builddir, "data")
        proc = subprocess.Popen([app], env=env, stdin=subprocess.DEVNULL)
        if args.screenshot:
            rc = screenshot(proc, env, args.screenshot)
            stop_app(proc)
            return rc
        rc = proc.wait()
        say("Bastion exited (status %d); stopping the demo servers" % rc)
        return 0
    except (Interrupted, KeyboardInterrupt):
        say("interrupted; stopping Bastion and the demo servers")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if proc is not None:
            stop_app(proc)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
