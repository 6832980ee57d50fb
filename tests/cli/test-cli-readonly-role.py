#!/usr/bin/python3
"""Issue 17: the team's read-only login. `bastion-cli readonly-role TEAM create` (the consent)
makes a role that can only read: LOGIN, pg_read_all_data, default_transaction_read_only = on,
owning nothing, its generated password only in the keyring (not in profiles.json, an argv, an
environment or a file left behind). psql launched by Bastion for the read-only profile logs in
as it and cannot write even after BEGIN READ WRITE (the server: permission denied); `query`
reads as it; `query --write` writes as the admin role; rotate and drop work.

Run under tests/harness/with-servers --sshd --postgres --keyring --aws --team demo. TAP output.
"""

import json
import os
import signal
import subprocess
import tempfile
import time

from clitest import cli, env, finish, tap

ROLE = "bastion_readonly"
CLI = env("BASTION_CLI")
TEAM = env("BASTION_TEST_TEAM")
DB = env("BASTION_TEST_PG_DB")
ADMIN = env("BASTION_TEST_PG_USER")
with open(env("BASTION_TEST_PG_PASSWORD_FILE")) as f:
    PG_PASSWORD = f.read().strip()


def psql(sql, user="postgres", password=PG_PASSWORD, db=DB, check=True):
    pg_env = dict(os.environ, PGPASSWORD=password, PGHOST=env("BASTION_TEST_PG_HOST"),
                  PGPORT=env("BASTION_TEST_PG_PORT"), PGUSER=user, PGDATABASE=db)
    res = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-c", sql], env=pg_env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if check and res.returncode != 0:
        raise RuntimeError("psql %r: %s" % (sql, res.stderr))
    return res if not check else res.stdout.strip()


def files_holding(secret, roots, skip=()):
    found = []
    for root in roots:
        for d, _, names in os.walk(root):
            if any(d.startswith(s) for s in skip):
                continue
            for n in names:
                path = os.path.join(d, n)
                try:
                    with open(path, "rb") as f:
                        if secret.encode() in f.read():
                            found.append(path)
                except OSError:
                    pass
    return found


