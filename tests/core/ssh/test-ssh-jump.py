#!/usr/bin/python3
"""ProxyJump (issue 18) through bastion-cli against real sshd instances of its own.

Two sshd: the jump host on 127.0.0.1 and the bastion on 127.0.0.2, where a firewall rule
(nftables, on this port only) rejects every connection that does not come from the jump host's
login (a dedicated local account). So the client cannot reach the bastion directly, the jump
host can forward to it. Checked:

- the direct path is refused; through the jump host a query works and check passes;
- both host keys are checked as their own hosts: an unknown one is not trusted silently (the
  jump host's is named), --accept-new records both, a changed one is refused naming the host;
- a 100 MB echo through `bastion-cli tunnel` comes back intact (sha256), and the tunnel
  reconnects through a new chain when the jump host's session is killed;
- check names the hop that fails when the bastion's sshd is stopped, and when the jump host
  refuses forwarding (AllowTcpForwarding no);
- a chain of two jumps (the jump host twice) and a ProxyJump that comes from an ssh-alias.

Run under: with-servers --as-root --postgres --keyring (root: a local account and a firewall
rule).
"""

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "harness"))

import servers  # noqa: E402

CLI = os.environ["BASTION_CLI"]
ROOT = os.environ["BASTION_TEST_TMP"]
SIMPLEIOT = os.environ["BASTION_SIMPLEIOT_DIR"]
BASTION_ADDR = "127.0.0.2"
# (BASTION_TEST_JUMP_BULK: less, for a run under Valgrind.)
BULK = int(os.environ.get("BASTION_TEST_JUMP_BULK", 100 * 1024 * 1024))

failures = []
n = 0
cleanups = []


def check(name, cond, detail=""):
    global n
    n += 1
    if cond:
        print("ok %d %s" % (n, name))
    else:
        print("not ok %d %s %s" % (n, name, str(detail).replace("\n", " | ")[:3000]))
        failures.append(name)
    sys.stdout.flush()


def cli(*args, timeout=120, env=None):
    return subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=timeout, universal_newlines=True,
                          env=env)


class PgInfo:
    port = int(os.environ["BASTION_TEST_PG_PORT"])
    USER = os.environ["BASTION_TEST_PG_USER"]
    DB = os.environ["BASTION_TEST_PG_DB"]


class JumpUser:
    """A local account for the jump host's logins: the firewall admits its connections."""

    def __init__(self):
        self.name = "bastionjump" + secrets.token_hex(3)
        servers.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent",
                     "--shell", "/bin/sh", self.name])
        # Not locked ("!"), or sshd refuses the account; no password logs in either.
        servers.run(["usermod", "-p", "*", self.name])
        self.uid = int(subprocess.run(["id", "-u", self.name], stdout=subprocess.PIPE,
                                      universal_newlines=True).stdout)

    def pids(self):
        """This account's processes: the jump host's sessions (started by our sshd)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/status" % entry) as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == self.uid:
                                found.append(int(entry))
                            break
            except OSError:
                pass
        return found

    def remove(self):
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["userdel", self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def start_sshd(name, config=(), address="127.0.0.1"):
    """An sshd of the harness's kind; ADDRESS other than 127.0.0.1 is waited for in its log
    (the firewall may reject a probe)."""
    root = os.path.join(ROOT, name)
    os.makedirs(root, mode=0o700)
    sshd = servers.Sshd(root, ["ListenAddress %s" % address] + list(config))
    sshd.prepare()
    if address == "127.0.0.1":
        sshd.start()
    else:
        sshd.log = os.path.join(sshd.dir, "sshd.log")
        restart(sshd, address)
    cleanups.append(sshd.stop)
    return sshd


def restart(sshd, address):
    logf = open(sshd.log, "ab")
    start = os.path.getsize(sshd.log)
    sshd.proc = subprocess.Popen([servers.SSHD, "-D", "-e", "-f", sshd.config],
                                 stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
    logf.close()
    want = "Server listening on %s port %d" % (address, sshd.port)
    for _ in range(400):
        with open(sshd.log, errors="replace") as f:
            f.seek(start)
            if want in f.read():
                return
        if sshd.proc.poll() is not None:
            break
        time.sleep(0.05)
    raise servers.ServerError("sshd on %s:%d did not start: %s"
                              % (address, sshd.port, sshd.tail_log()))


def firewall(port, uid):
    """Only UID's connections reach 127.0.0.2:PORT (a table of our own, removed at the end)."""
    table = "bastion_jump_test_%d" % port
    rules = ("table inet %s {\n"
             "  chain out {\n"
             "    type filter hook output priority 0; policy accept;\n"
             "    ip daddr %s tcp dport %d meta skuid != %d reject with tcp reset\n"
             "  }\n"
             "}\n" % (table, BASTION_ADDR, port, uid))
    subprocess.run(["nft", "-f", "-"], input=rules, universal_newlines=True, check=True)
    cleanups.append(lambda: subprocess.run(["nft", "delete", "table", "inet", table]))


