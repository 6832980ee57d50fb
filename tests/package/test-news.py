#!/usr/bin/python3
"""NEWS, the metainfo's <releases> and bastion.doap name the same releases, with the same dates,
newest first, and meson's project version is the newest of them (TAP on stdout)."""
import os
import re
import sys
import xml.etree.ElementTree as ET

SRC = os.environ.get("BASTION_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
n = 0
failed = 0


def check(ok, what):
    global n, failed
    n += 1
    print(("ok %d - " if ok else "not ok %d - ") % n + what)
    if not ok:
        failed += 1


with open(os.path.join(SRC, "NEWS")) as f:
    news = re.findall(r"^Bastion (\S+) \((\d{4}-\d{2}-\d{2})\)\n=+$", f.read(), re.M)
check(len(news) > 0, "NEWS has release headings 'Bastion X.Y.Z (YYYY-MM-DD)' (%d)" % len(news))

meta = ET.parse(os.path.join(SRC, "data", "io.github.bastiongtk.Bastion.metainfo.xml.in.in"))
releases = [(r.get("version"), r.get("date")) for r in meta.getroot().iter("release")]
check(releases == news, "the metainfo's releases are NEWS's: %s vs %s" % (releases, news))

ns = {"d": "http://usefulinc.com/ns/doap#"}
doap = ET.parse(os.path.join(SRC, "bastion.doap"))
doap_rel = [(v.find("d:revision", ns).text, v.find("d:created", ns).text)
            for v in doap.getroot().iter("{http://usefulinc.com/ns/doap#}Version")]
check(doap_rel == news, "bastion.doap's releases are NEWS's: %s vs %s" % (doap_rel, news))

with open(os.path.join(SRC, "meson.build")) as f:
    version = re.search(r"^\s*version:\s*'([^']+)'", f.read(), re.M).group(1)
check(bool(news) and version == news[0][0],
      "meson's project version %s is NEWS's newest release" % version)

print("1..%d" % n)
sys.exit(1 if failed else 0)
