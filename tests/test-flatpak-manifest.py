#!/usr/bin/python3
"""The Flatpak manifest parses with flatpak-builder, pins every module, and asks for nothing
beyond the permissions Bastion justifies in README.md ("Flatpak")."""
import json
import os
import re
import subprocess
import sys

SRC = os.environ.get("BASTION_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), ".."))
MANIFEST = os.path.join(SRC, "flatpak", "io.github.bastiongtk.Bastion.json")

ALLOWED_FINISH_ARGS = {
    "--share=network",            # the bastion host, AWS, checkip
    "--share=ipc",                # X11 fallback shared memory
    "--socket=wayland",
    "--socket=fallback-x11",
    "--device=dri",               # GPU rendering
    "--filesystem=~/.simpleiot:ro",  # SimpleIOT team configs and bastion keys, read-only
    "--filesystem=~/.ssh:ro",     # known_hosts and the user's own keys, read-only
    "--filesystem=~/.aws:ro",     # the AWS credential chain, read-only
    "--socket=ssh-auth",          # ssh-agent authentication
    "--talk-name=org.freedesktop.Flatpak",  # flatpak-spawn --host for pgAdmin/DBeaver/terminals
}

failures = []


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)


with open(MANIFEST) as f:
    manifest = json.load(f)

res = subprocess.run(["flatpak-builder", "--show-manifest", MANIFEST],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
check(res.returncode == 0, "flatpak-builder --show-manifest parses the manifest (%s)"
      % res.stderr.decode().strip())

check(manifest.get("id") == "io.github.bastiongtk.Bastion", "application id")
check(manifest.get("runtime") == "org.gnome.Platform" and manifest.get("sdk") == "org.gnome.Sdk",
      "GNOME runtime and SDK")
check(re.fullmatch(r"\d+", str(manifest.get("runtime-version", ""))) is not None,
      "runtime-version is a stable GNOME release, not master")

extra = set(manifest.get("finish-args", [])) - ALLOWED_FINISH_ARGS
check(not extra, "finish-args within the justified list (extra: %s)" % sorted(extra))
check("--filesystem=home" not in manifest.get("finish-args", []), "no whole-home access")

modules = manifest.get("modules", [])
check(modules and modules[-1].get("name") == "bastion", "Bastion is the last module")
check(modules and modules[-1].get("builddir") is True, "Bastion builds with builddir: true")
for m in modules:
    for s in m.get("sources", []):
        kind = s.get("type")
        if kind in ("archive", "file"):
            ok = s.get("url", "").startswith("https://") and \
                re.fullmatch(r"[0-9a-f]{64}", s.get("sha256", "")) is not None
        elif kind == "git":
            ok = re.fullmatch(r"[0-9a-f]{40}", s.get("commit", "")) is not None
        elif kind == "dir":
            ok = m.get("name") == "bastion"
        else:
            ok = False
        check(ok, "module %s: source %s is pinned" % (m.get("name"), s.get("url") or s.get("path")))

names = [m.get("name") for m in modules]
check("libssh2" in names, "libssh2 >= 1.11 is built (the runtime has none)")
for m in modules:
    if m.get("name") == "libssh2":
        url = m["sources"][0]["url"]
        check(re.search(r"libssh2-1\.1[1-9]\.", url) is not None, "libssh2 is 1.11 or newer")
check("libpq" in names, "libpq is built from a pinned PostgreSQL release")

print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
