#!/usr/bin/python3
"""Proves that `with-servers --xvfb` gives a working X display of its own (TAP on stdout)."""

import os
import subprocess
import sys


def main():
    print("TAP version 13")
    failed = 0
    display = os.environ.get("DISPLAY", "")
    ok = display.startswith(":") and not os.environ.get("WAYLAND_DISPLAY")
    print("%s 1 - DISPLAY is a local X display (%s) and WAYLAND_DISPLAY is unset"
          % ("ok" if ok else "not ok", display or "unset"))
    failed += not ok

    res = subprocess.run(["xdpyinfo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, timeout=60)
    out = res.stdout.decode(errors="replace")
    ok = res.returncode == 0 and "dimensions:    1280x800 pixels" in out
    print("%s 2 - xdpyinfo answers on the harness's 1280x800 Xvfb" % ("ok" if ok else "not ok"))
    if not ok:
        for line in (res.stderr.decode(errors="replace") + out).splitlines()[:20]:
            print("# " + line)
    failed += not ok

    ok = os.environ.get("GDK_BACKEND") == "x11"
    print("%s 3 - GTK is pointed at X11 (GDK_BACKEND=x11)" % ("ok" if ok else "not ok"))
    failed += not ok
    print("1..3")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
