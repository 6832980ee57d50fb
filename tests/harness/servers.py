"""Real servers for Bastion's tests and demo: OpenSSH sshd, PostgreSQL, gnome-keyring, Xvfb.

Everything listens on 127.0.0.1 on ports chosen at run time and lives under one temporary
directory that is removed when the stack stops. Used by tests/harness/with-servers and by
tools/run-demo; tests may also import it (tests/harness is put on sys.path).
"""

import getpass
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(SOURCE_ROOT, "tests", "fixtures")
PG_BIN = "/usr/lib/postgresql/15/bin"
SSHD = "/usr/sbin/sshd"


class ServerError(Exception):
    pass


def free_port():
    """A port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=30.0, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError("%s exited with status %d before listening on 127.0.0.1:%d"
                              % (what, proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerError("%s did not listen on 127.0.0.1:%d within %.0f s" % (what, port, timeout))


def run(cmd, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.STDOUT)
    res = subprocess.run(cmd, **kwargs)
    if res.returncode != 0:
        out = res.stdout.decode(errors="replace") if res.stdout else ""
        raise ServerError("%s failed (%d): %s" % (" ".join(cmd), res.returncode, out.strip()))
    return res


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def is_root():
    return os.geteuid() == 0


class Sshd:
    """An OpenSSH sshd with default algorithms, standing in for the team's bastion host.

    Client keys made for the tests: an AWS-style RSA 2048 PEM key (the SimpleIOT .pem), and an
    ed25519 key in OpenSSH format encrypted with a passphrase.
    """

    def __init__(self, root, extra_config=None, password_user=False, extra_host_keys=None):
        self.dir = os.path.join(root, "sshd")
        # More host key types ("dsa"), e.g. for a bastion that offers only a type Bastion refuses.
        self.extra_host_keys = extra_host_keys or []
        # A dedicated local account that logs in with a password (root only; removed on stop).
        self.password_user = password_user
        self.pw_user = None
        self.port = None
        self.proc = None
        self.extra_config = extra_config or []
        self.user = getpass.getuser()
        self.passphrase = "correct horse battery staple"
        # sshd -o options: these win over sshd_config (whose first value of a keyword wins).
        self.extra_args = []

    def _keygen(self, path, kind, bits=None, fmt=None, passphrase=""):
        cmd = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "bastion-test", "-f", path]
        if bits:
            cmd += ["-b", str(bits)]
        if fmt:
            cmd += ["-m", fmt]
        run(cmd)

    def prepare(self):
        os.makedirs(self.dir, mode=0o700)
        for kind in ("ed25519", "ecdsa", "rsa"):
            self._keygen(os.path.join(self.dir, "ssh_host_%s_key" % kind), kind)
        for kind in self.extra_host_keys:
            self._keygen(os.path.join(self.dir, "ssh_host_%s_key" % kind), kind)
        self.rsa_pem_key = os.path.join(self.dir, "simpleiot-bastion-keypair.pem")
        self._keygen(self.rsa_pem_key, "rsa", bits=2048, fmt="PEM")
        self.ed25519_key = os.path.join(self.dir, "id_ed25519_encrypted")
        self._keygen(self.ed25519_key, "ed25519", passphrase=self.passphrase)
        with open(os.path.join(self.dir, "passphrase"), "w") as f:
            f.write(self.passphrase)
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        with open(self.authorized_keys, "w") as out:
            for key in (self.rsa_pem_key, self.ed25519_key):
                with open(key + ".pub") as pub:
                    out.write(pub.read())
        os.chmod(self.authorized_keys, 0o600)
        self.port = free_port()
        self.config = os.path.join(self.dir, "sshd_config")
        lines = [
            "ListenAddress 127.0.0.1",
            "Port %d" % self.port,
            "HostKey %s/ssh_host_ed25519_key" % self.dir,
            "HostKey %s/ssh_host_ecdsa_key" % self.dir,
            "HostKey %s/ssh_host_rsa_key" % self.dir,
        ] + ["HostKey %s/ssh_host_%s_key" % (self.dir, kind) for kind in self.extra_host_keys] + [
            "PidFile %s/sshd.pid" % self.dir,
            "AuthorizedKeysFile %s" % self.authorized_keys,
            # The temporary directory is not laid out as sshd's StrictModes expects of a home.
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AllowTcpForwarding yes",
            "PermitRootLogin prohibit-password",
            "MaxStartups 200:30:400",
            "MaxSessions 200",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
        ]
        # An --sshd-config line replaces the default of its keyword (sshd takes the first one).
        overridden = {line.split()[0].lower() for line in self.extra_config if line.split()}
        lines = [line for line in lines
                 if line.split()[0].lower() not in overridden or line.startswith("HostKey")]
        lines += self.extra_config
        if self.password_user:
            lines += self._add_password_user()
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        # known_hosts lines as OpenSSH writes them for a non-standard port.
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        with open(self.known_hosts, "w") as out:
            for kind in ("ed25519", "ecdsa", "rsa"):
                with open(os.path.join(self.dir, "ssh_host_%s_key.pub" % kind)) as pub:
                    parts = pub.read().split()
                out.write("[127.0.0.1]:%d %s %s\n" % (self.port, parts[0], parts[1]))
        fp = run(["ssh-keygen", "-l", "-E", "sha256", "-f",
                  os.path.join(self.dir, "ssh_host_ed25519_key.pub")]).stdout.decode()
        self.ed25519_fingerprint = fp.split()[1]

    def _add_password_user(self):
        if not is_root():
            raise ServerError("--sshd-password creates a local user account: run as root")
        name = "bastionpw" + secrets.token_hex(3)
        password = "pw-" + secrets.token_hex(12)
        run(["useradd", "--no-create-home", "--home-dir", self.dir, "--shell", "/bin/sh", name])
        self.pw_user = name
        run(["chpasswd"], input=("%s:%s\n" % (name, password)).encode())
        self.pw_file = os.path.join(self.dir, "ssh-password")
        with open(self.pw_file, "w") as f:
            f.write(password)
        os.chmod(self.pw_file, 0o600)
        # Match blocks must come last in sshd_config.
        return ["Match User %s" % name, "    PasswordAuthentication yes"]

    def start(self):
        if not os.path.exists(SSHD):
            raise ServerError("%s is missing: run tools/install-deps" % SSHD)
        if is_root():
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = os.path.join(self.dir, "sshd.log")
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.config] + self.extra_args,
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        try:
            wait_for_port(self.port, self.proc, what="sshd")
        except ServerError as e:
            raise ServerError("%s; log: %s" % (e, self.tail_log()))

    def tail_log(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        stop_process(self.proc)
        self.proc = None
        if self.pw_user is not None:
            subprocess.run(["userdel", self.pw_user], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self.pw_user = None

    def env(self):
        extra = {}
        if self.pw_user is not None:
            extra = {"BASTION_TEST_SSH_PASSWORD_USER": self.pw_user,
                     "BASTION_TEST_SSH_PASSWORD_FILE": self.pw_file}
        return dict(extra, **{
            "BASTION_TEST_SSH_HOST": "127.0.0.1",
            "BASTION_TEST_SSH_PORT": str(self.port),
            "BASTION_TEST_SSH_USER": self.user,
            "BASTION_TEST_SSH_KEY": self.rsa_pem_key,
            "BASTION_TEST_SSH_ED25519_KEY": self.ed25519_key,
            "BASTION_TEST_SSH_PASSPHRASE_FILE": os.path.join(self.dir, "passphrase"),
            "BASTION_TEST_SSH_KNOWN_HOSTS": self.known_hosts,
            "BASTION_TEST_SSH_FINGERPRINT": self.ed25519_fingerprint,
            "BASTION_TEST_SSHD_CONFIG": self.config,
            "BASTION_TEST_SSHD_PID": str(self.proc.pid),
            "BASTION_TEST_SSHD_DIR": self.dir,
        })


class Postgres:
    """PostgreSQL 15 with scram-sha-256 and a SimpleIOT-shaped database `simpleiot`."""

    DB = "simpleiot"
    USER = "dbadmin"

    def __init__(self, root, bulk=False):
        self.dir = os.path.join(root, "postgres")
        self.port = None
        self.proc = None
        self.bulk = bulk
        self.password = "pw-" + secrets.token_hex(12)
        self.as_postgres = is_root()

    def _cmd(self, cmd):
        if self.as_postgres:
            return ["runuser", "-u", "postgres", "--"] + cmd
        return cmd

    def _chown(self, path):
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def prepare(self):
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            raise ServerError("PostgreSQL 15 is missing (%s): run tools/install-deps" % PG_BIN)
        os.makedirs(self.dir, mode=0o700)
        self._chown(self.dir)
        # Let the postgres user reach its directory inside our private temporary tree.
        os.chmod(os.path.dirname(self.dir), 0o711)
        self.data = os.path.join(self.dir, "data")
        pwfile = os.path.join(self.dir, "superuser-pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        self._chown(pwfile)
        run(self._cmd([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                       "--auth=scram-sha-256", "--pwfile", pwfile, "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync"]))
        os.unlink(pwfile)
        self.port = free_port()
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\n")
            f.write("port = %d\n" % self.port)
            f.write("unix_socket_directories = '%s'\n" % self.dir)
            f.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
            f.write("max_connections = 200\n")
            f.write("password_encryption = 'scram-sha-256'\n")
            f.write("log_min_messages = warning\n")

    def start(self):
        self.log = os.path.join(self.dir, "postgres.log")
        logf = open(self.log, "ab")
        self._chown(self.log)
        # Run as postgres directly, not through runuser: runuser does not pass SIGINT on, and
        # stop() must reach the postmaster itself or it outlives the stack.
        kwargs = {}
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            kwargs = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.proc = subprocess.Popen([os.path.join(PG_BIN, "postgres"), "-D", self.data],
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL,
                                     cwd=self.dir, **kwargs)
        logf.close()
        wait_for_port(self.port, self.proc, what="postgres")
        self._wait_ready()

    def _psql_env(self, user="postgres", password=None):
        env = dict(os.environ)
        env["PGPASSWORD"] = password or self.password
        env["PGHOST"] = "127.0.0.1"
        env["PGPORT"] = str(self.port)
        env["PGUSER"] = user
        return env

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            res = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-h", "127.0.0.1",
                                  "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if res.returncode == 0:
                return
            time.sleep(0.1)
        raise ServerError("postgres on 127.0.0.1:%d is not ready" % self.port)

    def psql(self, sql=None, db="postgres", file=None, user="postgres", password=None):
        cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db]
        if file:
            cmd += ["-f", file]
        else:
            cmd += ["-c", sql]
        return run(cmd, env=self._psql_env(user, password)).stdout.decode()

    def load_fixture(self):
        # CREATEROLE, as RDS gives its master user (the read-only login is made with it).
        self.psql("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'" % (self.USER, self.password))
        self.psql("CREATE DATABASE %s OWNER %s" % (self.DB, self.USER))
        files = ["simpleiot-schema.sql", "simpleiot-seed.sql"]
        if self.bulk:
            files.append("simpleiot-bulk.sql")
        for name in files:
            path = os.path.join(FIXTURES, name)
            if os.path.exists(path):
                self.psql(db=self.DB, file=path, user=self.USER)

    def stop(self):
        # SIGINT: fast shutdown.
        stop_process(self.proc, sig=signal.SIGINT)
        self.proc = None

    def env(self):
        pwfile = os.path.join(self.root_dir, "pg-password")
        return {
            "BASTION_TEST_PG_HOST": "127.0.0.1",
            "BASTION_TEST_PG_PORT": str(self.port),
            "BASTION_TEST_PG_USER": self.USER,
            "BASTION_TEST_PG_DB": self.DB,
            "BASTION_TEST_PG_PASSWORD_FILE": pwfile,
            "BASTION_TEST_PG_SOCKET_DIR": self.dir,
            "BASTION_TEST_PG_PID": str(self.proc.pid),
        }


class Keyring:
    """A private session bus with an unlocked gnome-keyring (Secret Service)."""

    PASSWORD = "bastion-test-keyring"

    def __init__(self, root, env):
        self.dir = os.path.join(root, "bus")
        self.env = env
        self.bus_pid = None
        self.keyring_pid = None

    def start(self):
        os.makedirs(self.dir, mode=0o700)
        res = run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1",
                   "--address=unix:path=%s/bus" % self.dir], env=self.env,
                  stderr=subprocess.PIPE)
        lines = res.stdout.decode().split()
        self.address, self.bus_pid = lines[0], int(lines[1])
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        proc = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"],
                              input=self.PASSWORD.encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=self.env)
        if proc.returncode != 0:
            raise ServerError("gnome-keyring-daemon failed: %s" % proc.stderr.decode().strip())
        for line in proc.stdout.decode().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                self.env[k] = v
        # Wait until the Secret Service answers on the bus.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            res = subprocess.run(["dbus-send", "--session", "--print-reply",
                                  "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                                  "org.freedesktop.DBus.GetConnectionUnixProcessID",
                                  "string:org.freedesktop.secrets"],
                                 env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if res.returncode == 0:
                self.keyring_pid = int(res.stdout.decode().split()[-1])
                return
            time.sleep(0.1)
        raise ServerError("gnome-keyring's Secret Service did not appear on the session bus")

    def stop(self):
        for pid in (self.keyring_pid, self.bus_pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


class Xvfb:
    def __init__(self):
        self.proc = None
        self.display = None

    def start(self):
        r, w = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24",
                                      "-nolisten", "tcp", "-noreset"],
                                     pass_fds=(w,), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(w)
        data = b""
        with os.fdopen(r, "rb") as f:
            data = f.readline()
        if not data.strip():
            raise ServerError("Xvfb did not start")
        self.display = ":" + data.decode().strip()

    def stop(self):
        stop_process(self.proc)


class AwsEndpoint:
    """tests/harness/aws_endpoint.py: the AWS APIs Bastion calls (Secrets Manager, EC2) and a
    checkip page, verifying every request's SigV4 signature with botocore.

    The test credentials go into $HOME/.aws/credentials ([default], and [session] with a session
    token) and the region into $HOME/.aws/config, as `aws configure` writes them.
    """

    SCRIPT = os.path.join(HERE, "aws_endpoint.py")
    REGION = "us-west-2"

    def __init__(self, root):
        self.dir = os.path.join(root, "aws")
        self.port = None
        self.proc = None

    def start(self):
        os.makedirs(self.dir, mode=0o700)
        sys.path.insert(0, HERE)
        import aws_endpoint
        self.module = aws_endpoint
        self.port = free_port()
        self.log = os.path.join(self.dir, "aws-endpoint.log")
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(["/usr/bin/python3", self.SCRIPT, "--port", str(self.port),
                                      "--region", self.REGION],
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        wait_for_port(self.port, self.proc, what="the AWS endpoint")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def control(self, path, payload=None):
        import urllib.request
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + "/_control/" + path, data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as reply:
            return json.loads(reply.read() or b"{}")

    def write_aws_files(self, home, profiles=("default",)):
        aws_dir = os.path.join(home, ".aws")
        os.makedirs(aws_dir, mode=0o700, exist_ok=True)
        m = self.module
        with open(os.path.join(aws_dir, "credentials"), "w") as f:
            for name in profiles:
                f.write("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n"
                        % (name, m.TEST_ACCESS_KEY_ID, m.TEST_SECRET_ACCESS_KEY))
            f.write("[session]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    "aws_session_token = %s\n"
                    % (m.TEST_SESSION_ACCESS_KEY_ID, m.TEST_SESSION_SECRET_ACCESS_KEY,
                       m.TEST_SESSION_TOKEN))
        os.chmod(os.path.join(aws_dir, "credentials"), 0o600)
        with open(os.path.join(aws_dir, "config"), "w") as f:
            f.write("[default]\nregion = %s\n" % self.REGION)

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def env(self):
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.REGION,
            "BASTION_CHECKIP_URL": self.url + "/checkip",
            "BASTION_TEST_AWS_URL": self.url,
            "BASTION_TEST_AWS_CONTROL_URL": self.url + "/_control",
            "BASTION_TEST_AWS_PID": str(self.proc.pid),
            "BASTION_TEST_AWS_ACCESS_KEY_ID": self.module.TEST_ACCESS_KEY_ID,
            "BASTION_TEST_AWS_LOG": self.log,
        }


class SsmEndpoint(AwsEndpoint):
    """tests/harness/ssm_endpoint.py: Session Manager's StartSession/TerminateSession (SigV4
    verified as the AWS endpoint does) and the agent's side of the WebSocket data channel,
    forwarding port sessions to the harness's PostgreSQL (issue 21). Needs --aws for ~/.aws."""

    SCRIPT = os.path.join(HERE, "ssm_endpoint.py")

    def __init__(self, root):
        super().__init__(root)
        self.dir = os.path.join(root, "ssm")

    def env(self):
        return {
            "AWS_ENDPOINT_URL_SSM": self.url,
            "BASTION_TEST_SSM_CONTROL_URL": self.url + "/_control",
            "BASTION_TEST_SSM_PID": str(self.proc.pid),
            "BASTION_TEST_SSM_LOG": self.log,
        }


