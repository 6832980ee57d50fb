"""Stand-in for pgAdmin 4's web/setup.py (only what Bastion uses of it).

The command spelling follows the version.py beside it, like the real thing: 8.2 and newer take
`load-servers FILE` / `dump-servers FILE` (typer), older ones `--load-servers FILE` /
`--dump-servers FILE` (argparse); the wrong spelling is an error. The "database" named by
--sqlite-path is a JSON list of servers; load appends, dump writes {"Servers": {...}}.
`--replace` is refused: Bastion must never replace the user's servers.
"""

import json
import os
import re
import sys


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

    servers = []
    if os.path.exists(sqlite):
        with open(sqlite) as f:
            servers = json.load(f)

    if command.endswith("load-servers"):
        with open(path) as f:
            data = json.load(f)
        for key in sorted(data["Servers"]):
            servers.append(data["Servers"][key])
        os.makedirs(os.path.dirname(sqlite), exist_ok=True)
        with open(sqlite, "w") as f:
            json.dump(servers, f)
        print("Added %d Server Group(s) and %d Server(s)." % (1, len(data["Servers"])))
    else:
        out = {"Servers": {str(i + 1): s for i, s in enumerate(servers)}}
        with open(path, "w") as f:
            json.dump(out, f)
        print("Configuration for %d servers dumped to %s." % (len(servers), path))


if __name__ == "__main__":
    main(sys.argv[1:])
