#!/usr/bin/python3
"""Benchmark: Bastion's CSV streaming path against `psql --csv -c` on the same server.

    with-servers --postgres -- bench-query.py BENCH_QUERY_EXE [--runs N] [--rows N]

Runs the same 8-column query (mixed types, some NULLs) through both, alternating, with stdout
going to /dev/null, and prints the median wall time and the peak RSS of each and their ratios
(bastion / psql). Also checks once that both wrote the same bytes. Prints figures; it fails
only when a run fails, never on timing.
"""

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

SQL = """select g as id,
       g::bigint * 1000003 as big,
       round(g * 0.01, 2) as amount,
       case when g % 10 = 0 then null else md5(g::text) end as hash,
       g % 2 = 0 as flag,
       timestamp '2024-01-01' + g * interval '1 second' as ts,
       case when g % 7 = 0 then null else 'device-' || (g % 100) end as device,
       (g % 1000) / 7.0::float8 as ratio
from generate_series(1, {rows}) g"""


def run(cmd, env, stdout):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit("bench-query: %s failed (%d): %s" % (cmd[0], proc.returncode, err.strip()))
    return elapsed, usage.ru_maxrss  # KiB on Linux


def digest(cmd, env):
    with tempfile.TemporaryFile() as f:
        run(cmd, env, f)
        f.seek(0)
        h = hashlib.sha256()
        size = 0
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
        return h.hexdigest(), size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bench_exe")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1000000)
    args = parser.parse_args()

    try:
        port = os.environ["BASTION_TEST_PG_PORT"]
        db = os.environ["BASTION_TEST_PG_DB"]
        user = os.environ["BASTION_TEST_PG_USER"]
        pwfile = os.environ["BASTION_TEST_PG_PASSWORD_FILE"]
    except KeyError as e:
        sys.exit("bench-query: %s is not set: run under tests/harness/with-servers --postgres" % e)

    sql = SQL.format(rows=args.rows)
    tmp = tempfile.mkdtemp(prefix="bastion-bench-")
    # psql takes the password from a private pgpass file that lives as long as the run.
    pgpass = os.path.join(tmp, "pgpass")
    with open(pwfile) as f:
        password = f.read().strip()
    fd = os.open(pgpass, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("127.0.0.1:%s:%s:%s:%s\n" % (port, db, user, password))

    env = dict(os.environ)
    env.update({"PGPASSFILE": pgpass, "PGHOST": "127.0.0.1", "PGPORT": port, "PGUSER": user,
                "PGDATABASE": db})
    psql = ["psql", "-X", "-q", "--csv", "-c", sql]
    bastion = [args.bench_exe, port, db, user, sql, "csv"]

    try:
        # Warm-up, and the same bytes from both.
        psql_digest = digest(psql, env)
        bastion_digest = digest(bastion, env)
        same = psql_digest == bastion_digest

        times = {"psql": [], "bastion": []}
        rss = {"psql": 0, "bastion": 0}
        with open(os.devnull, "wb") as devnull:
            for _ in range(args.runs):
                for name, cmd in (("psql", psql), ("bastion", bastion)):
                    elapsed, maxrss = run(cmd, env, devnull)
                    times[name].append(elapsed)
                    rss[name] = max(rss[name], maxrss)
    finally:
        os.unlink(pgpass)
        os.rmdir(tmp)

    t_psql = statistics.median(times["psql"])
    t_bastion = statistics.median(times["bastion"])
    print("query: %d rows x 8 columns, %d runs each, output %d bytes" %
          (args.rows, args.runs, psql_digest[1]))
    print("identical CSV output: %s" % ("yes" if same else "NO (%d vs %d bytes)" %
                                         (psql_digest[1], bastion_digest[1])))
    print("psql --csv:      median %.3f s  peak RSS %7.1f MiB" % (t_psql, rss["psql"] / 1024))
    print("bastion csv:     median %.3f s  peak RSS %7.1f MiB" % (t_bastion,
                                                                 rss["bastion"] / 1024))
    print("ratio bastion/psql: time %.2fx  peak RSS %.2fx" %
          (t_bastion / t_psql, rss["bastion"] / rss["psql"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
