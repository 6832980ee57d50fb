#!/usr/bin/python3
"""The Flatpak manifest parses with flatpak-builder, pins every source by sha256, asks for
nothing beyond the permissions it justifies (doc/flatpak.md and the manifest's
x-finish-args-justification), and patches libssh2 exactly as tools/fetch-subprojects does.

TAP output. The patch check rebuilds the libssh2 source tree the way flatpak-builder would
(archives extracted, shell commands run, patch sources applied) from the tarballs in
subprojects/packagecache/ found by their sha256, and compares it with the tree
tools/fetch-subprojects prepared in subprojects/libssh2-1.11.1/. Without those tarballs it falls
back to checking that the manifest's patches are the ones applied to the prepared tree, and
without a prepared tree it is skipped."""
import filecmp
import hashlib
import json
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("BASTION_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
MANIFEST_DIR = os.path.join(SRC, "flatpak")
MANIFEST = os.path.join(MANIFEST_DIR, "io.github.bastiongtk.Bastion.json")
CACHE = os.path.join(SRC, "subprojects", "packagecache")
PREPARED = os.path.join(SRC, "subprojects", "libssh2-1.11.1")
RECIPE = os.path.join(SRC, "subprojects", "packagefiles", "libssh2")
LAUNCHER_GLOB = os.path.join(SRC, "src", "core", "launch", "bastion-launcher*.c")

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

n = 0
failures = []


def check(cond, what):
    global n
    n += 1
    print(("ok %d - " if cond else "not ok %d - ") % n + what)
    if not cond:
        failures.append(what)


def skip(what, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, what, why))


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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

# --- finish-args --------------------------------------------------------------------------
finish_args = manifest.get("finish-args", [])
extra = set(finish_args) - ALLOWED_FINISH_ARGS
check(not extra, "finish-args within the justified list (extra: %s)" % sorted(extra))
check("--filesystem=home" not in finish_args and "--filesystem=host" not in finish_args,
      "no whole-home or host file system access")
check(len(finish_args) == len(set(finish_args)), "no finish-arg listed twice")
why = manifest.get("x-finish-args-justification", {})
unjustified = [a for a in finish_args if not str(why.get(a, "")).strip()]
check(not unjustified, "every finish-arg has a reason in x-finish-args-justification "
      "(missing: %s)" % unjustified)
with open(os.path.join(SRC, "doc", "flatpak.md")) as f:
    readme = f.read()
undocumented = [a for a in finish_args if "`%s`" % a not in readme]
check(not undocumented, "every finish-arg is explained in doc/flatpak.md (missing: %s)" % undocumented)
uses_spawn = False
for path in glob.glob(LAUNCHER_GLOB):   # the launcher is spread over its -private.h parts
    with open(path) as f:
        uses_spawn = uses_spawn or '"flatpak-spawn"' in f.read()
check(("--talk-name=org.freedesktop.Flatpak" in finish_args) == uses_spawn,
      "org.freedesktop.Flatpak is asked for exactly when the launcher uses flatpak-spawn")

# --- modules and sources ------------------------------------------------------------------
modules = manifest.get("modules", [])
check(modules and modules[-1].get("name") == "bastion", "Bastion is the last module")
check(modules and modules[-1].get("builddir") is True, "Bastion builds with builddir: true")
for m in modules:
    for s in m.get("sources", []):
        kind = s.get("type")
        label = s.get("url") or s.get("path") or kind
        if kind in ("archive", "file"):
            ok = s.get("url", "").startswith("https://") and \
                re.fullmatch(r"[0-9a-f]{64}", s.get("sha256", "")) is not None and \
                all(u.startswith("https://") for u in s.get("mirror-urls", []))
        elif kind == "git":
            ok = re.fullmatch(r"[0-9a-f]{40}", s.get("commit", "")) is not None
        elif kind == "dir":
            ok = m.get("name") == "bastion"
        elif kind == "patch":
            paths = [s["path"]] if "path" in s else s.get("paths", [])
            full = [os.path.realpath(os.path.join(MANIFEST_DIR, p)) for p in paths]
            ok = bool(paths) and all(os.path.isfile(p) and
                                     p.startswith(os.path.realpath(SRC) + os.sep) for p in full)
        elif kind == "shell":
            ok = bool(s.get("commands"))   # part of the manifest itself
        else:
            ok = False
        check(ok, "module %s: source %s is pinned (sha256, commit or a file in this repository)"
              % (m.get("name"), label))

