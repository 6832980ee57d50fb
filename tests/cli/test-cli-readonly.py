#!/usr/bin/python3
"""Issue 17: a read-only `bastion-cli query` cannot be talked out of read-only. Every statement
the review used to change data, and the rest of its list, runs without --write through the real
sshd to the real PostgreSQL; each must be refused, and a checksum of every table, every
sequence, the large objects and pg_db_role_setting must be the same afterwards. Then the same
with --write: the ordinary writes work, and ALTER ROLE … SET needs --allow-settings.

Run under tests/harness/with-servers --sshd --postgres --keyring --aws --team demo. TAP output.

    test-cli-readonly.py --show-bypass   run against an older bastion-cli (BASTION_CLI=…):
                                         restores the database after each statement and prints
                                         which statements changed data; always exits 0
"""

import os
import subprocess
import sys
import tempfile

from clitest import cli, env, finish, one_line_error, tap

SHOW_BYPASS = "--show-bypass" in sys.argv
CLI = env("BASTION_CLI")
TEAM = env("BASTION_TEST_TEAM")
with open(env("BASTION_TEST_PG_PASSWORD_FILE")) as f:
    PG_PASSWORD = f.read().strip()
DB = env("BASTION_TEST_PG_DB")
ADMIN = env("BASTION_TEST_PG_USER")


def psql(sql, user="postgres", db=DB):
    """Straight to the server (not through Bastion): the test's own view of the data. The
    harness gives the superuser the same generated password as the admin role."""
    pg_env = dict(os.environ, PGPASSWORD=PG_PASSWORD, PGHOST=env("BASTION_TEST_PG_HOST"),
                  PGPORT=env("BASTION_TEST_PG_PORT"), PGUSER=user, PGDATABASE=db)
    res = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         env=pg_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=60)
    if res.returncode != 0:
        raise RuntimeError("psql %r: %s" % (sql, res.stderr))
    return res.stdout.strip()


# One round trip per checksum: a table's rows through query_to_xml, so the loop over the
# tables runs in the server.
CHECKSUM_SQL = (
    "select string_agg(x, ' | ' order by x) from ("
    " select format('%s=%s', c.oid::regclass, (xpath('/row/h/text()', query_to_xml("
    "  format(case c.relkind when 'S' then 'select last_value || ''/'' || is_called as h "
    "from %s' else 'select count(*) || ''/'' || coalesce(md5(string_agg(t::text, '','' "
    "order by t::text)), '''') as h from %s t' end, c.oid::regclass), false, true, '')))"
    "[1]::text) as x"
    " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
    " where c.relkind in ('r', 'p', 'S')"
    "  and n.nspname not in ('pg_catalog', 'information_schema')"
    "  and n.nspname not like 'pg_toast%'"
    " union all select 'lo=' || coalesce(md5(string_agg(loid || ':' || pageno || ':' || "
    "  md5(data), ',' order by loid, pageno)), '') from pg_largeobject"
    " union all select 'lom=' || coalesce(string_agg(oid || ':' || lomowner, ',' "
    "  order by oid), '') from pg_largeobject_metadata"
    " union all select 'settings=' || coalesce(string_agg(setdatabase || ':' || setrole || "
    "  ':' || array_to_string(setconfig, ';'), ',' order by setdatabase, setrole), '')"
    "  from pg_db_role_setting) s")


def checksum():
    """Every table and sequence of the database, its large objects (data and owners) and every
    role's and database's settings."""
    return psql(CHECKSUM_SQL)


def restore():
    """Back to the pristine copy taken before the first statement."""
    psql("alter role %s reset all" % ADMIN, db="postgres")
    psql("select pg_terminate_backend(pid) from pg_stat_activity where datname = '%s'" % DB,
         db="postgres")
    psql("drop database %s" % DB, db="postgres")
    psql("create database %s template bastion_pristine owner %s" % (DB, ADMIN), db="postgres")


# What the statements work on: a large object, a sequence and a procedure, all the admin's.
LO = psql("select lo_from_bytea(0, 'bastion large object')", user=ADMIN)
psql("create sequence bastion_probe_seq; select nextval('bastion_probe_seq')", user=ADMIN)
psql("create procedure bastion_probe_proc() language sql as $$ delete from data $$", user=ADMIN)
MARKER = os.path.join(tempfile.mkdtemp(dir=env("BASTION_TEST_TMP")), "program-ran")
os.chmod(os.path.dirname(MARKER), 0o777)

