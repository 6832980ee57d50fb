#!/usr/bin/python3
"""Bastion's memory is closed to others and never dumped (bastion_secure_process_init()).

Run as root under tests/harness/with-servers --sshd --postgres --team demo. An unprivileged user
(nobody) imports the team, trusts the host key and opens a tunnel with its own copy of the team
folder; then, as that same user, the test tries what malware running as the user could do:
read /proc/PID/environ, /proc/PID/mem and /proc/PID/fd, and attach with ptrace. All must fail,
while the same attempts on a control process of that user (sleep) succeed, so the checks can
fail. A SIGSEGV with `ulimit -c unlimited` must leave no core file (the control leaves one).
Also: `bastion-cli launch --port N` of the same user still finds that tunnel (its /proc/PID/fd
is unreadable now; bastion_tunnel_find_port_owner() falls back on the socket's owner).
"""

import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLI = os.environ["BASTION_CLI"]


def reachable_cli(top, env):
    """A copy of bastion-cli, and of the libssh2 it loads, that the user nobody can execute: a
    checkout under /root (0700), as a root user on a fresh machine clones it, is closed to them,
    and a libssh2 in an unreadable LD_LIBRARY_PATH would silently give them the system's 1.10."""
    global CLI
    bindir = os.path.join(top, "bin")
    libdir = os.path.join(top, "lib")
    os.makedirs(bindir, mode=0o755)
    os.makedirs(libdir, mode=0o755)
    copy = os.path.join(bindir, "bastion-cli")
    shutil.copy2(CLI, copy)
    os.chmod(copy, 0o755)
    for d in (env.get("LD_LIBRARY_PATH") or "").split(":"):
        if d and os.path.isdir(d):
            for name in os.listdir(d):
                if name.startswith("libssh2.so") and not os.path.isdir(os.path.join(d, name)):
                    shutil.copy2(os.path.join(d, name), os.path.join(libdir, name),
                                 follow_symlinks=True)
                    os.chmod(os.path.join(libdir, name), 0o755)
    env["LD_LIBRARY_PATH"] = libdir
    CLI = copy
TEAM = os.environ["BASTION_TEST_TEAM"]
TEAM_DIR = os.environ["BASTION_TEST_TEAM_DIR"]
USER = pwd.getpwnam("nobody")

passed = 0
failed = 0
skipped = 0


def check(name, cond, detail=""):
    global passed, failed
    n = passed + failed + skipped + 1
    if cond:
        passed += 1
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s %s" % (n, name, detail))
    sys.stdout.flush()


def skip(name, why):
    global skipped
    skipped += 1
    print("ok %d - %s # SKIP %s" % (passed + failed + skipped, name, why))


# Run by the unprivileged user: what it may do to PID. Prints JSON.
PROBE = r"""
import ctypes, errno, json, os, sys
pid = int(sys.argv[1])
out = {}
for what in ("environ", "mem", "maps"):
    try:
        with open("/proc/%d/%s" % (pid, what), "rb") as f:
            if what != "mem":   # opening mem is the access check; reading needs an address
                f.read(1)
        out[what] = "read"
    except OSError as e:
        out[what] = errno.errorcode.get(e.errno, str(e.errno))
try:
    os.listdir("/proc/%d/fd" % pid)
    out["fd"] = "read"
except OSError as e:
    out["fd"] = errno.errorcode.get(e.errno, str(e.errno))
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(16, pid, None, None) == 0:          # PTRACE_ATTACH
    os.waitpid(pid, 0x40000000)                     # __WALL
    libc.ptrace(17, pid, None, None)                # PTRACE_DETACH
    out["ptrace"] = "attached"
else:
    out["ptrace"] = errno.errorcode.get(ctypes.get_errno(), "?")
print(json.dumps(out))
"""


def as_user(cwd):
    return dict(user=USER.pw_uid, group=USER.pw_gid, extra_groups=[], cwd=cwd)


