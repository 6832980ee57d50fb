#!/usr/bin/python3
"""Real-world SSH (issue 18) through bastion-cli against real sshd instances of its own.

- the client's KEXINIT, as sshd logs it at DEBUG3, offers none of the SHA-1 key exchanges,
  ssh-dss or hmac-sha1;
- a server offering only sntrup761x25519-sha512@openssh.com gets "no common algorithm";
- a real ssh-agent holding the team's key logs in with the .pem removed, and says so;
- on a terminal (a pseudo-terminal), bastion-cli asks for the SSH password (password-only
  sshd) and the keyboard-interactive answer (PAM sshd) without echo; without a terminal it
  says how to store the secret;
- `bastion-cli profile set TEAM auth …` switches a team's authentication.

Run under: with-servers --as-root --sshd --postgres --keyring --team demo (root: a local account
that logs in with a password, and PAM).
"""

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "harness"))

import servers  # noqa: E402

CLI = os.environ["BASTION_CLI"]
ROOT = os.environ["BASTION_TEST_TMP"]
SIMPLEIOT = os.environ["BASTION_SIMPLEIOT_DIR"]
REMOVED = ("diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
           "diffie-hellman-group-exchange-sha1", "ssh-dss", "hmac-sha1")

failures = []
n = 0
started = []


def check(name, cond, detail=""):
    global n
    n += 1
    if cond:
        print("ok %d %s" % (n, name))
    else:
        print("not ok %d %s %s" % (n, name, str(detail).replace("\n", " | ")[:2000]))
        failures.append(name)
    sys.stdout.flush()


