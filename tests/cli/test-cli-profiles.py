#!/usr/bin/python3
"""bastion-cli teams / import / secret against real files and a real gnome-keyring.

Run under tests/harness/with-servers --keyring (the default), or with plain with-servers and
--no-keyring to check the no-Secret-Service path. Needs BASTION_CLI and BASTION_SOURCE_ROOT.
"""

import json
import os
import shutil
import sys

import clitest
from clitest import env, finish, tap

env("BASTION_CLI")
SOURCE_ROOT = os.environ["BASTION_SOURCE_ROOT"]
FIXTURES = os.path.join(SOURCE_ROOT, "tests", "fixtures", "simpleiot")
SIMPLEIOT = os.environ["BASTION_SIMPLEIOT_DIR"]
CONFIG = os.path.join(os.environ["XDG_CONFIG_HOME"], "bastion", "profiles.json")


def cli(*args, stdin=None, debug=False):
    res = clitest.cli(*args, stdin=stdin, timeout=60,
                      extra_env={"G_MESSAGES_DEBUG": "all"} if debug else None)
    return res.returncode, res.stdout, res.stderr


def check(name, cond, detail=""):
    """tap() with the name first, as the checks below read."""
    tap(cond, name, detail)


def one_error_line(stderr, step):
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("bastion-cli: %s: " % step)


def reset(install="install"):
    shutil.rmtree(SIMPLEIOT, ignore_errors=True)
    shutil.copytree(os.path.join(FIXTURES, install), SIMPLEIOT)
    if os.path.exists(CONFIG):
        os.unlink(CONFIG)


def teams_json():
    rc, out, err = cli("teams", "--json")
    assert rc == 0, err
    return {p["id"]: p for p in json.loads(out)}


def test_done_when():
    """The issue's "done when": admin team, member team, _toolchain -> exactly two teams."""
    reset()
    rc, out, err = cli("import")
    check("import exits 0", rc == 0, err)
    check("import names both teams",
          "imported acme (simpleiot-acme)" in out and "widgets" in out, out)
    check("import says the member has no database access",
          "imported widgets (simpleiot-widgets), no database access" in out, out)
    check("import of a clean folder warns nothing", err == "", err)

    teams = teams_json()
    check("teams --json lists exactly the two teams",
          sorted(teams) == ["simpleiot-acme", "simpleiot-widgets"], str(sorted(teams)))
    acme = teams.get("simpleiot-acme", {})
    expected = {
        "display-name": "acme",
        "source": "simpleiot",
        "team-dir": os.path.join(SIMPLEIOT, "acme"),
        "ssh-host": "ec2-54-190-12-34.us-west-2.compute.amazonaws.com",
        "ssh-port": 22,
        "ssh-user": "ec2-user",
        "auth-method": "key",
        "key-file": os.path.join(SIMPLEIOT, "acme", "certs", "simpleiot-bastion-keypair.pem"),
        "db-host": "id1kf07x9example.c9akciq32xyz.us-west-2.rds.amazonaws.com",
        "db-port": 5432,
        "db-name": "simpleiot",
        "db-user": "dbadmin",
        "local-port": 6543,
        "aws-profile": "default",
        "aws-region": "us-west-2",
        "aws-account": "123456789012",
        "aws-secret-id": "SimpleIOT-db-password",
        "name-prefix": "iot",
        "stage": "dev",
        "allowed-ip": "203.0.113.45",
        "read-only": True,
        "has-db-access": True,
    }
    for key, value in expected.items():
        check("admin team %s" % key, acme.get(key) == value, "%r != %r" % (acme.get(key), value))
    widgets = teams.get("simpleiot-widgets", {})
    check("member team has no database access", widgets.get("has-db-access") is False)
    check("member team says why", "member" in widgets.get("no-access-reason", ""),
          widgets.get("no-access-reason"))
    check("member team has no bastion host", "ssh-host" not in widgets)

    rc, out, err = cli("teams")
    check("teams lists two lines", rc == 0 and len(out.strip().splitlines()) == 2, out)

    mode = os.stat(CONFIG).st_mode & 0o777
    check("profiles.json is 0600", mode == 0o600, oct(mode))
    dmode = os.stat(os.path.dirname(CONFIG)).st_mode & 0o777
    check("its folder is 0700", dmode == 0o700, oct(dmode))