def launch_psql(script):
    """`bastion-cli launch TEAM psql` in the recording terminal, psql reading @script; returns
    (the launch process, the record folder, psql's output)."""
    tmp = tempfile.mkdtemp(dir=env("BASTION_TEST_TMP"))
    os.mkdir(os.path.join(tmp, "bin"))
    os.mkdir(os.path.join(tmp, "records"))
    os.symlink(os.path.join(env("G_TEST_SRCDIR"), "fixtures", "launcher", "recorder"),
               os.path.join(tmp, "bin", "xdg-terminal-exec"))
    with open(os.path.join(tmp, "in.sql"), "w") as f:
        f.write(script)
    launch_env = dict(os.environ, PATH=os.path.join(tmp, "bin") + ":/usr/bin:/bin",
                      BASTION_RECORDER_DIR=os.path.join(tmp, "records"),
                      BASTION_RECORDER_EXEC="1",
                      BASTION_RECORDER_STDIN=os.path.join(tmp, "in.sql"))
    proc = subprocess.Popen([CLI, "launch", TEAM, "psql"], env=launch_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    record = os.path.join(tmp, "records", "000-xdg-terminal-exec")
    output_file = os.path.join(record, "output.txt")
    for _ in range(300):
        if os.path.exists(os.path.join(record, "record.json")) and os.path.exists(output_file):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    try:
        with open(output_file) as f:
            output = f.read()
    except OSError:
        output = ""
    return proc, tmp, output


res = cli("import")
tap(res.returncode == 0, "import the demo team", res.stderr)
res = cli("secret", "set", TEAM, "db-password", stdin=PG_PASSWORD + "\n")
tap(res.returncode == 0, "store the DB password in the keyring", res.stderr)
res = cli("query", TEAM, "select current_user", "--accept-new", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "current_user\n%s\n" % ADMIN,
    "before: a read-only profile reads as the admin role", res.stdout + res.stderr)
DATA_BEFORE = psql("select count(*) || '/' || md5(string_agg(d::text, ',' order by d::text)) "
                   "from data d")

# Created on consent: the command itself is the consent.
res = cli("readonly-role", TEAM, "create")
tap(res.returncode == 0 and ROLE in res.stdout and "keyring" in res.stdout,
    "readonly-role create", res.stdout + res.stderr)
role = psql("select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, "
            "rolbypassrls from pg_roles where rolname = '%s'" % ROLE)
tap(role == "t|f|f|f|f|f", "the role logs in and has no special power", role)
tap(psql("select pg_has_role('%s', 'pg_read_all_data', 'member')" % ROLE) == "t",
    "it is a member of pg_read_all_data")
setting = psql("select array_to_string(setconfig, ',') from pg_db_role_setting s join pg_roles r "
               "on r.oid = s.setrole where r.rolname = '%s'" % ROLE, db="postgres")
tap(setting == "default_transaction_read_only=on", "default_transaction_read_only = on on the role",
    setting)
owned = psql("select (select count(*) from pg_class where relowner = r.oid) + "
             "(select count(*) from pg_namespace where nspowner = r.oid) + "
             "(select count(*) from pg_proc where proowner = r.oid) + "
             "(select count(*) from pg_largeobject_metadata where lomowner = r.oid) + "
             "(select count(*) from pg_database where datdba = r.oid) "
             "from pg_roles r where r.rolname = '%s'" % ROLE)
tap(owned == "0", "it owns nothing", owned)

res = cli("secret", "print", TEAM, "readonly-password")
PASSWORD = res.stdout.strip()
tap(res.returncode == 0 and len(PASSWORD) >= 40, "its password is in the keyring (%d characters)"
    % len(PASSWORD), res.stderr)
direct = psql("select current_user", user=ROLE, password=PASSWORD, check=False)
tap(direct.returncode == 0 and direct.stdout.strip() == ROLE, "and it logs in with it",
    direct.stderr)

# Query reads as the role; the server holds it to reading even when asked to write.
res = cli("query", TEAM, "select current_user", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "current_user\n%s\n" % ROLE,
    "query logs in as the read-only role", res.stdout + res.stderr)

# psql launched by Bastion: the role, and permission denied even after BEGIN READ WRITE.
SCRIPT = ("\\pset format unaligned\n\\pset tuples_only on\n"
          "select 'user=' || current_user;\n"
          "begin read write;\ndelete from data;\nrollback;\n"
          "set default_transaction_read_only = off;\n"
          "begin read write;\nupdate device set name = name;\ncommit;\n"
          "select 'lo=' || count(*) from pg_largeobject_metadata;\n")
proc, tmp, output = launch_psql(SCRIPT)
tap("user=%s" % ROLE in output, "launched psql logs in as the read-only role", output)
tap(output.count("permission denied for table") == 2,
    "BEGIN READ WRITE; DELETE and UPDATE: permission denied", output)
tap(psql("select count(*) || '/' || md5(string_agg(d::text, ',' order by d::text)) from data d")
    == DATA_BEFORE, "the data is unchanged")
record_file = os.path.join(tmp, "records", "000-xdg-terminal-exec", "record.json")
try:
    with open(record_file) as f:
        record = json.load(f)
except (OSError, ValueError):
    record = {}
flat = json.dumps({"argv": record.get("argv"), "env": record.get("env")})
tap(record and PASSWORD not in flat and "PGPASSWORD" not in flat,
    "the password is not in psql's argv or environment", flat[:500])
proc.send_signal(signal.SIGINT)
rc = proc.wait(timeout=30)
tap(rc == 0, "launch ends on Ctrl+C", proc.stderr.read())

# Only in the keyring: not in profiles.json, nor any file left in HOME or the runtime folder
# (the recorder's own copies of what psql was pointed at are the test's, and are skipped).
home = env("HOME")
with open(os.path.join(env("XDG_CONFIG_HOME"), "bastion", "profiles.json")) as f:
    profiles = f.read()
tap(PASSWORD not in profiles, "the password is not in profiles.json")
left = files_holding(PASSWORD, [home, env("XDG_RUNTIME_DIR")], skip=(tmp,))
tap(not left, "no file holds the password", left)

# Writes: the admin role, and only with --write.
res = cli("query", TEAM, "select current_user", "--write", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "current_user\n%s\n" % ADMIN,
    "--write logs in as the admin role", res.stdout + res.stderr)
res = cli("query", TEAM, "create table bastion_probe (x int); insert into bastion_probe "
          "values (1)", "--write")
tap(res.returncode == 0 and psql("select count(*) from bastion_probe") == "1",
    "writes through the admin role still work when allowed", res.stderr)
res = cli("query", TEAM, "insert into bastion_probe values (2)")
tap(res.returncode != 0 and psql("select count(*) from bastion_probe") == "1",
    "without --write the same insert is refused", res.stderr)
psql("drop table bastion_probe")

# Rotate: a new password on the server and in the keyring; the old one no longer logs in.
res = cli("readonly-role", TEAM, "rotate")
new = cli("secret", "print", TEAM, "readonly-password").stdout.strip()
old_login = psql("select 1", user=ROLE, password=PASSWORD, check=False)
new_login = psql("select 1", user=ROLE, password=new, check=False)
tap(res.returncode == 0 and new and new != PASSWORD and old_login.returncode != 0
    and new_login.returncode == 0, "rotate: the new password logs in, the old one does not",
    res.stderr + old_login.stderr + new_login.stderr)

# Creating it twice says what to do.
res = cli("readonly-role", TEAM, "create")
tap(res.returncode != 0 and "rotate" in res.stderr.lower(), "a second create points at rotate",
    res.stderr)

# Drop: the role and its password go; read-only profiles read as the admin role again.
res = cli("readonly-role", TEAM, "drop")
tap(res.returncode == 0 and psql("select count(*) from pg_roles where rolname = '%s'" % ROLE)
    == "0", "drop removes the role", res.stdout + res.stderr)
res = cli("secret", "print", TEAM, "readonly-password")
tap(res.returncode != 0 or res.stdout.strip() == "", "and its password from the keyring",
    res.stdout)
res = cli("query", TEAM, "select current_user", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "current_user\n%s\n" % ADMIN,
    "query reads as the admin role again", res.stdout + res.stderr)

finish()