def cli(*args, timeout=90, env=None, stdin=subprocess.DEVNULL):
    return subprocess.run([CLI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=stdin, timeout=timeout, universal_newlines=True, env=env)


def start_sshd(name, config=(), args=(), password_user=False):
    sshd = servers.Sshd(os.path.join(ROOT, name), list(config), password_user=password_user)
    os.makedirs(os.path.join(ROOT, name), mode=0o700)
    sshd.extra_args = list(args)
    sshd.prepare()
    sshd.start()
    started.append(sshd)
    return sshd


def add_team(name, sshd, user=None, pg=None):
    """A SimpleIOT team folder for SSHD (and PG), imported."""
    team_dir = servers.write_team(SIMPLEIOT, name, sshd, pg)
    if user is not None:
        path = os.path.join(team_dir, "config.json")
        with open(path) as f:
            config = json.load(f)
        config["bastion_ssh_user"] = user
        with open(path, "w") as f:
            json.dump(config, f)
    res = cli("import")
    check("import %s" % name, res.returncode == 0, res.stderr)
    return team_dir


def kexinit_lines(log):
    """The lists of the client's KEXINIT proposal as sshd logs them at DEBUG2/3."""
    with open(log, errors="replace") as f:
        text = f.read().splitlines()
    for i, line in enumerate(text):
        if "peer client KEXINIT proposal" in line:
            return text[i + 1:i + 12]
    return []


def test_algorithms():
    sshd = start_sshd("sshd-debug", args=["-o", "LogLevel=DEBUG3"])
    add_team("algo", sshd)
    res = cli("hostkey", "algo", "--trust")
    check("hostkey through the DEBUG3 sshd", res.returncode == 0, res.stdout + res.stderr)
    lines = kexinit_lines(sshd.log)
    check("sshd logged the client's KEXINIT", any("KEX algorithms:" in l for l in lines),
          sshd.tail_log(40))
    offered = set()
    for line in lines:
        if ":" in line:
            values = line.split(":", 2)[-1].strip()
            offered.update(v for v in values.split(",") if v)
    kex = [l for l in lines if "KEX algorithms:" in l]
    check("the offer still has curve25519-sha256 and strict kex",
          kex and "curve25519-sha256" in kex[0] and "kex-strict-c-v00@openssh.com" in kex[0],
          kex)
    bad = [a for a in REMOVED if a in offered]
    check("no SHA-1 key exchange, ssh-dss or hmac-sha1 offered", not bad and offered,
          "offered %s" % sorted(bad))

    pq = start_sshd("sshd-pq", args=["-o", "KexAlgorithms=sntrup761x25519-sha512@openssh.com"])
    add_team("pq", pq)
    res = cli("hostkey", "pq")
    check("post-quantum-only server: no common algorithm",
          res.returncode != 0 and "offers no key exchange" in res.stderr
          and "curve25519-sha256" in res.stderr, res.stderr)


def start_agent():
    sock = os.path.join(ROOT, "agent.sock")
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(400):
        if os.path.exists(sock):
            break
        time.sleep(0.025)
    return proc, sock


def store_db_password(team):
    with open(os.environ["BASTION_TEST_PG_PASSWORD_FILE"]) as f:
        res = cli("secret", "set", team, "db-password", stdin=f)
    check("db-password stored for %s" % team, res.returncode == 0, res.stderr)


def test_agent():
    """The team's .pem removed, a real ssh-agent holding that key: the login goes through it."""
    team = os.environ["BASTION_TEST_TEAM"]
    team_dir = os.environ["BASTION_TEST_TEAM_DIR"]
    res = cli("import")
    check("import the demo team", res.returncode == 0, res.stderr)
    store_db_password(team)
    pem = [os.path.join(team_dir, "certs", f) for f in os.listdir(os.path.join(team_dir, "certs"))
           if f.endswith(".pem")][0]
    agent, sock = start_agent()
    try:
        env = dict(os.environ, SSH_AUTH_SOCK=sock)
        add = subprocess.run(["ssh-add", "-q", pem], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True)
        check("ssh-add the team's key", add.returncode == 0, add.stdout)
        os.rename(pem, pem + ".moved-away")

        res = cli("check", team, "--accept-new", env=env)
        lines = [l for l in res.stdout.splitlines() if "through the SSH agent" in l]
        # (The AWS steps fail here: this harness has no AWS endpoint.)
        check("check logs in through the agent with the .pem removed",
              len(lines) == 1 and lines[0].startswith("ok") and "Authenticate" in lines[0]
              and any(l.startswith("ok") and "Log in to the database" in l
                      for l in res.stdout.splitlines()), res.stdout + res.stderr)
        check("the key file is only a warning while the agent is there",
              any(l.startswith("warning") and "Key file" in l for l in res.stdout.splitlines()),
              res.stdout)

        res = cli("query", team, "SELECT count(*) FROM device", "--format", "csv", env=env)
        check("a query through a tunnel the agent opened", res.returncode == 0
              and res.stdout.strip().splitlines()[-1] == "5", res.stdout + res.stderr)

        # Without the agent the missing key file is the answer.
        env_no = dict(os.environ)
        env_no.pop("SSH_AUTH_SOCK", None)
        res = cli("check", team, env=env_no)
        check("without the agent: the missing key file fails the check",
              res.returncode != 0 and ".pem" in res.stdout, res.stdout + res.stderr)

        # The agent emptied: it is tried, then the key file's problem is reported.
        subprocess.run(["ssh-add", "-D"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        res = cli("check", team, env=env)
        check("an empty agent: the key file's problem is reported",
              res.returncode != 0 and "FAILED" in res.stdout and ".pem" in res.stdout,
              res.stdout + res.stderr)
    finally:
        if os.path.exists(pem + ".moved-away"):
            os.rename(pem + ".moved-away", pem)
        agent.terminate()
        agent.wait()


class PgInfo:
    """The harness's PostgreSQL as write_team() wants it."""
    port = int(os.environ["BASTION_TEST_PG_PORT"])
    USER = os.environ["BASTION_TEST_PG_USER"]
    DB = os.environ["BASTION_TEST_PG_DB"]


def run_on_pty(args, answers, env=None, timeout=90):
    """Runs bastion-cli ARGS on a pseudo-terminal; ANSWERS: [(prompt text, reply)] in order.
    Returns (status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(CLI, [CLI] + list(args), env if env is not None else dict(os.environ))
        finally:
            os._exit(127)
    out = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1.0)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if pending and pending[0][0].encode() in out.split(b"\x00")[-1]:
            prompt, reply = pending.pop(0)
            # Only what follows this prompt counts for the next one.
            out += b"\x00"
            os.write(fd, (reply + "\n").encode())
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = out.replace(b"\x00", b"").decode(errors="replace")
    return os.waitstatus_to_exitcode(status), text


def password_team(name, sshd):
    add_team(name, sshd, user=sshd.pw_user, pg=PgInfo)
    res = cli("profile", "set", name, "auth", "password")
    check("profile set %s auth password" % name, res.returncode == 0
          and "auth: password" in res.stdout, res.stdout + res.stderr)
    res = cli("teams", "--json")
    check("profiles.json keeps it", res.returncode == 0 and
          [p for p in json.loads(res.stdout) if name in (p.get("id"), p.get("display-name"), p.get("team"))][0]["auth-method"] == "password",
          res.stdout)
    res = cli("hostkey", name, "--trust")
    check("trust %s's host key" % name, res.returncode == 0, res.stderr)
    store_db_password(name)
    with open(sshd.pw_file) as f:
        return f.read().strip()


def team_id(name):
    res = cli("teams", "--json")
    return [p for p in json.loads(res.stdout)
            if name in (p.get("id"), p.get("display-name"), p.get("team"))][0]["id"]


def query_args(team):
    return ["query", team, "SELECT count(*) FROM device", "--format", "csv"]


def test_password_prompt():
    sshd = start_sshd("sshd-password", password_user=True)
    password = password_team("pwonly", sshd)

    status, text = run_on_pty(query_args("pwonly"),
                              [("SSH password for", "wrong-" + password),
                               ("Store it in the keyring", "y"),
                               ("SSH password for", password),
                               ("Store it in the keyring", "y")])
    check("password-only sshd: asked on the terminal, the answer logs in",
          status == 0 and text.strip().splitlines()[-1].strip() == "5", text)
    check("a wrong answer is asked again", "Permission denied, please try again." in text, text)
    check("the password is not echoed", password not in text)
    with open(sshd.log, errors="replace") as f:
        log = f.read()
    check("sshd saw a password login", "Accepted password for %s" % sshd.pw_user in log,
          sshd.tail_log())

    res = cli("secret", "print", "pwonly", "ssh-password")
    check("the answer was stored in the keyring when asked to",
          res.returncode == 0 and res.stdout.strip() == password, res.stderr)
    res = cli(*query_args("pwonly"))
    check("next time, no terminal needed", res.returncode == 0, res.stderr)

    res = cli("secret", "clear", "pwonly", "ssh-password")
    check("secret clear", res.returncode == 0, res.stderr)
    res = cli(*query_args("pwonly"))
    check("without a terminal: fails saying how to store the password",
          res.returncode != 0 and "no terminal" in res.stderr
          and "bastion-cli secret set %s ssh-password" % team_id("pwonly") in res.stderr
          and len(res.stderr.strip().splitlines()) == 1, res.stderr)


def test_kbdint_prompt():
    sshd = servers.Sshd(os.path.join(ROOT, "sshd-pam"), [], password_user=True)
    os.makedirs(sshd.dir.rsplit("/", 1)[0], mode=0o700)
    sshd.extra_args = ["-o", "UsePAM=yes", "-o", "KbdInteractiveAuthentication=yes"]
    sshd.prepare()
    # Keyboard-interactive (PAM) only: no plain password method for that account.
    with open(sshd.config) as f:
        config = f.read().replace("    PasswordAuthentication yes",
                                  "    PasswordAuthentication no")
    with open(sshd.config, "w") as f:
        f.write(config)
    sshd.start()
    started.append(sshd)
    password = password_team("kbdint", sshd)

    status, text = run_on_pty(query_args("kbdint"),
                              [("SSH password for", password),
                               ("Store it in the keyring", "n")])
    check("keyboard-interactive (PAM) sshd: asked on the terminal, the answer logs in",
          status == 0 and text.strip().splitlines()[-1].strip() == "5", text)
    check("the answer is not echoed", password not in text)
    with open(sshd.log, errors="replace") as f:
        log = f.read()
    check("sshd saw a keyboard-interactive/pam login",
          "Accepted keyboard-interactive/pam for %s" % sshd.pw_user in log, sshd.tail_log())
    res = cli("secret", "print", "kbdint", "ssh-password")
    check("not stored when the answer was no", res.returncode != 0 or res.stdout.strip() == "",
          res.stdout)


class FakeSshd:
    """Where write_team() points a team: a port nothing listens on, so only the alias works."""
    port = 1
    user = "nobody-here"
    rsa_pem_key = os.environ["BASTION_TEST_SSH_KEY"]


def test_ssh_alias():
    home = os.environ["HOME"]
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700, exist_ok=True)
    with open(os.path.join(home, ".ssh", "config"), "w") as f:
        f.write("Host demo-bastion\n"
                "    HostName %s\n"
                "    Port %s\n"
                "    User %s\n"
                "    UserKnownHostsFile %s\n"
                "Host demo-only\n"
                "    IdentitiesOnly yes\n"
                "Host demo-bastion demo-only\n"
                "    HostName %s\n"
                "    Port %s\n"
                "    User %s\n"
                "    UserKnownHostsFile %s\n"
                "Host jumpy\n"
                "    HostName 127.0.0.1\n"
                "    ProxyJump hop1,hop2:2222\n"
                % ((os.environ["BASTION_TEST_SSH_HOST"], os.environ["BASTION_TEST_SSH_PORT"],
                    os.environ["BASTION_TEST_SSH_USER"], os.environ["BASTION_TEST_SSH_KNOWN_HOSTS"])
                   * 2))
    add_team("aliased", FakeSshd, pg=PgInfo)
    store_db_password("aliased")

    res = cli(*query_args("aliased"))
    check("without the alias the team's own (wrong) port fails", res.returncode != 0, res.stderr)

    res = cli("profile", "set", "aliased", "ssh-alias", "demo-bastion")
    check("profile set ssh-alias", res.returncode == 0, res.stderr)
    res = cli("profile", "show", "aliased")
    want = "ssh-config: %s@%s:%s" % (os.environ["BASTION_TEST_SSH_USER"],
                                      os.environ["BASTION_TEST_SSH_HOST"],
                                      os.environ["BASTION_TEST_SSH_PORT"])
    check("profile show prints what ~/.ssh/config resolves to", want in res.stdout.splitlines()
          and "ssh-config-known-hosts: %s" % os.environ["BASTION_TEST_SSH_KNOWN_HOSTS"]
          in res.stdout, res.stdout + res.stderr)

    # Host, port and user from the alias; the host key known from its UserKnownHostsFile
    # (no --accept-new, nothing trusted before).
    res = cli(*query_args("aliased"))
    check("the alias's HostName, Port, User and UserKnownHostsFile are applied",
          res.returncode == 0 and res.stdout.strip().splitlines()[-1] == "5",
          res.stdout + res.stderr)

    # IdentitiesOnly: an agent holding the key is not used for a key it cannot match (a PEM
    # key's public half is not in the file): the key file logs in.
    agent, sock = start_agent()
    try:
        env = dict(os.environ, SSH_AUTH_SOCK=sock)
        subprocess.run(["ssh-add", "-q", os.environ["BASTION_TEST_SSH_KEY"]], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        res = cli("check", "aliased", env=env)
        check("without IdentitiesOnly the agent logs in",
              "Authenticate: through the SSH agent" in res.stdout, res.stdout)
        cli("profile", "set", "aliased", "ssh-alias", "demo-only")
        res = cli("check", "aliased", env=env)
        check("with IdentitiesOnly the key file logs in, not the agent",
              "Authenticate: through the key file" in res.stdout, res.stdout)
    finally:
        agent.terminate()
        agent.wait()

    res = cli("profile", "set", "aliased", "ssh-alias", "jumpy")
    res = cli("profile", "show", "aliased")
    check("ProxyJump is stored and shown", "ssh-config-proxy-jump: hop1,hop2:2222"
          in res.stdout, res.stdout)
    res = cli(*query_args("aliased"))
    check("a ProxyJump alias fails clearly (not silently direct)",
          res.returncode != 0 and "ProxyJump hop1,hop2:2222" in res.stderr, res.stderr)

    res = cli("profile", "set", "aliased", "ssh-alias", "-oProxyCommand=x")
    check("an alias that looks like an option is refused", res.returncode != 0, res.stderr)
    res = cli("profile", "set", "aliased", "proxy-jump", "a@b:2,c")
    res2 = cli("profile", "show", "aliased")
    check("profile set proxy-jump is stored", res.returncode == 0
          and "proxy-jump: a@b:2,c" in res2.stdout, res.stderr + res2.stdout)


class HarnessSshd:
    port = int(os.environ["BASTION_TEST_SSH_PORT"])
    user = os.environ["BASTION_TEST_SSH_USER"]
    rsa_pem_key = os.environ["BASTION_TEST_SSH_KEY"]


def test_encrypted_key():
    """An encrypted ed25519 key: the agent holding it logs in without the passphrase; without
    an agent the terminal is asked for it."""
    key = os.environ["BASTION_TEST_SSH_ED25519_KEY"]
    with open(os.environ["BASTION_TEST_SSH_PASSPHRASE_FILE"]) as f:
        passphrase = f.read().strip()
    add_team("enc", HarnessSshd, pg=PgInfo)
    res = cli("profile", "set", "enc", "auth", "key", "--key-file", key)
    check("profile set enc auth key --key-file", res.returncode == 0
          and "key-file: %s" % key in res.stdout, res.stdout + res.stderr)
    cli("hostkey", "enc", "--trust")
    store_db_password("enc")

    agent, sock = start_agent()
    try:
        env = dict(os.environ, SSH_AUTH_SOCK=sock)
        askpass = os.path.join(ROOT, "askpass.sh")
        with open(askpass, "w") as f:
            f.write("#!/bin/sh\ncat '%s'\n" % os.environ["BASTION_TEST_SSH_PASSPHRASE_FILE"])
        os.chmod(askpass, 0o700)
        add = subprocess.run(["ssh-add", "-q", key], env=dict(env, SSH_ASKPASS=askpass,
                                                              SSH_ASKPASS_REQUIRE="force"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True)
        check("ssh-add the encrypted key", add.returncode == 0, add.stdout)
        res = cli("check", "enc", env=env)
        check("an agent holding the encrypted key: no passphrase asked or stored",
              any(l.startswith("ok") and "Authenticate: through the SSH agent" in l
                  for l in res.stdout.splitlines()), res.stdout + res.stderr)
    finally:
        agent.terminate()
        agent.wait()

    env = dict(os.environ)
    env.pop("SSH_AUTH_SOCK", None)
    res = cli(*query_args("enc"), env=env)
    check("no agent, no terminal: says how to store the passphrase",
          res.returncode != 0 and "secret set %s key-passphrase" % team_id("enc") in res.stderr,
          res.stderr)
    status, text = run_on_pty(query_args("enc"), [("Passphrase for the key", passphrase),
                                                 ("Store it in the keyring", "n")], env=env)
    check("no agent, a terminal: the passphrase is asked for and logs in",
          status == 0 and text.strip().splitlines()[-1].strip() == "5"
          and passphrase not in text, text)


def main():
    print("# bastion-cli against real sshd instances")
    try:
        test_algorithms()
        test_agent()
        test_password_prompt()
        test_kbdint_prompt()
        test_ssh_alias()
        test_encrypted_key()
    finally:
        for sshd in started:
            sshd.stop()
    print("1..%d" % n)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
