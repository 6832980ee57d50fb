#!/usr/bin/python3
"""SECURITY.md's bad input matrix at the bastion-cli level (TAP on stdout).

Run under: with-servers --aws --team demo -- test-bad-input.py

- SSH peers that are not a working bastion, each a tiny listener in this script: one that closes
  at once, one that sends an SSH greeting and closes, one that closes in the middle of its
  KEXINIT, one that sends binary garbage and keeps the connection open. `bastion-cli hostkey`
  must end (no hang) with one line on stderr that names the step, host:port and what to do.
- AWS: the harness endpoint answers GetSecretValue with 20 MiB, DescribeInstances with an HTML
  page: `bastion-cli aws …` says so in one line.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok:
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
TEAM_DIR = env("BASTION_TEST_TEAM_DIR")
SIMPLEIOT = env("BASTION_SIMPLEIOT_DIR")

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


def control(path, payload):
    req = urllib.request.Request(CONTROL + "/" + path, data=json.dumps(payload).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read() or b"{}")


def cli(*args, timeout=120):
    # The timeout is the "no hang" guard: Bastion must end long before it.
    return subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, universal_newlines=True)


class Peer:
    """Listens on 127.0.0.1; for each connection reads the client's greeting line (unless
    told not to), sends data, then either half-closes (a clean FIN) or holds the connection
    open until the client goes."""

    def __init__(self, data, hold_open=False, read_greeting=True):
        self.data = data
        self.hold_open = hold_open
        self.read_greeting = read_greeting
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        self.done = threading.Event()  # a connection was served to its end
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                try:
                    while self.read_greeting and b"\n" not in self.received:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        self.received += chunk
                    conn.sendall(self.data)
                    if not self.hold_open:
                        conn.shutdown(socket.SHUT_WR)
                    while True:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        self.received += chunk
                except OSError:
                    pass
            self.done.set()

    def close(self):
        self.sock.close()


def write_team(name, port):
    """A copy of the harness team pointing its bastion at 127.0.0.1:port."""
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


def one_line(stderr):
    lines = [line for line in stderr.splitlines() if line.strip()]
    return len(lines) == 1


def main():
    kexinit_start = (BANNER + bytes([0, 0, 0x03, 0xfc, 7, 20]) + b"\x5a" * 16
                     + b"\x00\x00\x00\x30curve25519-sha256,")
    cases = [
        # name, peer, what the message must say
        ("closes-at-once", Peer(b""),
         ["closed the connection without sending an SSH greeting", "Check that port"]),
        ("closes-after-banner", Peer(BANNER),
         ["the server (SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3) closed the connection or sent "
          "data that is not valid SSH during the key exchange", "Try again"]),
        ("closes-mid-kexinit", Peer(kexinit_start),
         ["closed the connection or sent data that is not valid SSH during the key exchange"]),
        ("binary-garbage", Peer(bytes((i * 7) % 256 for i in range(4096)), hold_open=True,
                                read_greeting=False),
         ["the server did not answer as an SSH server does", "Check that port"]),
    ]
    for name, peer, _ in cases:
        write_team("bad-" + name, peer.port)
    res = cli("import")
    tap(res.returncode == 0, "import the teams", res.stderr)

    for name, peer, expected in cases:
        where = "127.0.0.1:%d" % peer.port
        try:
            res = cli("hostkey", "bad-" + name)
        except subprocess.TimeoutExpired:
            tap(False, "%s: bastion-cli hostkey ends by itself" % name)
            continue
        err = res.stderr.strip()
        tap(res.returncode != 0 and res.stdout == "",
            "%s: hostkey fails (exit %d)" % (name, res.returncode), res.stdout + err)
        tap(one_line(err), "%s: one line on stderr" % name, err)
        missing = [s for s in ["SSH handshake with " + where] + expected if s not in err]
        tap(not missing, "%s: names the step, %s and what to do" % (name, where),
            "missing %r in: %s" % (missing, err))
        tap(peer.done.wait(60) and peer.received.startswith(b"SSH-2.0-"),
            "%s: the client did talk SSH" % name, repr(peer.received[:40]))
        print("# " + err)
        peer.close()

    # AWS: a 20 MiB reply and an HTML page.
    control("state", {"canned": {"GetSecretValue": {
        "status": 200, "content_type": "application/x-amz-json-1.1",
        "body": "{\"SecretString\": \"aaaa", "size": 20 * 1024 * 1024, "length": False}}})
    res = cli("aws", "secret", TEAM)
    err = res.stderr.strip()
    tap(res.returncode != 0 and one_line(err)
        and "AWS answered GetSecretValue with a reply larger than 8 MiB, so Bastion stopped "
            "reading it. Check AWS_ENDPOINT_URL if it is set." in err,
        "aws secret: a 20 MiB reply is refused in one line", err)
    print("# " + err)

    control("reset", {})
    control("state", {"canned": {"DescribeInstances": {
        "status": 200, "content_type": "text/html",
        "body": "<!DOCTYPE html><html><body><h1>Welcome to the hotel Wi-Fi</h1></body></html>"}}})
    res = cli("aws", "bastion", TEAM, "status")
    err = res.stderr.strip()
    tap(res.returncode != 0 and one_line(err)
        and "AWS answered DescribeInstances with a reply Bastion cannot read. Check "
            "AWS_ENDPOINT_URL if it is set." in err,
        "aws bastion status: an HTML page is not read as 'no instance'", err)
    print("# " + err)
    control("reset", {})

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
