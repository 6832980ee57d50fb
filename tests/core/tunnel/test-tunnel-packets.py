#!/usr/bin/python3
"""Issue 22: Bastion opens its channels with 128 KiB packets (OpenSSH's sshd otherwise lets its
channel buffer grow 32 KiB at a time, copying all of it each step), and libssh2 accepts them
(our patch 0005; unpatched, the session dies on the first packet over 40,000 bytes).

A relay between `bastion-cli tunnel` and sshd delays each direction by 40 ms (so the receive
window grows past what the kernel's socket buffers hold), parses the server's packet lengths
(AES-GCM sends them in the clear) and, once, stops reading from sshd for half a second: sshd keeps
reading the source into its channel buffer meanwhile, then sends what piled up in packets as
large as the channel allows. 150 MB from a byte source through the tunnel, every byte checked.

Run under: with-servers --sshd --team demo. TAP on stdout.
"""

import collections
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

CLI = os.environ["BASTION_CLI"]
TEAM_DIR = os.environ["BASTION_TEST_TEAM_DIR"]
SSH_PORT = int(os.environ["BASTION_TEST_SSH_PORT"])
SIZE = 150 * 1000 * 1000
DELAY = 0.040
PAUSE_AFTER = 40 * 1000 * 1000
PATTERN = bytes((i * 7 + 3) & 0xFF for i in range(251)) * 8192  # period 251, > 1 MiB + 251
results = []


def tap(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name), flush=True)
    if not ok:
        for line in str(detail).strip().splitlines()[-20:]:
            print("# " + line)


def serve_forever(handle):
    """Listens on 127.0.0.1 and runs HANDLE for each connection, one after another, in a
    thread. Returns the port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def serve():
        while True:
            handle(srv.accept()[0])

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


def source_server():
    def serve(conn):
        pos = 0
        view = memoryview(PATTERN)
        try:
            while pos < SIZE:
                off = pos % 251
                n = min(256 * 1024, SIZE - pos, len(PATTERN) - off)
                conn.sendall(view[off:off + n])
                pos += n
            conn.recv(1)
        except OSError:
            pass
        conn.close()

    return serve_forever(serve)


class PacketLengths:
    """Follows the server's side of an SSH connection: the version line, plaintext packets up
    to its first NEWKEYS, then aes128-gcm@openssh.com packets (length in the clear, then that
    many bytes and a 16-byte tag). Records each encrypted packet's length."""

    def __init__(self):
        self.buf = b""
        self.state = "version"
        self.skip = 0
        self.lengths = collections.Counter()
        self.error = None

    def feed(self, data):
        if self.error:
            return
        if self.skip >= len(data):
            self.skip -= len(data)
            return
        data = self.buf + data[self.skip:]
        self.skip = 0
        pos = 0
        while True:
            if self.state == "version":
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                if data[pos:pos + 4] == b"SSH-":
                    self.state = "plain"
                pos = nl + 1
                continue
            if len(data) - pos < 6:
                break
            length = struct.unpack(">I", data[pos:pos + 4])[0]
            if length > 300000:
                self.error = "a packet length of %d: lost the framing" % length
                return
            if self.state == "plain":
                if len(data) - pos < 4 + length:
                    break
                if data[pos + 5] == 21:  # SSH_MSG_NEWKEYS: the server's next packets use GCM
                    self.state = "gcm"
                pos += 4 + length
                continue
            self.lengths[length] += 1
            total = 4 + length + 16
            if len(data) - pos < total:
                self.skip = total - (len(data) - pos)
                pos = len(data)
                break
            pos += total
        self.buf = data[pos:]


