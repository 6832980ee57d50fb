"""Stand-in for pgAdmin 4's web/setup.py (only what Bastion uses of it).

The command spelling follows the version.py beside it, like the real thing: 8.2 and newer take
`load-servers FILE` / `dump-servers FILE` (typer), older ones `--load-servers FILE` /
`--dump-servers FILE` (argparse); the wrong spelling is an error.

The database named by --sqlite-path is a real SQLite file with the two tables of pgAdmin's
schema that servers live in (servergroup, server: the columns Bastion's entries use), and the
commands behave as pgAdmin's load_database_servers / dump_database_servers do: load-servers
always appends (a server of the same name and group is added again, never updated), creating a
missing group; dump-servers writes {"Servers": {"1": {...}, ...}} numbered from 1 in id order.
`--replace` (which clears every server of the user first) is refused: Bastion must never use it.
"""

import json
import os
import re
import sqlite3
import sys

SCHEMA = """
CREATE TABLE IF NOT EXISTS servergroup (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, name VARCHAR(128) NOT NULL);
CREATE TABLE IF NOT EXISTS server (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, servergroup_id INTEGER NOT NULL,
  name VARCHAR(128) NOT NULL, host VARCHAR(128), port INTEGER, maintenance_db VARCHAR(64),
  username VARCHAR(64), comment VARCHAR(1024), connection_params TEXT, passexec_cmd TEXT);
"""
USER_ID = 1


def version():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "version.py")) as f:
        text = f.read()
    major = int(re.search(r"^APP_RELEASE\s*=\s*(\d+)", text, re.M).group(1))
    minor = int(re.search(r"^APP_REVISION\s*=\s*(\d+)", text, re.M).group(1))
    return major, minor


def fail(msg):
    sys.stderr.write("setup.py: %s\n" % msg)
    sys.exit(2)


def open_db(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    con = sqlite3.connect(path, timeout=10)
    con.executescript(SCHEMA)
    return con


def load(con, path):
    with open(path) as f:
        data = json.load(f)
    groups_added = 0
    for key in data["Servers"]:
        obj = data["Servers"][key]
        for attrib in ("Group", "Name", "Port", "Username", "MaintenanceDB"):
            if attrib not in obj:
                fail("'%s' attribute not found for server '%s'" % (attrib, key))
        if not isinstance(obj["Port"], int):
            fail("Port must be integer for server '%s'" % key)
        row = con.execute("SELECT id FROM servergroup WHERE user_id = ? AND name = ?",
                          (USER_ID, obj["Group"])).fetchone()
        if row is None:
            cur = con.execute("INSERT INTO servergroup (user_id, name) VALUES (?, ?)",
                              (USER_ID, obj["Group"]))
            group_id = cur.lastrowid
            groups_added += 1
        else:
            group_id = row[0]
        params = obj.get("ConnectionParameters")
        if params is None:
            params = {k.lower(): obj[k] for k in ("HostAddr", "SSLMode") if k in obj}
        con.execute("INSERT INTO server (user_id, servergroup_id, name, host, port, "
                    "maintenance_db, username, comment, connection_params, passexec_cmd) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (USER_ID, group_id, obj["Name"], obj.get("Host"), obj["Port"],
                     obj["MaintenanceDB"], obj["Username"], obj.get("Comment"),
                     json.dumps(params), obj.get("PasswordExecCommand")))
    con.commit()
    print("Added %d Server Group(s) and %d Server(s)." % (groups_added, len(data["Servers"])))


def dump(con, path):
    rows = con.execute("SELECT s.name, g.name, s.host, s.port, s.maintenance_db, s.username, "
                       "s.comment, s.connection_params, s.passexec_cmd FROM server s "
                       "JOIN servergroup g ON g.id = s.servergroup_id WHERE s.user_id = ? "
                       "ORDER BY s.id", (USER_ID,)).fetchall()
    servers = {}
    for i, (name, group, host, port, db, user, comment, params, passexec) in enumerate(rows):
        entry = {"Name": name, "Group": group, "Host": host, "Port": port,
                 "MaintenanceDB": db, "Username": user,
                 "ConnectionParameters": json.loads(params or "{}")}
        if comment is not None:
            entry["Comment"] = comment
        if passexec is not None:
            entry["PasswordExecCommand"] = passexec
        servers[str(i + 1)] = entry
    with open(path, "w") as f:
        json.dump({"Servers": servers}, f, indent=4)
    print("Configuration for %d servers dumped to %s." % (len(servers), path))


def main(argv):
    new_cli = version() >= (8, 2)
    if "--replace" in argv:
        fail("--replace is not allowed in these tests")
    args = list(argv)
    sqlite = None
    if "--sqlite-path" in args:
        i = args.index("--sqlite-path")
        sqlite = args[i + 1]
        del args[i:i + 2]
    if sqlite is None:
        fail("no --sqlite-path")
    if len(args) != 2:
        fail("usage: setup.py COMMAND FILE --sqlite-path PATH")
    command, path = args
    expected = ("load-servers", "dump-servers") if new_cli else ("--load-servers", "--dump-servers")
    if command not in expected:
        fail("no such command or option %r for this version" % command)

    con = open_db(sqlite)
    if command.endswith("load-servers"):
        load(con, path)
    else:
        dump(con, path)


if __name__ == "__main__":
    main(sys.argv[1:])