def probe(pid, env):
    res = subprocess.run(["/usr/bin/python3", "-c", PROBE, str(pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, timeout=60,
                         **as_user("/"))
    try:
        return json.loads(res.stdout.decode())
    except ValueError:
        return {"error": res.stdout.decode(errors="replace")}


def wait_for(proc, log, text, timeout=180):
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        with open(log) as f:
            content = f.read()
        if text in content or proc.poll() is not None:
            break
        time.sleep(0.1)
    return text in content, content


def cores_in(path):
    return sorted(n for n in os.listdir(path) if n == "core" or n.startswith("core."))


# The soft core limit as high as the hard one allows (unlimited, except under some sudo setups).
RAISE_CORE = 'ulimit -S -c "$(ulimit -H -c)"'


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP runs bastion-cli as the user nobody: needs root")
        return 0
    # Let children raise their own core limit (bastion-cli lowers its soft limit itself). Under
    # sudo the hard limit can be 0 and, without CAP_SYS_RESOURCE (a container), stay there: then
    # the control cannot dump either and the core-file check below is skipped, saying so.
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError) as e:
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        print("# cannot raise the core size limit (%s); hard limit %s" % (e, hard))

    top = tempfile.mkdtemp(prefix="bastion-no-core.")
    os.chmod(top, 0o755)
    procs = []
    try:
        home = os.path.join(top, "home")
        simpleiot = os.path.join(top, "simpleiot")
        runtime = os.path.join(top, "runtime")
        cores = os.path.join(top, "cores")
        os.makedirs(home, mode=0o700)
        os.makedirs(runtime, mode=0o700)
        os.makedirs(cores, mode=0o700)
        shutil.copytree(TEAM_DIR, os.path.join(simpleiot, TEAM))
        for root, dirs, files in os.walk(top):
            for name in dirs + files + ["."]:
                os.chown(os.path.join(root, name), USER.pw_uid, USER.pw_gid)

        env = dict(os.environ)
        env.update({
            "HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_RUNTIME_DIR": runtime, "BASTION_SIMPLEIOT_DIR": simpleiot,
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=%s/no-bus" % top,
            "USER": USER.pw_name, "LOGNAME": USER.pw_name,
        })
        reachable_cli(top, env)

        for args in (["import"], ["hostkey", TEAM, "--trust"]):
            res = subprocess.run([CLI] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env=env, timeout=180, **as_user(home))
            check("nobody: bastion-cli %s exits 0" % " ".join(args), res.returncode == 0,
                  res.stdout.decode(errors="replace")[-1500:])

        # The tunnel, started from a shell that allows core dumps of any size.
        log = os.path.join(top, "tunnel.log")
        with open(log, "w") as out:
            tunnel = subprocess.Popen(["/bin/sh", "-c", RAISE_CORE + ' && exec "$0" "$@"',
                                       CLI, "tunnel", TEAM, "--port", "0"],
                                      stdout=out, stderr=subprocess.STDOUT, env=env,
                                      **as_user(cores))
        procs.append(tunnel)
        up, text = wait_for(tunnel, log, "listening 127.0.0.1:")
        check("nobody: bastion-cli tunnel is up", up, text[-1500:])
        if not up:
            return
        port = text.split("listening 127.0.0.1:", 1)[1].split()[0]

        # The control: a process of the same user that did not protect itself.
        control = subprocess.Popen(["/bin/sh", "-c", RAISE_CORE + " && exec sleep 600"],
                                   env=env, **as_user(cores))
        procs.append(control)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open("/proc/%d/cmdline" % control.pid, "rb") as f:
                if f.read().startswith(b"sleep"):
                    break
            time.sleep(0.05)

        with open("/proc/%d/status" % tunnel.pid) as f:
            uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
        check("the tunnel runs as nobody (uid %d)" % USER.pw_uid,
              uids == [str(USER.pw_uid)] * 4, " ".join(uids))
        st = os.stat("/proc/%d/environ" % tunnel.pid)
        check("its /proc/PID/environ belongs to root (the kernel's mark of a non-dumpable "
              "process)", st.st_uid == 0, "uid %d" % st.st_uid)
        check("the control's /proc/PID/environ belongs to nobody",
              os.stat("/proc/%d/environ" % control.pid).st_uid == USER.pw_uid)
        with open("/proc/%d/limits" % tunnel.pid) as f:
            core = [line.split()[4:6] for line in f if line.startswith("Max core file size")][0]
        check("its soft core size limit is 0 (/proc/PID/limits)", core[0] == "0", " ".join(core))

        mine = probe(tunnel.pid, env)
        ctl = probe(control.pid, env)
        print("# nobody on bastion-cli: %s; on the control: %s" % (mine, ctl))
        for what in ("environ", "mem", "maps", "fd"):
            check("the same user can read the control's /proc/PID/%s" % what,
                  ctl.get(what) == "read", str(ctl))
            check("the same user cannot read bastion-cli's /proc/PID/%s" % what,
                  mine.get(what) in ("EACCES", "EPERM"), str(mine))
        if ctl.get("ptrace") == "attached":
            check("the same user cannot ptrace-attach to bastion-cli (gdb -p)",
                  mine.get("ptrace") == "EPERM", str(mine))
        else:
            skip("the same user cannot ptrace-attach to bastion-cli",
                 "ptrace is restricted here (control: %s)" % ctl.get("ptrace"))

        # The same user's launch finds the running tunnel (instead of "no tunnel is listening").
        res = subprocess.run([CLI, "launch", TEAM, "psql", "--port", port],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                             timeout=180, **as_user(home))
        text = res.stdout.decode(errors="replace")
        print("# nobody's launch (exit %d): %s" % (res.returncode, text.strip()[-300:]))
        # It has no keyring, so it stops at the password, the step after the tunnel check.
        check("nobody: bastion-cli launch --port %s sees the non-dumpable tunnel" % port,
              "no tunnel is listening" not in text and "launch: password:" in text, text[-1500:])

        pattern = open("/proc/sys/kernel/core_pattern").read().strip()
        if pattern.startswith("|") or "/" in pattern:
            skip("a SIGSEGV of bastion-cli leaves no core file",
                 "core_pattern is %r, not a plain file name in the working folder" % pattern)
            return
        os.kill(control.pid, signal.SIGSEGV)
        control.wait(timeout=60)
        # The kernel writes the core before the exit status is reported.
        control_cores = cores_in(cores)
        if not control_cores:
            skip("a SIGSEGV of bastion-cli leaves no core file",
                 "the control process left no core here either (core_pattern %r)" % pattern)
            return
        check("the control left a core file (%s)" % " ".join(control_cores), True)
        for name in control_cores:
            os.unlink(os.path.join(cores, name))
        os.kill(tunnel.pid, signal.SIGSEGV)
        tunnel.wait(timeout=60)
        # Built with AddressSanitizer (tools/run-tests --sanitize), its SIGSEGV handler reports
        # and then aborts: SIGABRT is the same crash.
        check("bastion-cli was killed by SIGSEGV (or SIGABRT from AddressSanitizer's handler)",
              tunnel.returncode in (-signal.SIGSEGV, -signal.SIGABRT), str(tunnel.returncode))
        left = cores_in(cores)
        check("a SIGSEGV of bastion-cli (ulimit -c unlimited) leaves no core file", not left,
              " ".join(left))
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(top, ignore_errors=True)
        print("1..%d" % (passed + failed + skipped))
    return 0


if __name__ == "__main__":
    main()
    sys.exit(1 if failed else 0)