names = [m.get("name") for m in modules]
check("libssh2" in names, "libssh2 >= 1.11 is built (the runtime has none)")
check("libpq" in names, "libpq is built from a pinned PostgreSQL release")
libssh2 = next((m for m in modules if m.get("name") == "libssh2"), {"sources": []})
sources = libssh2["sources"]
archives = [s for s in sources if s.get("type") == "archive"]
check(archives and re.search(r"libssh2-1\.1[1-9]\.", archives[0].get("url", "")) is not None,
      "libssh2 is 1.11 or newer")
debian = [s for s in archives if re.search(r"\.debian\.tar\.", s.get("url", ""))]
check(len(debian) == 1, "libssh2: Debian's patches come from one pinned .debian.tar")
debian_rev = None
if debian:
    m = re.search(r"libssh2_([^/]*?)\.debian\.tar", debian[0]["url"].replace("%2B", "+"))
    debian_rev = m.group(1) if m else None
ours = sorted(os.listdir(os.path.join(SRC, "subprojects", "packagefiles", "libssh2-patches")))
ours = [p for p in ours if p.endswith(".patch")]
patch_sources = [os.path.basename(p) for s in sources if s.get("type") == "patch"
                 for p in ([s["path"]] if "path" in s else s.get("paths", []))]
check(patch_sources == ours, "libssh2: every patch tools/fetch-subprojects applies is a patch "
      "source, in the same order (%s)" % patch_sources)
kinds = [s.get("type") for s in sources]
check("shell" in kinds and "patch" in kinds and
      max(i for i, k in enumerate(kinds) if k == "archive") < kinds.index("shell") <
      kinds.index("patch"),
      "libssh2: Debian's series is applied before our patches")