def write_team(simpleiot_dir, name, sshd, pg):
    """A SimpleIOT admin team folder laid out as SimpleIOT writes it, pointing at our servers."""
    team_dir = os.path.join(simpleiot_dir, name)
    certs = os.path.join(team_dir, "certs")
    os.makedirs(certs, exist_ok=True)
    with open(os.path.join(FIXTURES, "simpleiot-config.json")) as f:
        config = json.load(f)
    config["team"] = name
    if sshd is not None:
        config["bastionHostSSHDns"] = "127.0.0.1"
        config["bastionHostSSHIp"] = "127.0.0.1"
        config["bastion_ssh_port"] = sshd.port
        config["bastion_ssh_user"] = sshd.user
        shutil.copy(sshd.rsa_pem_key,
                    os.path.join(certs, config["bastion_ssh_ec2_keypair_filename"]))
        # As SimpleIOT leaves it: readable by others. Bastion offers to fix that.
        os.chmod(os.path.join(certs, config["bastion_ssh_ec2_keypair_filename"]), 0o600)
    if pg is not None:
        # Seen from the bastion, the database is on its loopback.
        config["dbHostname"] = "127.0.0.1"
        config["database_tcp_port"] = pg.port
        config["db_username"] = pg.USER
        config["db_name"] = pg.DB
    config["ssh_db_local_port"] = free_port()
    with open(os.path.join(team_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=4)
    return team_dir


class ServerStack:
    def __init__(self, keep_home=False, demo_home=False, prefix="bastion-test-"):
        """keep_home: HOME and every XDG directory stay the caller's.

        demo_home (tools/run-demo): HOME stays the caller's, for the display session, but
        XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME (Bastion's profiles and known_hosts,
        the keyring files) and BASTION_SIMPLEIOT_DIR point into the stack's directory, so the
        user's own profiles, keyring and ~/.simpleiot are never touched.
        """
        self.root = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.root, 0o700)
        self.env = dict(os.environ)
        self.keep_home = keep_home
        self.demo_home = demo_home
        self.sshd = None
        self.pg = None
        self.keyring = None
        self.xvfb = None

    def _isolate(self):
        home = os.path.join(self.root, "home")
        os.makedirs(home, mode=0o700)
        runtime = os.path.join(self.root, "runtime")
        os.makedirs(runtime, mode=0o700)
        # A relative WAYLAND_DISPLAY names a socket in the caller's XDG_RUNTIME_DIR, which is
        # about to change: keep reaching the same compositor through the absolute path.
        wayland = self.env.get("WAYLAND_DISPLAY")
        if wayland and not os.path.isabs(wayland) and self.env.get("XDG_RUNTIME_DIR"):
            self.env["WAYLAND_DISPLAY"] = os.path.join(self.env["XDG_RUNTIME_DIR"], wayland)
        self.env.update({
            "BASTION_TEST_TMP": self.root,
            "XDG_RUNTIME_DIR": runtime,
            "BASTION_SIMPLEIOT_DIR": os.path.join(home, ".simpleiot"),
        })
        if self.demo_home:
            self.env.update({
                "XDG_CONFIG_HOME": os.path.join(home, ".config"),
                "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
                "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
            })
        elif not self.keep_home:
            self.env.update({
                "HOME": home,
                "XDG_CONFIG_HOME": os.path.join(home, ".config"),
                "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
                "XDG_CACHE_HOME": os.path.join(home, ".cache"),
                "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
            })
        os.makedirs(self.env["BASTION_SIMPLEIOT_DIR"], mode=0o700)
        # Never the user's own session bus (their keyring): a private one, or none at all.
        self.env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=%s/no-bus" % self.root
        for var in ("SSH_AUTH_SOCK", "SSH_AGENT_PID", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PGPASSWORD", "PGSERVICE",
                    "PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
            self.env.pop(var, None)

    def start(self, sshd=False, postgres=False, bulk=False, keyring=False, xvfb=False,
              team=None, sshd_config=None, aws=False, sshd_password=False,
              sshd_host_keys=None, ssm=False):
        self._isolate()
        if sshd:
            self.sshd = Sshd(self.root, sshd_config, password_user=sshd_password,
                             extra_host_keys=sshd_host_keys)
            self.sshd.prepare()
            self.sshd.start()
            self.env.update(self.sshd.env())
        if postgres:
            self.pg = Postgres(self.root, bulk=bulk)
            self.pg.root_dir = self.root
            self.pg.prepare()
            self.pg.start()
            self.pg.load_fixture()
            pwfile = os.path.join(self.root, "pg-password")
            with open(pwfile, "w") as f:
                f.write(self.pg.password)
            os.chmod(pwfile, 0o600)
            self.env.update(self.pg.env())
        if keyring:
            self.keyring = Keyring(self.root, self.env)
            self.keyring.start()
        if xvfb:
            self.xvfb = Xvfb()
            self.xvfb.start()
            self.env["DISPLAY"] = self.xvfb.display
            self.env["GDK_BACKEND"] = "x11"
            self.env["GSK_RENDERER"] = "cairo"
            self.env.pop("WAYLAND_DISPLAY", None)
        if aws:
            self.aws = AwsEndpoint(self.root)
            self.aws.start()
            if self.env["HOME"].startswith(self.root):
                self.aws.write_aws_files(self.env["HOME"])
            else:
                # Never the caller's own ~/.aws: files of our own, named by the variables.
                aws_home = os.path.join(self.root, "aws-home")
                self.aws.write_aws_files(aws_home)
                self.env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(aws_home, ".aws",
                                                                       "credentials")
                self.env["AWS_CONFIG_FILE"] = os.path.join(aws_home, ".aws", "config")
            if self.pg is not None:
                # The secret RDS would keep for this database.
                self.aws.control("state", {"secrets": {"SimpleIOT-db-password": json.dumps({
                    "username": self.pg.USER, "password": self.pg.password,
                    "engine": "postgres", "host": "127.0.0.1", "port": self.pg.port,
                    "dbname": self.pg.DB, "dbInstanceIdentifier": "iot-dev-db"})}})
            self.env.update(self.aws.env())
        if ssm:
            self.ssm = SsmEndpoint(self.root)
            self.ssm.start()
            self.env.update(self.ssm.env())
        if team:
            team_dir = write_team(self.env["BASTION_SIMPLEIOT_DIR"], team, self.sshd, self.pg)
            self.env["BASTION_TEST_TEAM"] = team
            self.env["BASTION_TEST_TEAM_DIR"] = team_dir

    def stop(self):
        for server in (getattr(self, "ssm", None), getattr(self, "aws", None), self.xvfb, self.keyring, self.pg, self.sshd):
            if server is not None:
                try:
                    server.stop()
                except Exception as e:  # keep stopping the others
                    print("with-servers: stopping %s: %s" % (type(server).__name__, e))
        shutil.rmtree(self.root, ignore_errors=True)