def pipe(src, dst, lengths=None, pause=None):
    """SRC to DST, each chunk DELAY seconds later, in order."""
    q = collections.deque()
    cond = threading.Condition()
    done = [False]

    def reader():
        seen = 0
        while True:
            try:
                data = src.recv(1 << 20)
            except OSError:
                data = b""
            if lengths is not None and data:
                lengths.feed(data)
            with cond:
                if not data:
                    done[0] = True
                else:
                    q.append((time.monotonic() + DELAY, data))
                cond.notify()
            if not data:
                return
            seen += len(data)
            if pause is not None and not pause["done"] and seen >= PAUSE_AFTER:
                pause["done"] = True
                time.sleep(0.5)  # sshd's socket fills; its channel buffer keeps reading

    def writer():
        while True:
            with cond:
                while not q and not done[0]:
                    cond.wait()
                if not q:
                    break
                due, data = q.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                dst.sendall(data)
            except OSError:
                break
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    threading.Thread(target=reader, daemon=True).start()
    threading.Thread(target=writer, daemon=True).start()


def relay(lengths):
    def serve(a):
        b = socket.socket()
        # A small receive buffer: when the relay stops reading, sshd's socket fills soon.
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
        b.connect(("127.0.0.1", SSH_PORT))
        pipe(a, b)
        pipe(b, a, lengths, {"done": False})

    return serve_forever(serve)


def team(relay_port, source_port):
    dst = os.path.join(os.path.dirname(TEAM_DIR), "packets")
    shutil.copytree(TEAM_DIR, dst)
    path = os.path.join(dst, "config.json")
    with open(path) as f:
        config = json.load(f)
    config.update(team="packets", bastion_ssh_port=relay_port, dbHostname="127.0.0.1",
                  database_tcp_port=source_port)
    with open(path, "w") as f:
        json.dump(config, f, indent=4)


def download(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    pos = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while pos < SIZE:
        n = s.recv_into(view)
        if n == 0:
            return pos, "the stream ended early"
        off = pos % 251
        if buf[:n] != PATTERN[off:off + n]:
            return pos, "wrong bytes at %d" % pos
        pos += n
    s.close()
    return pos, None


def main():
    lengths = PacketLengths()
    team(relay(lengths), source_server())
    res = subprocess.run([CLI, "import"], capture_output=True, text=True, timeout=60)
    tap(res.returncode == 0, "import", res.stderr)
    env = dict(os.environ, BASTION_SSH_CIPHERS="aes128-gcm@openssh.com",
               G_MESSAGES_DEBUG="Bastion")
    log = open(os.path.join(os.environ.get("BASTION_TEST_TMP", "/tmp"), "packets.log"), "w+")
    proc = subprocess.Popen([CLI, "tunnel", "packets", "--port", "0", "--accept-new"],
                            stdout=subprocess.PIPE, stderr=log, env=env, text=True)
    try:
        line = proc.stdout.readline()
        ok = line.startswith("listening 127.0.0.1:")
        log.seek(0)
        tap(ok, "the tunnel listens", line + log.read())
        if not ok:
            return 1
        got, error = download(int(line.strip().rsplit(":", 1)[1]))
        log.seek(0)
        tap(error is None and got == SIZE, "150 MB arrive through the tunnel, every byte checked",
            "%s\n%s after %d bytes" % (log.read(), error, got))
        tap(proc.poll() is None, "the tunnel is still up")
        counts = lengths.lengths
        big = sum(n for length, n in counts.items() if length > 40000)
        largest = max(counts) if counts else 0
        print("# the server's packets: %d in all, %d over 40,000 bytes, the largest %d bytes"
              % (sum(counts.values()), big, largest))
        tap(lengths.error is None and sum(counts.values()) > 1000,
            "the relay followed the server's packets", lengths.error or dict(counts))
        # libssh2 upstream refuses inbound packets over 40,000 bytes: these prove the channel
        # was opened with larger packets and that our libssh2 takes them.
        tap(big > 0 and largest <= 128 * 1024 + 64,
            "sshd sent packets over 40,000 bytes, none over 128 KiB of data",
            "largest %d" % largest)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
