#!/usr/bin/python3
"""Issue 25, finding 3: every network phase before the login is bounded in time and size.

Run under: with-servers --sshd --postgres --keyring --team demo -- test-hostile-bastion.py   (TAP on stdout)

Tiny "bastions" in this script stream endless text lines instead of an SSH greeting, endless
bytes without a line end, or a real greeting followed by endless SSH_MSG_IGNORE packets during
the key exchange; one drips a line every half second. `bastion-cli hostkey` and `bastion-cli
query` must end with one line on stderr that says what happened, without spinning a CPU (libssh2
used to read such a stream forever: the connect timeout never ran). The limits: 256 KiB before
the login is done, the connect timeout (15 s) in all.
"""

import json
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

results = []


def tap(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name), flush=True)
    if not ok:
        for line in str(detail).strip().splitlines()[:20]:
            print("# " + line)


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit("Bail out! %s is not set: run under tests/harness/with-servers" % name)
    return value


CLI = env("BASTION_CLI")
TEAM_DIR = env("BASTION_TEST_TEAM_DIR")
SIMPLEIOT = env("BASTION_SIMPLEIOT_DIR")
BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


def ignore_packet(size=1000):
    payload = bytes([2]) + struct.pack(">I", size) + b"\x00" * size
    pad = 8 - (5 + len(payload)) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + b"\x00" * pad


class Streamer:
    """Listens on 127.0.0.1; to each connection sends `head` once, then `chunk` again and again
    (pausing `pause` seconds between them) until the client goes."""

    def __init__(self, head, chunk, pause=0.0):
        self.head, self.chunk, self.pause = head, chunk, pause
        self.sent = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._stream, args=(conn,), daemon=True).start()

    def _stream(self, conn):
        with conn:
            try:
                conn.sendall(self.head)
                while True:
                    conn.sendall(self.chunk)
                    self.sent += len(self.chunk)
                    if self.pause:
                        time.sleep(self.pause)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def write_team(name, port):
    team_dir = os.path.join(SIMPLEIOT, name)
    shutil.copytree(TEAM_DIR, team_dir)
    path = os.path.join(team_dir, "config.json")
    with open(path) as f:
        config = json.load(f)
    config["team"] = name
    config["bastionHostSSHDns"] = "127.0.0.1"
    config["bastionHostSSHIp"] = "127.0.0.1"
    config["bastion_ssh_port"] = port
    with open(path, "w") as f:
        json.dump(config, f, indent=4)


def run_cli(*args):
    """Runs bastion-cli; returns (result or None on a hang, CPU seconds it used)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        # A hang detector only: the bounds end each case long before.
        res = subprocess.run([CLI] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=90, universal_newlines=True)
    except subprocess.TimeoutExpired:
        res = None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res, cpu


def main():
    line = b"Welcome to the hotel network. Please accept the terms of use first.\r\n"
    cases = [
        # name, server, what stderr must say
        ("endless-lines", Streamer(b"", line * 512), "sent more than 256 KiB"),
        ("endless-bytes", Streamer(b"", b"A" * 65536), "sent more than 256 KiB"),
        ("endless-kex", Streamer(BANNER, ignore_packet() * 32), "sent more than 256 KiB"),
        ("dripping-lines", Streamer(b"", line, pause=0.5), "did not answer within 15 s"),
    ]
    for name, server, _ in cases:
        write_team("hostile-" + name, server.port)
    res = subprocess.run([CLI, "import"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=120)
    tap(res.returncode == 0, "import the teams", res.stderr)

    for name, server, expected in cases:
        where = "%d" % server.port
        for command in (["hostkey", "hostile-" + name],
                        ["query", "hostile-" + name, "SELECT 1"]):
            label = "%s: bastion-cli %s" % (name, command[0])
            res, cpu = run_cli(*command)
            if res is None:
                tap(False, label + " ends by itself (no hang)", "still running after 90 s")
                continue
            err = res.stderr.strip()
            lines = [x for x in err.splitlines() if x.strip()]
            tap(res.returncode != 0 and res.stdout == "", label + " fails (exit %d)"
                % res.returncode, res.stdout + err)
            tap(len(lines) == 1 and expected in err and where in err,
                label + " says so in one line naming port %s" % where, err)
            # The stream is read and dropped, never spun on: a fraction of a second is spent.
            tap(cpu < 5.0, label + " uses little CPU (%.2f s)" % cpu, "")
            print("# " + err, flush=True)
        server.close()

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
