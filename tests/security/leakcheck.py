"""Helpers shared by the no-secret-leak tests (test-no-secret-leaks.py and its GUI twin)."""

import json
import os
import shutil
import stat
import subprocess


def descendants(pids):
    """PIDS and every process below them, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def files_under(tops, not_ours):
    """Every regular file below TOPS, except those in or under a path of NOT_OURS."""
    for top in tops:
        for root, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.join(root, name)
                if any(path == p or path.startswith(p + os.sep) for p in not_ours):
                    continue
                if stat.S_ISREG(os.lstat(path).st_mode):
                    yield path


def use_encrypted_key(tmp, passphrase, comment):
    """Replaces the harness team's key by an ed25519 key encrypted with PASSPHRASE and
    authorizes it for the harness's sshd; returns its SHA256 fingerprint as sshd logs it."""
    team_dir = os.environ["BASTION_TEST_TEAM_DIR"]
    with open(os.path.join(team_dir, "config.json")) as f:
        name = json.load(f).get("bastion_ssh_ec2_keypair_filename",
                                "simpleiot-bastion-keypair.pem")
    key = os.path.join(tmp, "encrypted-key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", comment,
                    "-f", key], check=True, stdin=subprocess.DEVNULL)
    with open(key + ".pub") as pub, \
            open(os.path.join(os.environ["BASTION_TEST_SSHD_DIR"], "authorized_keys"), "a") as out:
        out.write(pub.read())
    target = os.path.join(team_dir, "certs", name)
    shutil.copyfile(key, target)
    os.chmod(target, 0o600)
    res = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub"],
                         stdout=subprocess.PIPE, check=True)
    return res.stdout.decode().split()[1]