# (statement, why it matters): the review's table first, then the rest of its list.
BYPASSES = [
    ("BEGIN READ WRITE; DELETE FROM data; COMMIT", "transaction control"),
    ("START TRANSACTION READ WRITE; DELETE FROM data; COMMIT", "transaction control"),
    ("SET transaction_read_only = off; DELETE FROM data", "the transaction's flag"),
    ("SET default_transaction_read_only = off; COMMIT; DELETE FROM data", "the session default"),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; DELETE FROM data",
     "the session default"),
    ("BEGIN READ WRITE; PREPARE p AS DELETE FROM data; EXECUTE p; COMMIT", "a prepared write"),
    ("SELECT lo_unlink(%s)" % LO, "a large object"),
    ("BEGIN READ WRITE; ALTER ROLE %s SET default_transaction_read_only = off; COMMIT" % ADMIN,
     "the role's settings"),
    ("DELETE FROM data", "a plain write"),
    ("TRUNCATE data", "a plain write"),
    ("COPY (SELECT 1) TO PROGRAM 'touch %s'" % MARKER, "a program on the server"),
    ("SELECT nextval('bastion_probe_seq')", "a sequence"),
    ("SELECT setval('bastion_probe_seq', 100)", "a sequence"),
    ("CALL bastion_probe_proc()", "a procedure"),
    ("DO $$ BEGIN DELETE FROM data; END $$", "a DO block"),
    ("DO $$ BEGIN PERFORM lo_unlink(%s); END $$" % LO, "a DO block hiding lo_unlink"),
    ("WITH d AS (DELETE FROM data RETURNING *) SELECT count(*) FROM d", "a writable CTE"),
    ("ALTER ROLE %s SET default_transaction_read_only = off" % ADMIN, "the role's settings"),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "the session default"),
    ("PREPARE q AS DELETE FROM data; EXECUTE q", "PREPARE + EXECUTE"),
    ("SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM data; COMMIT", "COMMIT in the middle"),
    ("select 1;\n/* ; */ commit -- x\n; delete from data", "COMMIT after a comment"),
    ("SELECT set_config('default_transaction_read_only', 'off', false); COMMIT; "
     "DELETE FROM data", "set_config()"),
    ("SELECT query_to_xml('select lo_unlink(%s)', true, true, '')" % LO, "SQL in a string"),
    ('SET U&"transaction\\005fread\\005fonly" = off; DELETE FROM data',
     "a setting name the guard cannot read (the server refuses)"),
    ("RESET ALL; COMMIT; DELETE FROM data", "RESET ALL"),
    ("END; SET default_transaction_read_only = off; DELETE FROM data", "END"),
    ("SELECT pg_advisory_lock(1); SELECT pg_sleep(0)", "a lock held for other sessions"),
]

psql("create database bastion_pristine template %s" % DB, db="postgres")
BEFORE = checksum()

res = cli("import")
tap(res.returncode == 0, "import the demo team", res.stderr)
res = cli("secret", "set", TEAM, "db-password", stdin=PG_PASSWORD + "\n")
tap(res.returncode == 0, "store the DB password in the keyring", res.stderr)
res = cli("query", TEAM, "select count(*) from data", "--accept-new", "--format", "csv")
tap(res.returncode == 0 and res.stdout.startswith("count\n"), "a read works", res.stderr)

changed = []
for sql, what in BYPASSES:
    res = cli("query", TEAM, sql)
    after = checksum()
    ran_program = os.path.exists(MARKER)
    if SHOW_BYPASS:
        if after != BEFORE or ran_program:
            changed.append((sql, what))
            restore()
            if ran_program:
                os.unlink(MARKER)
        print("# %-8s %s (%s)" % ("CHANGED" if (sql, what) in changed else "held",
                                  sql.replace("\n", "\\n"), what))
        continue
    tap(one_line_error(res, "query") and res.stdout == "", "refused: %s (%s)" % (sql, what),
        "rc=%d stdout=%r stderr=%r" % (res.returncode, res.stdout, res.stderr))
    tap(after == BEFORE and not ran_program, "nothing changed after: %s" % sql,
        "before:\n%s\nafter:\n%s" % (BEFORE, after))

if SHOW_BYPASS:
    print("# %d of %d statements changed data with %s" % (len(changed), len(BYPASSES), CLI))
    print("1..0 # SKIP --show-bypass reports only")
    sys.exit(0)

# The refusal says what was refused and what to do.
res = cli("query", TEAM, "select 1; commit")
tap("“COMMIT”" in res.stderr and "--write" in res.stderr,
    "the refusal names the statement and --write", res.stderr)
# The server's own refusal still reads as before.
res = cli("query", TEAM, "delete from data")
tap(one_line_error(res, "query") and "read-only" in res.stderr and "--write" in res.stderr,
    "a write refused by the server names --write", res.stderr)

# Several statements still run one after another, the last result printed.
res = cli("query", TEAM, "select 1 as a; select 'x;y' as b, $$;$$ as c", "--format", "csv")
tap(res.returncode == 0 and res.stdout == "a\n1\n\nb,c\nx;y,;\n",
    "a script runs statement by statement",
    repr(res.stdout) + res.stderr)
# A comment-only text is not an error.
res = cli("query", TEAM, "/* nothing */")
tap(res.returncode == 0, "a comment alone runs (nothing to do)", res.stderr)

# Writes allowed: the envelope is off, ordinary writes and transaction control work.
res = cli("query", TEAM, "begin; create table bastion_w (x int); insert into bastion_w values "
          "(1); commit", "--write")
tap(res.returncode == 0, "with --write, BEGIN … COMMIT runs", res.stderr)
tap(psql("select count(*) from bastion_w") == "1", "and the write is there")
psql("drop table bastion_w", user=ADMIN)

# Settings every other session sees need their own flag, even with --write.
SETTING = "ALTER ROLE %s SET work_mem = '7MB'" % ADMIN
res = cli("query", TEAM, SETTING, "--write")
tap(res.returncode != 0 and "--allow-settings" in res.stderr and "every" in res.stderr,
    "ALTER ROLE … SET with --write alone is refused, naming --allow-settings", res.stderr)
tap("work_mem" not in psql("select coalesce(string_agg(array_to_string(setconfig, ';'), ','), "
                           "'') from pg_db_role_setting", db="postgres"),
    "and the role's settings are unchanged")
res = cli("query", TEAM, SETTING, "--allow-settings")
tap(res.returncode != 0 and "--write" in res.stderr, "--allow-settings alone does not write",
    res.stderr)
res = cli("query", TEAM, SETTING, "--write", "--allow-settings")
tap(res.returncode == 0 and "work_mem=7MB" in psql(
    "select coalesce(string_agg(array_to_string(setconfig, ';'), ','), '') "
    "from pg_db_role_setting", db="postgres"),
    "with --write --allow-settings it runs", res.stderr)
psql("alter role %s reset work_mem" % ADMIN, db="postgres")

finish()