def add_team(name, bastion, db_port=None, pg=True):
    team_dir = servers.write_team(SIMPLEIOT, name, bastion, PgInfo if pg else None)
    path = os.path.join(team_dir, "config.json")
    with open(path) as f:
        config = json.load(f)
    config["bastionHostSSHDns"] = BASTION_ADDR
    config["bastionHostSSHIp"] = BASTION_ADDR
    if db_port is not None:
        config["dbHostname"] = "127.0.0.1"
        config["database_tcp_port"] = db_port
    with open(path, "w") as f:
        json.dump(config, f)
    res = cli("import")
    check("import %s" % name, res.returncode == 0, res.stderr)
    if pg:
        with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
            res = subprocess.run([CLI, "secret", "set", name, "db-password"], stdin=f,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True)
        check("db-password stored for %s" % name, res.returncode == 0, res.stderr)


def query(team, env=None):
    return cli("query", team, "SELECT count(*) FROM device", "--format", "csv", env=env)


def answered(res):
    return res.returncode == 0 and res.stdout.strip().splitlines()[-1:] == ["5"]


def ssh_failures(res):
    """check's failed steps but the AWS ones (this harness has no AWS endpoint)."""
    return [l for l in lines_with(res.stdout, "FAILED") if "AWS" not in l]


def lines_with(text, *words):
    return [l for l in text.splitlines() if all(w in l for w in words)]


def profiles_file():
    return os.path.join(os.environ.get("XDG_CONFIG_HOME",
                                       os.path.join(os.environ["HOME"], ".config")),
                        "bastion", "profiles.json")


def known_hosts_file():
    return os.path.join(os.environ.get("XDG_DATA_HOME",
                                       os.path.join(os.environ["HOME"], ".local", "share")),
                        "bastion", "known_hosts")