def test_reimport_keeps_edits_and_unknown_fields():
    reset()
    cli("import")
    with open(CONFIG) as f:
        data = json.load(f)
    data["written-by-a-newer-bastion"] = {"x": 1}
    for p in data["profiles"]:
        if p["id"] == "simpleiot-acme":
            p["ssh-user"] = "admin"
            p["user-modified"] = ["ssh-user"]
            p["favourite"] = True
    data["profiles"].append({"id": "manual-1", "display-name": "Staging", "ssh-host": "s.example"})
    with open(CONFIG, "w") as f:
        json.dump(data, f)

    cfg = os.path.join(SIMPLEIOT, "acme", "config.json")
    with open(cfg) as f:
        team = json.load(f)
    team["bastionHostSSHDns"] = "ec2-54-9-9-9.us-west-2.compute.amazonaws.com"
    with open(cfg, "w") as f:
        json.dump(team, f)

    rc, out, err = cli("import")
    check("re-import exits 0", rc == 0, err)
    teams = teams_json()
    acme = teams["simpleiot-acme"]
    check("re-import refreshes the bastion host",
          acme["ssh-host"] == "ec2-54-9-9-9.us-west-2.compute.amazonaws.com", acme["ssh-host"])
    check("re-import keeps the user's ssh user", acme["ssh-user"] == "admin", acme["ssh-user"])
    check("manual profile kept", teams.get("manual-1", {}).get("ssh-host") == "s.example")
    with open(CONFIG) as f:
        data = json.load(f)
    check("unknown top-level field kept", data.get("written-by-a-newer-bastion") == {"x": 1})
    acme_raw = [p for p in data["profiles"] if p["id"] == "simpleiot-acme"][0]
    check("unknown profile field kept", acme_raw.get("favourite") is True)
    check("format version written", data.get("version") == 1)


def test_bad_input():
    reset()
    for name, text in (("broken", b'{ "team": "broken", '),
                       ("badport", b'{ "team": "badport", "bastion_ssh_port": "abc" }'),
                       ("latin1", b'{ "team": "caf\xe9" }')):
        os.makedirs(os.path.join(SIMPLEIOT, name))
        with open(os.path.join(SIMPLEIOT, name, "config.json"), "wb") as f:
            f.write(text)
    os.makedirs(os.path.join(SIMPLEIOT, "empty"))
    os.symlink("loop", os.path.join(SIMPLEIOT, "loop"))

    rc, out, err = cli("import")
    check("import with broken teams still exits 0", rc == 0, err)
    teams = teams_json()
    check("the good teams still import",
          sorted(teams) == ["simpleiot-acme", "simpleiot-widgets"], str(sorted(teams)))
    lines = err.strip().splitlines()
    check("one warning line per broken team", len(lines) == 5, err)
    check("every warning is prefixed", all(l.startswith("bastion-cli: import: ") for l in lines))
    check("the port warning names file and key",
          any("badport/config.json" in l and "bastion_ssh_port" in l and "abc" in l
              for l in lines), err)
    check("the JSON warning names the file", any("broken/config.json" in l for l in lines), err)
    check("the UTF-8 warning names the file", any("latin1/config.json" in l for l in lines), err)
    check("the empty folder is named", any("/empty" in l for l in lines), err)
    check("the symlink loop is named", any("/loop" in l for l in lines), err)

    # Later the good team's config breaks: its saved profile is kept.
    with open(os.path.join(SIMPLEIOT, "acme", "config.json"), "w") as f:
        f.write("{")
    rc, out, err = cli("import")
    check("a team that breaks later keeps its saved profile",
          rc == 0 and "simpleiot-acme" in teams_json(), err)

    # A corrupt profiles.json is never overwritten.
    with open(CONFIG, "w") as f:
        f.write("{ not json")
    rc, out, err = cli("import")
    check("import refuses a corrupt profiles.json", rc != 0 and one_error_line(err, "import"), err)
    with open(CONFIG) as f:
        check("and leaves it as it was", f.read() == "{ not json")
    rc, out, err = cli("teams")
    check("teams reports it in one line", rc != 0 and one_error_line(err, "teams"), err)

    os.unlink(CONFIG)
    rc, out, err = cli("import", "--from", os.path.join(SIMPLEIOT, "nope"))
    check("import --from a missing folder fails in one line",
          rc != 0 and one_error_line(err, "import") and "nope" in err, err)


def test_import_from():
    reset()
    shutil.rmtree(SIMPLEIOT)
    other = os.path.join(os.environ["BASTION_TEST_TMP"], "elsewhere")
    shutil.rmtree(other, ignore_errors=True)
    shutil.copytree(os.path.join(FIXTURES, "legacy"), other)
    rc, out, err = cli("import", "--from", other)
    check("import --from DIR", rc == 0 and "oldteam" in out, out + err)
    oldteam = teams_json().get("simpleiot-oldteam", {})
    check("config.sys with string ports", oldteam.get("ssh-port") == 2222
          and oldteam.get("db-port") == 5433 and oldteam.get("local-port") == 7654, str(oldteam))