# --- the patches apply as tools/fetch-subprojects applies them ----------------------------
def build_tree(work):
    """The libssh2 source tree as flatpak-builder makes it, or None without the tarballs."""
    by_hash = {}
    if os.path.isdir(CACHE):
        for name in os.listdir(CACHE):
            path = os.path.join(CACHE, name)
            if os.path.isfile(path):
                by_hash[sha256_of(path)] = path
    tree = os.path.join(work, "src")
    os.mkdir(tree)
    for s in sources:
        kind = s.get("type")
        if kind == "archive":
            path = by_hash.get(s["sha256"])
            if path is None:
                return None, "no file with sha256 %s in subprojects/packagecache/" % s["sha256"]
            subprocess.run(["tar", "-xf", path, "-C", tree,
                            "--strip-components=%d" % s.get("strip-components", 1)], check=True)
        elif kind == "shell":
            for cmd in s["commands"]:
                r = subprocess.run(["/bin/sh", "-c", cmd], cwd=tree, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
                if r.returncode != 0:
                    return False, "%s: %s" % (cmd, r.stdout.decode().strip())
        elif kind == "patch":
            for p in ([s["path"]] if "path" in s else s.get("paths", [])):
                r = subprocess.run(["patch", "-p%d" % s.get("strip-components", 1), "-N", "-s",
                                    "-i", os.path.join(MANIFEST_DIR, p)] + s.get("options", []),
                                   cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                if r.returncode != 0:
                    return False, "%s: %s" % (p, r.stdout.decode().strip())
    return tree, None


def diff_trees(a, b, ignore):
    """Paths that differ between two trees (files only, the names in ignore left out)."""
    diffs = []
    for root, dirs, files in os.walk(a):
        rel = os.path.relpath(root, a)
        for name in files:
            r = os.path.normpath(os.path.join(rel, name))
            if r in ignore:
                continue
            other = os.path.join(b, r)
            if not os.path.isfile(other) or not filecmp.cmp(os.path.join(root, name), other,
                                                             shallow=False):
                diffs.append(r)
    for root, dirs, files in os.walk(b):
        rel = os.path.relpath(root, b)
        for name in files:
            r = os.path.normpath(os.path.join(rel, name))
            if r not in ignore and not os.path.exists(os.path.join(a, r)):
                diffs.append(r)
    return sorted(set(diffs))


stamp = os.path.join(PREPARED, ".bastion-prepared")
prepared = os.path.isfile(stamp)
work = tempfile.mkdtemp(prefix="bastion-flatpak-test-")
try:
    tree, why_not = build_tree(work)
    if tree:
        check(True, "libssh2: the manifest's sources and patches apply in order")
        if prepared:
            ignore = {".bastion-prepared"}
            for root, dirs, files in os.walk(RECIPE):
                for name in files:
                    ignore.add(os.path.normpath(os.path.relpath(os.path.join(root, name),
                                                                RECIPE)))
            diffs = diff_trees(tree, PREPARED, ignore)
            check(not diffs, "libssh2: the Flatpak's patched tree is the one "
                  "tools/fetch-subprojects prepared (differences: %s)" % diffs[:10])
        else:
            skip("libssh2: the Flatpak's tree equals tools/fetch-subprojects'",
                 "run tools/fetch-subprojects first")
    elif tree is False:
        check(False, "libssh2: the manifest's sources and patches apply in order (%s)" % why_not)
    elif prepared:
        # Without the tarballs: the prepared tree must carry exactly the manifest's revision
        # and have our patches applied last (each reverses cleanly).
        with open(stamp) as f:
            text = f.read()
        check(debian_rev is not None and text.startswith("libssh2 %s " % debian_rev),
              "libssh2: the Debian revision in the manifest (%s) is the one "
              "tools/fetch-subprojects applied" % debian_rev)
        for p in reversed(patch_sources):
            r = subprocess.run(["patch", "-R", "--dry-run", "-p1", "-s", "-i",
                                os.path.join(SRC, "subprojects", "packagefiles",
                                             "libssh2-patches", p)],
                               cwd=PREPARED, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            check(r.returncode == 0, "libssh2: %s is applied to the prepared tree (%s)"
                  % (p, r.stdout.decode().strip()))
        skip("libssh2: the manifest's sources and patches apply in order", why_not)
    else:
        skip("libssh2: the manifest's sources and patches apply in order",
             "%s, and no tree from tools/fetch-subprojects" % why_not)
finally:
    shutil.rmtree(work, ignore_errors=True)

# The .Devel variant (nightly builds): the same manifest but for its id, the meson options that
# make the development build, and the app id in the reasons; so every pin and permission
# checked above holds for it too.
DEVEL = os.path.join(MANIFEST_DIR, "io.github.bastiongtk.Bastion.Devel.json")
res = subprocess.run(["flatpak-builder", "--show-manifest", DEVEL],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
check(res.returncode == 0, "flatpak-builder --show-manifest parses the .Devel manifest (%s)"
      % res.stderr.decode().strip())
with open(DEVEL) as f:
    devel = json.load(f)
check(devel.get("id") == manifest["id"] + ".Devel", "the .Devel manifest's id is %s.Devel (%s)"
      % (manifest["id"], devel.get("id")))
devel_bastion = [m for m in devel["modules"] if isinstance(m, dict) and m.get("name") == "bastion"]
check(len(devel_bastion) == 1 and devel_bastion[0] is devel["modules"][-1]
      and "-Ddevelopment=true" in devel_bastion[0].get("config-opts", []),
      "the .Devel manifest builds Bastion last with -Ddevelopment=true")
check(devel["modules"][:-1] == manifest["modules"][:-1],
      "the .Devel manifest's dependency modules are the stable ones (same pins and patches)")
check(devel["finish-args"] == manifest["finish-args"],
      "the .Devel manifest asks for the same permissions")
same = {k: v.replace(devel["id"], manifest["id"])
        for k, v in devel.get("x-finish-args-justification", {}).items()}
check(same == manifest.get("x-finish-args-justification"),
      "the .Devel manifest gives the same reasons, naming its own app id")
stripped = dict(devel, id=manifest["id"], modules=devel["modules"][:-1],
                **{"x-finish-args-justification": same})
check(stripped == dict(manifest, modules=manifest["modules"][:-1]),
      "the .Devel manifest differs from the stable one only in id, reasons and Bastion's options")

print("1..%d" % n)
if failures:
    print("# %d failed" % len(failures))
sys.exit(1 if failures else 0)