def replace_known_key(host_field):
    """Puts another key of the same type in Bastion's known_hosts for HOST_FIELD."""
    path = known_hosts_file()
    with open(path) as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        parts = line.split()
        if parts and parts[0] == host_field:
            kind = {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(parts[1], "ecdsa")
            key = os.path.join(ROOT, "other-key-%s" % secrets.token_hex(4))
            servers.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", key])
            with open(key + ".pub") as pub:
                other = pub.read().split()
            line = "%s %s %s" % (host_field, other[0], other[1])
        out.append(line)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return lines


# ---- The echo server the bulk tunnel reaches ------------------------------------------------

def echo_server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve(conn):
        with conn:
            while True:
                data = conn.recv(262144)
                if not data:
                    break
                conn.sendall(data)

    def loop():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    cleanups.append(srv.close)
    return srv.getsockname()[1]


def echo_through(port, size):
    """Sends SIZE pseudo-random bytes through 127.0.0.1:PORT; the sha256 of what was sent and
    of what came back."""
    sent = hashlib.sha256()
    got = hashlib.sha256()
    received = [0]
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    sock.settimeout(120)

    def reader():
        while received[0] < size:
            data = sock.recv(262144)
            if not data:
                break
            got.update(data)
            received[0] += len(data)

    t = threading.Thread(target=reader)
    t.start()
    block = hashlib.sha256(b"bastion").digest() * 8192      # 256 KiB
    left = size
    i = 0
    while left > 0:
        chunk = bytes((b + i) & 0xFF for b in block[:16]) + block[16:min(len(block), left)]
        chunk = chunk[:left]
        sock.sendall(chunk)
        sent.update(chunk)
        left -= len(chunk)
        i += 1
    sock.shutdown(socket.SHUT_WR)
    t.join(180)
    sock.close()
    return sent.hexdigest(), got.hexdigest(), received[0]


def start_tunnel(team):
    proc = subprocess.Popen([CLI, "tunnel", team, "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            universal_newlines=True)
    line = proc.stdout.readline()
    if not line.startswith("listening 127.0.0.1:"):
        proc.kill()
        return proc, None, proc.stderr.read()
    return proc, int(line.split(":")[-1]), ""


# ---- The tests ------------------------------------------------------------------------------

def main():
    print("# ProxyJump through real sshd instances")
    user = JumpUser()
    cleanups.append(user.remove)
    try:
        run(user)
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as e:  # keep cleaning up
                print("# cleanup: %s" % e)
    print("1..%d" % n)
    return 1 if failures else 0


def jump_config(bastion):
    """The team's key (the bastion sshd's client key) logs in to the jump host too. The key
    file is root's: sshd reads it for the jump account through a command run as root."""
    keys = bastion.authorized_keys
    return ["AuthorizedKeysFile none", "AuthorizedKeysCommand /usr/bin/cat %s" % keys,
            "AuthorizedKeysCommandUser root"]


def run(user):
    bastion = start_sshd("bastion", address=BASTION_ADDR)
    jump = start_sshd("jump", jump_config(bastion))
    firewall(bastion.port, user.uid)
    hop = "%s@127.0.0.1:%d" % (user.name, jump.port)

    try:
        socket.create_connection((BASTION_ADDR, bastion.port), timeout=10).close()
        direct = "connected"
    except ConnectionRefusedError:
        direct = "refused"
    check("the bastion refuses a direct connection", direct == "refused", direct)

    add_team("jumped", bastion)
    res = query("jumped")
    check("without ProxyJump the bastion cannot be reached",
          res.returncode != 0 and "refused the connection" in res.stderr, res.stderr)

    res = cli("profile", "set", "jumped", "proxy-jump", hop)
    check("profile set proxy-jump", res.returncode == 0, res.stderr)

    # Unknown host keys: the jump host's comes first, named, and is not trusted silently.
    res = cli("check", "jumped")
    failed = lines_with(res.stdout, "FAILED", "Verify the host key")
    check("an unknown jump host key fails the host key step, naming the jump host",
          res.returncode != 0 and len(failed) == 1 and "Jump host %s (hop 1 of 1)" % hop in failed[0]
          and "127.0.0.1:%d" % jump.port in failed[0] and "SHA256:" in failed[0]
          and "--accept-new" in failed[0], res.stdout + res.stderr)
    check("nothing was recorded", not os.path.exists(known_hosts_file())
          or "127.0.0.1" not in open(known_hosts_file()).read())

    # hostkey goes through the chain; --trust records the jump host's key, then the bastion's.
    res = cli("hostkey", "jumped")
    check("hostkey stops at the jump host's unknown key, naming it",
          res.returncode != 0 and "Jump host %s (hop 1 of 1)" % hop in res.stderr
          and "not known" in res.stderr and res.stdout == "", res.stdout + res.stderr)
    res = cli("hostkey", "jumped", "--trust")
    check("hostkey --trust records the jump host's key, then reports the bastion's trusted",
          res.returncode == 0 and "Jump host 127.0.0.1:%d: recording its host key SHA256:"
          % jump.port in res.stderr and res.stdout.startswith("SHA256:")
          and res.stdout.strip().endswith(" trusted"), res.stdout + res.stderr)
    with open(known_hosts_file()) as f:
        known = f.read()
    check("hostkey --trust recorded both keys, each as its own host",
          "[127.0.0.1]:%d " % jump.port in known and
          "[%s]:%d " % (BASTION_ADDR, bastion.port) in known, known)
    res = cli("hostkey", "jumped")
    check("hostkey: now trusted", res.returncode == 0 and res.stdout.strip().endswith(" trusted"),
          res.stdout + res.stderr)

    res = cli("check", "jumped", "--accept-new")
    check("check --accept-new passes every step through the jump host",
          not ssh_failures(res) and lines_with(res.stdout, "ok", "Log in to the database"),
          res.stdout + res.stderr)
    with open(known_hosts_file()) as f:
        known = f.read()
    check("both host keys recorded, each as its own host",
          "[127.0.0.1]:%d " % jump.port in known and
          "[%s]:%d " % (BASTION_ADDR, bastion.port) in known, known)

    res = query("jumped")
    check("a query through the jump host", answered(res), res.stdout + res.stderr)
    with open(jump.log, errors="replace") as f:
        log = f.read()
    check("the jump host forwarded to the bastion as the jump account",
          "Accepted publickey for %s" % user.name in log, jump.tail_log())

    # A changed key on hop 2 (the bastion), then on hop 1 (the jump host): refused, named.
    saved = replace_known_key("[%s]:%d" % (BASTION_ADDR, bastion.port))
    res = cli("check", "jumped")
    failed = lines_with(res.stdout, "FAILED", "Verify the host key")
    check("a changed bastion key behind the jump host is refused, naming the bastion",
          res.returncode != 0 and failed and "CHANGED" in failed[0]
          and BASTION_ADDR in failed[0] and "Jump host" not in failed[0],
          res.stdout + res.stderr)
    with open(known_hosts_file(), "w") as f:
        f.write("\n".join(saved) + "\n")
    replace_known_key("[127.0.0.1]:%d" % jump.port)
    res = cli("check", "jumped", "--accept-new")
    failed = lines_with(res.stdout, "FAILED", "Verify the host key")
    check("a changed jump host key is refused (even with --accept-new), naming hop 1",
          res.returncode != 0 and failed and "CHANGED" in failed[0]
          and "Jump host %s (hop 1 of 1)" % hop in failed[0], res.stdout + res.stderr)
    with open(known_hosts_file(), "w") as f:
        f.write("\n".join(saved) + "\n")

    # An unknown bastion key behind a known jump host.
    with open(known_hosts_file(), "w") as f:
        f.write("\n".join(l for l in saved if not l.startswith("[%s]" % BASTION_ADDR)) + "\n")
    res = cli("check", "jumped")
    failed = lines_with(res.stdout, "FAILED", "Verify the host key")
    check("an unknown bastion key behind the jump host is not trusted silently",
          res.returncode != 0 and failed and "not known" in failed[0]
          and "Jump host" not in failed[0], res.stdout + res.stderr)
    res = cli("check", "jumped", "--accept-new")
    check("--accept-new records it", not ssh_failures(res), res.stdout + res.stderr)

    test_chain_and_alias(user, jump, bastion, hop)
    test_bulk_and_reconnect(user, bastion, hop)
    test_refused_forwarding(user, bastion, hop)

    # The bastion's sshd stopped: the jump host cannot reach it, and check says so.
    bastion.stop()
    res = cli("check", "jumped")
    failed = ssh_failures(res)
    check("the bastion stopped: check fails reaching it, naming the jump host",
          res.returncode != 0 and len(failed) == 1 and "Reach port 22" in failed[0]
          and "Jump host %s (hop 1 of 1) cannot reach %s port %d" % (hop, BASTION_ADDR,
                                                                     bastion.port) in failed[0]
          and lines_with(res.stdout, "ok", "Authenticate") == [], res.stdout + res.stderr)


def test_chain_and_alias(user, jump, bastion, hop):
    # Two jumps: the jump host, then through it the jump host again, then the bastion.
    res = cli("profile", "set", "jumped", "proxy-jump", "%s,%s" % (hop, hop))
    res = query("jumped")
    check("a chain of two jump hosts", answered(res), res.stdout + res.stderr)
    res = cli("profile", "set", "jumped", "proxy-jump",
              "%s,%s@127.0.0.1:1" % (hop, user.name))
    res = cli("check", "jumped")
    failed = ssh_failures(res)
    check("hop 1 of 2 names the port it cannot reach",
          failed and "Jump host %s (hop 1 of 2) cannot reach 127.0.0.1 port 1" % hop
          in failed[0], res.stdout + res.stderr)
    res = cli("profile", "set", "jumped", "proxy-jump", ",".join([hop] * 9))
    check("more than 8 hops are refused", res.returncode != 0 and "at most 8" in res.stderr,
          res.stderr)
    res = cli("profile", "set", "jumped", "proxy-jump", "%s,-oProxyCommand=x" % hop)
    check("a hop that looks like an option is refused, named",
          res.returncode != 0 and "hop 2 (“-oProxyCommand=x”)" in res.stderr, res.stderr)
    # The same rule when a connection reads it (an ssh-alias's ProxyJump, an edited file).
    cli("profile", "set", "jumped", "proxy-jump", hop)
    with open(profiles_file()) as f:
        profiles = f.read()
    with open(profiles_file(), "w") as f:
        f.write(profiles.replace('"%s"' % hop, '"%s,-x"' % hop))
    res = query("jumped")
    check("a connection refuses it too, at the first step",
          res.returncode != 0 and "profile:" in res.stderr and "hop 2" in res.stderr,
          res.stderr)
    cli("profile", "set", "jumped", "proxy-jump", hop)

    # ProxyJump from ~/.ssh/config, resolved by ssh -G.
    home = os.environ["HOME"]
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700, exist_ok=True)
    with open(os.path.join(home, ".ssh", "config"), "a") as f:
        f.write("\nHost jumped-bastion\n"
                "    HostName %s\n"
                "    Port %d\n"
                "    User %s\n"
                "    ProxyJump %s\n" % (BASTION_ADDR, bastion.port, bastion.user, hop))
    # A hop that is itself an alias: ssh -G gives its HostName, Port and User.
    with open(os.path.join(home, ".ssh", "config"), "a") as f:
        f.write("\nHost jump-alias\n"
                "    HostName 127.0.0.1\n"
                "    Port %d\n"
                "    User %s\n" % (jump.port, user.name))
    cli("profile", "set", "jumped", "proxy-jump", "jump-alias,jump-alias")
    res = query("jumped")
    check("hops named by ~/.ssh/config aliases", answered(res), res.stdout + res.stderr)
    cli("profile", "set", "jumped", "proxy-jump", "jump-alias:1")
    res = query("jumped")
    check("a port in ProxyJump wins over the alias's, and the hop is named as written",
          res.returncode != 0 and "Jump host jump-alias:1 (hop 1 of 1)" in res.stderr
          and "refused the connection on port 1" in res.stderr, res.stderr)
    cli("profile", "set", "jumped", "proxy-jump", hop)

    add_team("aliasjump", bastion)
    res = cli("profile", "set", "aliasjump", "ssh-alias", "jumped-bastion")
    check("profile set ssh-alias", res.returncode == 0, res.stderr)
    res = cli("profile", "show", "aliasjump")
    # (ssh -G writes the address in brackets: user@[127.0.0.1]:port.)
    check("ssh -G gives the alias's ProxyJump", "ssh-config-proxy-jump: %s@[127.0.0.1]:%d"
          % (user.name, jump.port) in res.stdout, res.stdout)
    res = query("aliasjump")
    check("a query through the alias's ProxyJump", answered(res), res.stdout + res.stderr)


def test_bulk_and_reconnect(user, bastion, hop):
    port = echo_server()
    add_team("jumpbulk", bastion, db_port=port, pg=False)
    cli("profile", "set", "jumpbulk", "proxy-jump", hop)
    proc, local, err = start_tunnel("jumpbulk")
    check("bastion-cli tunnel through the jump host listens", local is not None, err)
    if local is None:
        return
    try:
        started = time.monotonic()
        sent, got, count = echo_through(local, BULK)
        took = time.monotonic() - started
        check("%d MB echoed through the jump host and the bastion come back intact (sha256)"
              % (BULK // 1024 // 1024),
              count == BULK and sent == got, "%d bytes, %s vs %s" % (count, sent, got))
        print("# %d MB each way through 2 SSH hops in %.1f s (%.0f MB/s each way)"
              % (BULK // 1024 // 1024, took, BULK / took / 1e6))

        # The jump host's session dies: the tunnel notices and builds the chain again.
        killed = user.pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        check("the jump host's session processes were there to kill", killed, killed)
        ok = False
        for _ in range(60):
            time.sleep(1)
            try:
                sent, got, count = echo_through(local, 1024 * 1024)
                if count == 1024 * 1024 and sent == got:
                    ok = True
                    break
            except OSError:
                pass
        check("after the jump host's session was killed the tunnel works again", ok)
        check("the tunnel kept running", proc.poll() is None, proc.poll())
        check("... through a new jump host session", [p for p in user.pids()
                                                     if p not in killed], user.pids())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    check("the tunnel exits 0 on SIGINT", proc.returncode == 0, proc.stderr.read())


def test_refused_forwarding(user, bastion, hop):
    closed = start_sshd("jump-noforward", jump_config(bastion) + ["AllowTcpForwarding no"])
    closed_hop = "%s@127.0.0.1:%d" % (user.name, closed.port)
    cli("profile", "set", "jumped", "proxy-jump", closed_hop)
    res = cli("check", "jumped", "--accept-new")
    failed = ssh_failures(res)
    check("a jump host that refuses forwarding: check names it and the fix",
          res.returncode != 0 and len(failed) == 1 and "Reach port 22" in failed[0]
          and "Jump host %s (hop 1 of 1) refused to forward" % closed_hop in failed[0]
          and "AllowTcpForwarding no" in failed[0], res.stdout + res.stderr)
    closed.stop()
    cli("profile", "set", "jumped", "proxy-jump", hop)


if __name__ == "__main__":
    sys.exit(main())