def secret_is_nowhere(secret, where):
    for root, _dirs, files in os.walk(where):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    if secret.encode() in f.read():
                        return path
            except OSError:
                pass
    return None


def test_secrets_keyring():
    reset()
    cli("import")
    secret = "s3cret-Üñí-%s" % os.getpid()

    rc, out, err = cli("secret", "set", "acme", "db-password", stdin=secret + "\n", debug=True)
    check("secret set exits 0", rc == 0, err)
    check("secret set logs no secret", secret not in out + err)
    rc, out, err = cli("secret", "print", "acme", "db-password", debug=True)
    check("secret print gives it back, trailing newline stripped on set",
          rc == 0 and out == secret + "\n", repr(out) + err)
    check("secret print logs no secret", secret not in err)
    rc, out, err = cli("secret", "print", "simpleiot-acme", "db-password")
    check("TEAM matches the id too", rc == 0 and out == secret + "\n", err)
    rc, out, err = cli("secret", "print", "ACME", "key-passphrase")
    check("another kind is not found", rc != 0 and one_error_line(err, "secret print"), err)

    rc, out, err = cli("secret", "set", "widgets", "ssh-password", stdin="two\nlines\r\n")
    rc, out, err = cli("secret", "print", "widgets", "ssh-password")
    check("only one trailing CRLF is stripped", out == "two\nlines\n", repr(out))

    leak = secret_is_nowhere(secret, os.environ["XDG_CONFIG_HOME"]) or \
        secret_is_nowhere(secret, os.environ["XDG_RUNTIME_DIR"])
    check("no secret in profiles.json or other files", leak is None, str(leak))

    rc, out, err = cli("secret", "clear", "acme", "db-password")
    check("secret clear exits 0", rc == 0, err)
    rc, out, err = cli("secret", "print", "acme", "db-password")
    check("cleared secret is gone", rc != 0 and one_error_line(err, "secret print")
          and "secret set" in err, err)
    rc, out, err = cli("secret", "clear", "acme", "db-password")
    check("clearing again is fine", rc == 0, err)
    cli("secret", "clear", "widgets", "ssh-password")


def test_secret_errors():
    reset()
    cli("import")
    rc, out, err = cli("secret", "print", "nosuchteam", "db-password")
    check("unknown team: one line", rc != 0 and one_error_line(err, "secret print")
          and "bastion-cli teams" in err, err)
    rc, out, err = cli("secret", "print", "acme", "password")
    check("unknown kind: one line", rc != 0 and one_error_line(err, "secret print")
          and "db-password" in err, err)
    rc, out, err = cli("secret", "set", "acme", "db-password", stdin="")
    check("empty stdin: one line", rc != 0 and one_error_line(err, "secret set"), err)
    rc, out, err = cli("secret", "frobnicate", "acme", "db-password")
    check("unknown action: one line", rc != 0 and one_error_line(err, "secret"), err)
    rc, out, err = cli("secret", "print", "acme")
    check("missing argument: one line", rc != 0 and one_error_line(err, "secret"), err)
    for command in ("teams", "import", "secret"):
        rc, out, err = cli(command, "--help")
        check("%s --help" % command, rc == 0 and "bastion-cli %s" % command in out, out + err)
    rc, out, err = cli("teams", "--bogus")
    check("unknown option: one line", rc != 0 and one_error_line(err, "teams"), err)


def test_no_keyring():
    reset()
    cli("import")
    rc, out, err = cli("secret", "set", "acme", "db-password", stdin="not-kept\n", debug=True)
    check("secret set without a keyring fails", rc != 0, err)
    check("and says so in one line", "keyring" in err and
          [l for l in err.splitlines() if l.startswith("bastion-cli:")] ==
          [l for l in err.splitlines() if "keyring (Secret Service)" in l], err)
    check("and logs no secret", "not-kept" not in out + err)
    rc, out, err = cli("secret", "print", "acme", "db-password")
    check("secret print without a keyring fails in one line",
          rc != 0 and one_error_line(err, "secret print") and "keyring" in err, err)
    leak = secret_is_nowhere("not-kept", os.environ["BASTION_TEST_TMP"])
    check("the secret was written nowhere", leak is None, str(leak))


def main():
    no_keyring = "--no-keyring" in sys.argv[1:]
    test_done_when()
    test_reimport_keeps_edits_and_unknown_fields()
    test_bad_input()
    test_import_from()
    test_secret_errors()
    if no_keyring:
        test_no_keyring()
    else:
        test_secrets_keyring()
    finish()


if __name__ == "__main__":
    main()
