#!/usr/bin/env python3
# Behaviour tests of runsc-ts-sentry on its own (run as root): spawns the sentry, builds a busybox
# rootfs in a temp dir, and drives the control API through sentry_client. Cleans up after itself.
#   python3 sentry-native/sentry/test/sentry_test.py [--binary PATH] [-k NAME_SUBSTRING] [-v]
# Tests of trapped calls run once per platform (name[ptrace], name[unotify]). --measure RUNS only
# measures what a trapped call costs on each platform (median of RUNS runs; no assertion).
import argparse
import functools
import os
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sentry_client import (MS_BIND, MS_RDONLY, MS_REC, PLATFORM_PTRACE, PLATFORM_UNOTIFY, RpcError, Sentry,  # noqa: E402
                           default_mounts, f_bytes, f_msg, f_varint, mount_msg, process_msg, seccomp_msg, spec_msg, stdio_msg, trap_msg)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BINARY = os.path.join(HERE, "..", "..", "build", "Release", "runsc-ts-sentry")
APPLETS = ["sh", "echo", "sleep", "ps", "cat", "id", "hostname", "true", "false", "mount", "stty", "ls",
           "kill", "grep", "wc", "umount", "test", "head", "readlink", "cut"]
MARKER = "424242"  # sleeps of the tests use this duration, to find leftovers
# Every capability the test (and so the sentry) holds: a container cannot get more.
ALL_CAPS = int([l for l in open("/proc/self/status") if l.startswith("CapBnd:")][0].split()[1], 16)


def make_rootfs(base):
    root = os.path.join(base, "rootfs")
    for d in ["bin", "proc", "dev", "sys", "tmp", "mnt", "etc", "root"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2("/bin/busybox", os.path.join(root, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    subprocess.run(["gcc", "-static", "-O2", "-pthread", os.path.join(HERE, "probe.c"), "-o",
                    os.path.join(root, "bin", "probe")], check=True)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\n")
    return root


def read_all(fd, timeout=10):
    """Reads fd until EOF (or timeout)."""
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if not r:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        out += chunk
    return out


def read_until(fd, needle, timeout=10):
    out = b""
    deadline = time.time() + timeout
    while needle not in out and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if not r:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        out += chunk
    return out


def eventually(fn, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            return v
        time.sleep(interval)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_error(fn, code, text):
    try:
        fn()
    except RpcError as e:
        expect(e.code == code, "expected code %d, got %d (%s)" % (code, e.code, e.message))
        expect(text in e.message, "expected %r in %r" % (text, e.message))
        return e
    raise AssertionError("expected an error containing %r" % text)


# Cgroups made by the tests live under parents named after this test run.
CGROUP_PREFIX = "runsc-ts-sentry-test-%d" % os.getpid()


def cgroup_mounts():
    out = []
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[f.index("-") + 1] in ("cgroup", "cgroup2"):
            out.append(f[4])
    return out


def cgroup_dirs(path):
    """The directories of the cgroup path (absolute) in every hierarchy."""
    return [os.path.join(m, path.lstrip("/")) for m in cgroup_mounts()]


def existing_cgroup_dirs(path):
    return [d for d in cgroup_dirs(path) if os.path.exists(d)]


def remove_cgroup_tree(path):
    """Test cleanup: removes path and everything below it in every hierarchy (deepest first)."""
    for top in existing_cgroup_dirs(path):
        for root, dirs, _ in os.walk(top, topdown=False):
            for d in dirs:
                try:
                    os.rmdir(os.path.join(root, d))
                except OSError:
                    pass
        try:
            os.rmdir(top)
        except OSError:
            pass


def nspid(pid):
    """The NSpid values of a host pid: host, sandbox, and any nested namespace's."""
    for line in open("/proc/%d/status" % pid):
        if line.startswith("NSpid:"):
            return [int(x) for x in line.split()[1:]]
    return []


def gone(pid):
    """Dead, or dying: PF_EXITING (a namespace's init stays in exit until its namespace is empty)."""
    try:
        fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return True
    return fields[0] in ("Z", "X") or int(fields[6]) & 0x4 != 0


class Env:
    def __init__(self, binary, tmp):
        self.binary = binary
        self.tmp = tmp
        self.rootfs = make_rootfs(tmp)
        self.log_path = os.path.join(tmp, "sentry.log")
        self.sentry = Sentry(binary, "main", log_path=self.log_path)
        self.n = 0
        # The sandbox's root container (PID 1), as the pause container of a pod.
        pid, spid = self.sentry.create("pause", spec_msg(self.rootfs), process_msg(["sleep", MARKER]))
        expect(spid == 1, "the first container's init is sandbox PID 1 (got %d)" % spid)
        self.sentry.start("pause")
        self.pause_pid = pid

    def name(self, prefix):
        self.n += 1
        return "%s-%d" % (prefix, self.n)

    def run(self, args, stdout=True, stderr=False, spec=None, destroy=True, **kw):
        """Creates+starts a container, waits for it; returns (status, stdout bytes, stderr bytes)."""
        cid = self.name("c")
        fds, keep = [], []
        if stdout:
            r1, w1 = os.pipe()
            fds.append(w1)
            keep.append(r1)
        if stderr:
            r2, w2 = os.pipe()
            fds.append(w2)
            keep.append(r2)
        try:
            pid, _ = self.sentry.create(cid, spec or spec_msg(self.rootfs),
                                        process_msg(args, stdio=stdio_msg(stdout=stdout, stderr=stderr), **kw), fds)
        finally:
            for fd in fds:
                os.close(fd)
        stream = self.sentry.wait_send(cid, pid)
        self.sentry.start(cid)
        out = read_all(keep[0]) if stdout else b""
        err = read_all(keep[-1]) if stderr else b""
        for fd in keep:
            os.close(fd)
        status = self.sentry.result(stream)
        if destroy:
            self.sentry.destroy(cid)
        return status.get(1, [0])[0], out, err

    def close(self):
        self.sentry.close()


# The platforms a trapped call can reach the sentry by.
PLATFORMS = (("ptrace", PLATFORM_PTRACE), ("unotify", PLATFORM_UNOTIFY))


def on_both_platforms(fn):
    """Marks a test that takes platform=: it runs once per platform, as fn[ptrace] and fn[unotify]."""
    fn.per_platform = True
    return fn


# ---- tests ----

def test_exit_code(env):
    status, _, _ = env.run(["sh", "-c", "exit 3"], stdout=False)
    expect(status == 3, "exit status 3, got %d" % status)


def test_stdout_pipe(env):
    status, out, _ = env.run(["echo", "hi"])
    expect(status == 0 and out == b"hi\n", "echo hi: status %d out %r" % (status, out))


def test_stderr_pipe(env):
    status, out, err = env.run(["sh", "-c", "echo out; echo err >&2"], stderr=True)
    expect(out == b"out\n" and err == b"err\n", "out %r err %r" % (out, err))


def test_exec_ps_sees_init_as_pid1(env):
    r, w = os.pipe()
    try:
        pid, spid = env.sentry.exec("pause", "ps1", process_msg(["ps"], stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    out = read_all(r).decode()
    os.close(r)
    status = env.sentry.wait("pause", pid)
    expect(status == 0, "ps status %d" % status)
    lines = [l.split() for l in out.splitlines()[1:]]
    expect(any(l[0] == "1" and "sleep" in l[2:] for l in lines), "init is PID 1 in:\n" + out)
    expect(any(l[0] == str(spid) and "ps" in l[2:] for l in lines), "ps itself (sandbox pid %d) in:\n%s" % (spid, out))


def test_kill9_gives_137(env):
    cid = env.name("kill")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
    env.sentry.start(cid)
    stream = env.sentry.wait_send(cid, pid)
    env.sentry.signal(cid, signal.SIGKILL)
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status == 137, "status 137, got %d" % status)
    expect_error(lambda: env.sentry.signal(cid, signal.SIGTERM), 5, "process already finished")
    env.sentry.destroy(cid)


def test_sigterm_gives_143(env):
    cid = env.name("term")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
    env.sentry.start(cid)
    env.sentry.signal(cid, signal.SIGTERM, pid=pid)
    status = env.sentry.wait(cid, pid)
    expect(status == 143, "status 143, got %d" % status)
    env.sentry.destroy(cid)


def test_mount_allowed_without_trap(env):
    status, out, err = env.run(["sh", "-c", "mount -t tmpfs x /mnt && echo mounted"], stderr=True, caps=ALL_CAPS)
    expect(status == 0 and b"mounted" in out, "control case: status %d out %r err %r" % (status, out, err))


@on_both_platforms
def test_trapped_mount_denied_eperm(env, platform):
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(traps=[trap_msg("mount", 0, 1)], platform=platform))
    status, out, err = env.run(["sh", "-c", "mount -t tmpfs x /mnt; echo rc=$?"], stderr=True, spec=spec, caps=ALL_CAPS)
    expect(b"rc=255" in out or b"rc=1" in out, "mount failed: out %r err %r" % (out, err))
    expect(b"ermission denied" in err or b"not permitted" in err, "EPERM text in %r" % err)


# ---- checked mounts (Trap decision MOUNT_CHECKED: privileged containers, both platforms) ----

MOUNT_CHECKED = 2
CAP_SYS_ADMIN = 1 << 21


class _CheckedMountFiles:
    """Directories (/cm/t, /cm/p, /cm/b, /cm/x), a block device node (/cm/blk, loop0), a symlink to
    it (/cm/lnk) and a file (/cm/f) in the shared test rootfs, removed afterwards."""

    def __init__(self, env):
        self.base = os.path.join(env.rootfs, "cm")

    def __enter__(self):
        os.makedirs(self.base, exist_ok=True)
        for d in ("t", "p", "b", "x"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        os.mknod(os.path.join(self.base, "blk"), stat.S_IFBLK | 0o600, os.makedev(7, 0))
        os.symlink("/cm/blk", os.path.join(self.base, "lnk"))
        with open(os.path.join(self.base, "f"), "w") as f:
            f.write("x")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.base, ignore_errors=True)


def _checked_mount_run(env, platform, script, caps=ALL_CAPS, decision=MOUNT_CHECKED):
    # The container's /proc has timer_list masked and sys read-only, as every container's (the shim's floor).
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(traps=[trap_msg("mount", decision, 1), trap_msg("umount2", decision, 1)],
                                                    log_traps=True, platform=platform),
                    masked=["/proc/timer_list"], readonly=["/proc/sys"])
    with _CheckedMountFiles(env):
        return env.run(["sh", "-c", script], stderr=True, spec=spec, caps=caps)


@on_both_platforms
def test_checked_mount_allows_the_safe_kinds(env, platform):
    script = ("mount -t tmpfs x /cm/t; echo tmpfs=$?; mount -t proc p /cm/p; echo proc=$?; "
              "mount --bind /etc /cm/b; echo bind=$?; mount -o ro,nosuid,nodev -t tmpfs y /cm/x; echo tmpfsro=$?; "
              "cat /proc/mounts; ls /cm/b; test -d /cm/p/1 && echo proc-has-1")
    status, out, err = _checked_mount_run(env, platform, script)
    text = out.decode()
    for kind in ("tmpfs", "proc", "bind", "tmpfsro"):
        expect("%s=0" % kind in text, "%s mount done: out %r err %r" % (kind, out, err))
    mounts = [l.split() for l in text.splitlines() if l.startswith(("x ", "p ", "y ")) or " /cm/" in l]
    expect(any(m[1] == "/cm/t" and m[2] == "tmpfs" for m in mounts), "tmpfs in /proc/mounts: %r" % text)
    expect(any(m[1] == "/cm/p" and m[2] == "proc" for m in mounts), "proc in /proc/mounts: %r" % text)
    expect(any(m[1] == "/cm/b" for m in mounts), "bind in /proc/mounts: %r" % text)
    expect(any(m[1] == "/cm/x" and m[3].startswith("ro,") and "nosuid" in m[3] for m in mounts),
           "read-only tmpfs in /proc/mounts: %r" % text)
    expect("passwd" in text and "group" in text, "the bind shows /etc: %r" % text)
    expect("proc-has-1" in text, "the proc mount shows the sandbox's processes: %r" % text)
    expect(status == 0, "status %d" % status)
    # A proc it mounts, and a bind of its /proc, keep what its /proc has masked and read-only (the
    # write is to the sandbox's own UTS domain name, harmless wherever it lands); sysfs is read-only.
    script = ("mount -t proc p /cm/p; echo proc=$?; echo -n sb > /cm/p/sys/kernel/domainname; echo procsys=$?; "
              "test -c /cm/p/timer_list && echo timer-list-masked; mount --bind /proc /cm/b; echo bind=$?; "
              "echo -n sb > /cm/b/sys/kernel/domainname; echo bindsys=$?; test -c /cm/b/timer_list && echo bind-timer-list-masked; "
              "mount -t sysfs s /cm/t; echo sysfs=$?; cat /proc/mounts")
    status, out, err = _checked_mount_run(env, platform, script)
    text = out.decode()
    for want in ("proc=0", "bind=0", "sysfs=0", "timer-list-masked", "bind-timer-list-masked"):
        expect(want in text, "%s: out %r err %r" % (want, out, err))
    for refused in ("procsys", "bindsys"):
        expect("%s=0" % refused not in text and "%s=" % refused in text, "%s refused: out %r err %r" % (refused, out, err))
    expect(b"Read-only file system" in err, "EROFS text in %r" % err)
    sysfs = [l.split() for l in text.splitlines() if " /cm/t " in l]
    expect(sysfs and sysfs[0][3].startswith("ro"), "sysfs mounted read-only: %r" % text)
    # sysfs, devpts, mqueue; a relative target resolves from the caller's working directory.
    script = ("mount -t sysfs s /cm/t; echo sysfs=$?; mount -t devpts -o newinstance d /cm/p; echo devpts=$?; "
              "mount -t mqueue m /cm/b; echo mqueue=$?; cd /cm && mount -t tmpfs r x; echo rel=$?; cat /proc/mounts")
    status, out, err = _checked_mount_run(env, platform, script)
    text = out.decode()
    for kind in ("sysfs", "devpts", "mqueue", "rel"):
        expect("%s=0" % kind in text, "%s mount done: out %r err %r" % (kind, out, err))
    mounts = [l.split() for l in text.splitlines() if " /cm/" in l]
    expect(sorted((m[1], m[2]) for m in mounts) == [("/cm/b", "mqueue"), ("/cm/p", "devpts"), ("/cm/t", "sysfs"),
                                                    ("/cm/x", "tmpfs")], "mounts: %r" % text)


@on_both_platforms
def test_checked_mount_refuses_the_rest(env, platform):
    script = ("mount -t ext4 /dev/xxx /cm/t; echo ext4=$?; mount --bind /cm/blk /cm/f; echo blk=$?; "
              "mount --bind /cm/lnk /cm/f; echo lnk=$?; mount -t tmpfs -o remount x /cm/t; echo remount=$?; "
              "mount -t tmpfs -o suid,dirsync x /cm/t; echo dirsync=$?; mount -t cgroup2 c /cm/t; echo cgroup=$?; "
              "mount --make-shared /cm; echo shared=$?; cat /proc/mounts")
    start = _log_size(env)
    status, out, err = _checked_mount_run(env, platform, script)
    text = out.decode()
    for kind in ("ext4", "blk", "lnk", "remount", "dirsync", "cgroup", "shared"):
        expect("%s=0" % kind not in text and "%s=" % kind in text, "%s refused: out %r err %r" % (kind, out, err))
    expect(" /cm/" not in text, "nothing mounted: %r" % text)
    expect(b"ermission denied" in err or b"not permitted" in err, "EPERM text in %r" % err)
    lines = _trap_lines(env, start)
    expect(lines and all("syscall mount" in l and "checked" in l for l in lines), "trap log: %r" % lines)


@on_both_platforms
def test_checked_mount_unmounts_only_its_own(env, platform):
    # A container unmounts what it mounted through checked mounts, once; never the sentry's
    # mounts (/proc, /dev, its root) nor a plain directory (EINVAL, as the kernel says).
    script = ("mount -t tmpfs x /cm/t; echo mount=$?; umount /cm/t; echo own=$?; umount /cm/t; echo again=$?; "
              "mount --bind /etc /cm/b; umount -l /cm/b; echo lazy=$?; umount /proc; echo proc=$?; umount -l /dev; "
              "echo dev=$?; umount /cm/x; echo plain=$?; mount -t tmpfs y /cm/p; echo mount2=$?; cat /proc/mounts")
    status, out, err = _checked_mount_run(env, platform, script)
    text = out.decode()
    for want in ("mount=0", "own=0", "lazy=0", "mount2=0"):
        expect(want in text, "%s: out %r err %r" % (want, out, err))
    for refused in ("again", "proc", "dev", "plain"):
        expect("%s=0" % refused not in text and "%s=" % refused in text, "%s refused: out %r err %r" % (refused, out, err))
    mounts = [l.split() for l in text.splitlines() if " /cm/" in l or l.startswith("proc ")]
    expect(sorted(m[1] for m in mounts if m[1].startswith("/cm/")) == ["/cm/p"], "only /cm/p left mounted: %r" % text)
    expect(any(m[1] == "/proc" for m in mounts), "/proc still mounted: %r" % text)


@on_both_platforms
def test_trap_allow_if_patterns(env, platform):
    # A DENY trap whose allow_if pattern matches the call's registers lets it run: mknodat of a
    # fifo (mode & S_IFMT == S_IFIFO) runs, of a char device is EPERM.
    s_ifmt, s_ififo = 0o170000, 0o010000
    traps = [trap_msg("mknodat", 0, 1, allow_if=[[(2, s_ifmt, s_ififo)]]), trap_msg("mknod", 0, 1, allow_if=[[(1, s_ifmt, s_ififo)]])]
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(traps=traps, log_traps=True, platform=platform))
    script = ("mkfifo /tmp/ff; echo fifo=$?; mknod /tmp/cc c 1 3; echo chr=$?; "
              "ls -l /tmp/ff /tmp/cc; rm -f /tmp/ff /tmp/cc")
    start = _log_size(env)
    status, out, err = env.run(["sh", "-c", script], stderr=True, spec=spec, caps=ALL_CAPS)
    text = out.decode()
    expect("fifo=0" in text and "chr=1" in text, "fifo made, char device refused: out %r err %r" % (out, err))
    expect(b"ermission denied" in err or b"not permitted" in err, "EPERM text in %r" % err)
    lines = _trap_lines(env, start)
    expect(any("allowed" in l for l in lines) and any("denied" in l for l in lines), "trap log: %r" % lines)


@on_both_platforms
def test_checked_mount_needs_cap_sys_admin(env, platform):
    # Without CAP_SYS_ADMIN in the caller's effective set every mount is EPERM.
    for caps in [ALL_CAPS & ~CAP_SYS_ADMIN]:
        _, out, err = _checked_mount_run(env, platform, "mount -t tmpfs x /cm/t; echo rc=$?; "
                                         "mount --bind /etc /cm/b; echo bind=$?; cat /proc/mounts", caps=caps)
        expect(b"rc=0" not in out and b"bind=0" not in out and b" /cm/" not in out,
               "caps 0x%x denied: out %r err %r" % (caps, out, err))
        expect(b"ermission denied" in err or b"not permitted" in err, "EPERM text in %r" % err)
    # A plain DENY trap stays a denial with every capability (unotify too).
    _, out, err = _checked_mount_run(env, platform, "mount -t tmpfs x /cm/t; echo rc=$?", decision=0)
    expect(b"rc=0" not in out, "DENY: out %r err %r" % (out, err))


@on_both_platforms
def test_trapped_allow_and_errno(env, platform):
    # ALLOW lets the call run; DENY with another errno fails with that errno (EACCES = 13).
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(traps=[trap_msg("mount", 1, 0), trap_msg("umount2", 0, 13)],
                                                    log_traps=True, platform=platform))
    status, out, err = env.run(["sh", "-c", "mount -t tmpfs x /mnt && echo mounted; umount /mnt; echo rc=$?"],
                               stderr=True, spec=spec, caps=ALL_CAPS)
    expect(b"mounted" in out, "allowed mount ran: out %r err %r" % (out, err))
    expect(b"rc=0" not in out, "denied umount failed: out %r err %r" % (out, err))


def test_oci_seccomp_rule(env):
    # An OCI rule: mkdir -> ERRNO(EPERM), default allow.
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(rules=[(["mkdir", "mkdirat"], 0x00050000 | 1)]))
    status, out, err = env.run(["sh", "-c", "mkdir /tmp/x; echo rc=$?"], stderr=True, spec=spec)
    expect(b"rc=1" in out and b"not permitted" in err, "mkdir denied: out %r err %r" % (out, err))


def _strace_run(env, args, **seccomp):
    """Runs args with strace on; returns (status, stdout, the new strace lines of the log)."""
    with open(env.log_path, "rb") as f:
        start = len(f.read())
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(strace=True, **seccomp))
    status, out, _ = env.run(args, stderr=True, spec=spec, caps=ALL_CAPS)
    with open(env.log_path, "rb") as f:
        lines = f.read()[start:].decode("utf-8", "replace").splitlines()
    return status, out, [l for l in lines if "strace: " in l]


def test_strace_logs_calls_with_results(env):
    status, out, lines = _strace_run(env, ["sh", "-c", "cat /etc/passwd > /dev/null; echo hi"])
    expect(status == 0 and out == b"hi\n", "strace changes nothing: status %d out %r" % (status, out))
    opens = [l for l in lines if re.search(r' X openat\(.*"/etc/passwd".*\) = (\d+) \(\d+ us\)$', l)]
    expect(opens, "an openat of /etc/passwd with its fd: %r" % lines[-40:])
    expect(re.search(r"strace: c-\d+ \d+/\d+ X", opens[0]), "container, host and sandbox pid: %r" % opens[0])
    writes = [l for l in lines if re.search(r' X write\(1, "hi\\n", 3\) = 3 ', l)]
    expect(writes, "the write of hi: %r" % [l for l in lines if "write(" in l])
    expect(any(re.search(r' X execve\("/bin/sh", .*\) = 0 ', l) for l in lines),
           "execve is followed across the exec: %r" % [l for l in lines if "execve" in l])


def test_strace_syscalls_limits_the_log(env):
    status, out, lines = _strace_run(env, ["sh", "-c", "cat /etc/passwd > /dev/null; echo hi"],
                                     strace_syscalls=["openat"])
    expect(status == 0 and out == b"hi\n", "status %d out %r" % (status, out))
    expect(any('openat(' in l and '"/etc/passwd"' in l for l in lines), "openat logged: %r" % lines)
    expect(not [l for l in lines if " write(" in l or " execve(" in l], "only openat: %r" % lines)


def test_strace_log_size_truncates(env):
    _, _, lines = _strace_run(env, ["sh", "-c", "echo abcdefghijklmnop"], strace_syscalls=["write"],
                              strace_log_size=4)
    expect(any('write(1, "abcd"..., 17) = 17' in l for l in lines), "cut at 4 bytes: %r" % lines)


@on_both_platforms
def test_strace_trapped_call_keeps_its_decision(env, platform):
    # Under strace the traps stay on the ptrace path whatever the platform: logged like every call.
    status, out, lines = _strace_run(env, ["sh", "-c", "mount -t tmpfs x /mnt; echo rc=$?"],
                                     traps=[trap_msg("mount", 0, 1)], platform=platform)
    expect(b"rc=" in out and b"rc=0" not in out, "mount still denied: %r" % out)
    expect(any(" X mount(" in l and "= -1 EPERM" in l and "trapped: denied" in l for l in lines),
           "the denied mount is logged with EPERM: %r" % [l for l in lines if "mount" in l])


def test_strace_leaves_profile_denials_alone(env):
    status, out, lines = _strace_run(env, ["sh", "-c", "mkdir /tmp/x; echo rc=$?"],
                                     rules=[(["mkdir", "mkdirat"], 0x00050000 | 1)])
    expect(b"rc=1" in out, "mkdir still denied by the profile: %r" % out)
    expect(not [l for l in lines if " mkdir(" in l or " mkdirat(" in l],
           "a call the profile denies is not traced: %r" % [l for l in lines if "mkdir" in l])
    expect(any(" X write(" in l for l in lines), "the rest is traced: %r" % lines[-5:])


def test_strace_unknown_syscall_name_rejected(env):
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(strace=True, strace_syscalls=["openat", "nosuchcall"]))
    expect_error(lambda: env.sentry.create(env.name("st"), spec, process_msg(["true"])), 3,
                 'strace-syscalls: unknown syscall "nosuchcall"')


def test_fork_tracking(env):
    cid = env.name("forks")
    pid, spid = env.sentry.create(cid, spec_msg(env.rootfs),
                                  process_msg(["sh", "-c", "sleep %s & sleep %s & wait" % (MARKER, MARKER)]))
    env.sentry.start(cid)
    # Wait for both children to have exec'd sleep (a fresh child shows sh, or "exe" mid-exec).
    procs = eventually(lambda: (lambda p: p if len(p) == 3 and sum(x["cmd"] == "sleep" for x in p) == 2 else None)(
        env.sentry.processes(cid)))
    expect(procs and len(procs) == 3, "3 processes, got %r" % (procs,))
    sh = [p for p in procs if p["pid"] == pid]
    expect(len(sh) == 1 and sh[0]["ppid"] == 0 and sh[0]["sandbox_pid"] == spid, "init entry %r" % procs)
    sleeps = [p for p in procs if p["cmd"] == "sleep"]
    expect(len(sleeps) == 2 and all(p["ppid"] == pid and p["sandbox_ppid"] == spid for p in sleeps),
           "sleeps are children of sh: %r" % procs)
    env.sentry.signal(cid, signal.SIGKILL, all=True)
    expect(env.sentry.wait(cid, pid) == 137, "init killed")
    expect(eventually(lambda: env.sentry.processes(cid) == []), "no processes left")
    env.sentry.destroy(cid)


def test_exec_id_inherited(env):
    r, w = os.pipe()
    try:
        pid, _ = env.sentry.exec("pause", "bg1", process_msg(["sh", "-c", "sleep %s & echo started; wait" % MARKER],
                                                             stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    expect(b"started" in read_until(r, b"started"), "exec started")
    procs = eventually(lambda: [p for p in env.sentry.processes("pause") if p["exec_id"] == "bg1"] if len(
        [p for p in env.sentry.processes("pause") if p["exec_id"] == "bg1"]) == 2 else None)
    expect(procs and len(procs) == 2, "exec and its child carry exec_id: %r" % env.sentry.processes("pause"))
    init = [p for p in env.sentry.processes("pause") if p["sandbox_pid"] == 1]
    expect(len(init) == 1 and init[0]["exec_id"] == "", "init has no exec id")
    for p in procs:
        if p["pid"] != pid:
            env.sentry.signal("pause", signal.SIGKILL, pid=p["pid"])
    expect(env.sentry.wait("pause", pid) == 0, "exec'd sh exits 0 after its child is killed")
    os.close(r)


def _spawner_script():
    return "i=0; while [ $i -lt 400 ]; do sleep %s & i=$((i+1)); done; wait" % MARKER


def test_signal_all_kill_contains_spawner(env):
    cid = env.name("bomb")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sh", "-c", _spawner_script()]))
    stream = env.sentry.wait_send(cid, pid)
    env.sentry.start(cid)
    eventually(lambda: len(env.sentry.processes(cid)) > 20)
    env.sentry.signal(cid, signal.SIGKILL, all=True)
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status == 137, "spawner killed: %d" % status)
    left = eventually(lambda: env.sentry.processes(cid) == [], timeout=10)
    expect(left, "no process escaped: %r" % env.sentry.processes(cid))
    env.sentry.destroy(cid)


def test_signal_all_term_freezes_first(env):
    cid = env.name("bombterm")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sh", "-c", _spawner_script()]))
    stream = env.sentry.wait_send(cid, pid)
    env.sentry.start(cid)
    eventually(lambda: len(env.sentry.processes(cid)) > 20)
    env.sentry.signal(cid, signal.SIGTERM, all=True)
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status == 143, "spawner terminated: %d" % status)
    left = eventually(lambda: env.sentry.processes(cid) == [], timeout=10)
    expect(left, "no process escaped: %r" % env.sentry.processes(cid))
    env.sentry.destroy(cid)


def test_signal_all_stop_cont(env):
    cid = env.name("stopcont")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sh", "-c", "sleep %s & wait" % MARKER]))
    env.sentry.start(cid)
    eventually(lambda: len(env.sentry.processes(cid)) == 2)
    env.sentry.signal(cid, signal.SIGSTOP, all=True)

    def state(p):
        return open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[0]
    pids = [p["pid"] for p in env.sentry.processes(cid)]
    expect(eventually(lambda: all(state(p) in "tT" for p in pids)), "stopped: %r" % [state(p) for p in pids])
    env.sentry.signal(cid, signal.SIGCONT, all=True)
    expect(eventually(lambda: all(state(p) in "SR" for p in pids)), "running again: %r" % [state(p) for p in pids])
    env.sentry.destroy(cid)
    expect_error(lambda: env.sentry.processes(cid), 5, "not found")


def test_nonexistent_binary(env):
    expect_error(lambda: env.sentry.create(env.name("nope"), spec_msg(env.rootfs), process_msg(["/nope"])),
                 2, 'exec: "/nope": stat /nope: no such file or directory')
    expect_error(lambda: env.sentry.create(env.name("nope"), spec_msg(env.rootfs), process_msg(["nope"])),
                 2, 'exec: "nope": executable file not found in $PATH')


def test_bad_cwd(env):
    # A missing cwd is created (as runc does); one below a regular file cannot be.
    expect_error(lambda: env.sentry.create(env.name("cwd"), spec_msg(env.rootfs), process_msg(["true"], cwd="/bin/busybox/sub")),
                 2, 'chdir to cwd ("/bin/busybox/sub") set in config.json failed: not a directory')


def test_missing_rootfs(env):
    expect_error(lambda: env.sentry.create(env.name("root"), spec_msg("/nonexistent-rootfs"), process_msg(["true"])),
                 2, 'setting up rootfs "/nonexistent-rootfs": no such file or directory')


def test_bad_mount(env):
    mounts = default_mounts() + [mount_msg("/mnt/x", "nosuchfs", "none")]
    expect_error(lambda: env.sentry.create(env.name("mnt"), spec_msg(env.rootfs, mounts=mounts), process_msg(["true"])),
                 2, 'mounting "none" to rootfs at "/mnt/x": no such device')


def test_root_overlay_checked(env):
    # A root overlay is refused, before anything is mounted, unless it is whole: served by the
    # gofer, with absolute directories that fit in mount options, 1 to 128 layers, one fd each
    # (the fds of a refused request are closed: the next one starts from an empty queue).
    def overlay(upper="/u/fs", work="/u/work", layers=1, options=""):
        return f_msg(15, f_bytes(1, upper) + f_bytes(2, work) + f_bytes(3, options) + f_varint(4, layers))
    def create(extra, nfds):
        fds = [os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC) for _ in range(nfds)]
        try:
            env.sentry.create(env.name("ovl"), spec_msg(env.rootfs) + extra, process_msg(["true"]), fds)
        finally:
            for fd in fds:
                os.close(fd)
    fuse = f_varint(13, 1)
    cases = [
        (overlay(), 0, "a root overlay needs the root served by a gofer"),
        (fuse + overlay(upper="u/fs"), 1, "upperdir and workdir must be absolute paths"),
        (fuse + overlay(work=""), 1, "upperdir and workdir must be absolute paths"),
        (fuse + overlay(upper="/u,x/fs"), 1, "hold a comma or backslash"),
        (fuse + overlay(options="index=off,x=\\y"), 1, "hold a comma or backslash"),
        (fuse + overlay(layers=0), 1, "wants 1 to 128 image layers, not 0"),
        (fuse + overlay(layers=129), 1, "wants 1 to 128 image layers, not 129"),
        (fuse + overlay(layers=3), 2, "the spec names 3 gofer mounts but 2 /dev/fuse fds were received"),
        (fuse + f_varint(14, 1 << 20) + overlay(), 1, "either a memory upper layer or the snapshot's"),
    ]
    for extra, nfds, text in cases:
        expect_error(lambda: create(extra, nfds), 3, text)
    cid = env.name("after")
    env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["true"]))
    env.sentry.destroy(cid)


def test_user_namespace_rejected(env):
    expect_error(lambda: env.sentry.create(env.name("userns"), spec_msg(env.rootfs, namespaces=[("user", "")]),
                                           process_msg(["true"])), 3, "user namespaces are not supported yet")


def test_errors_of_state(env):
    expect_error(lambda: env.sentry.create("pause", spec_msg(env.rootfs), process_msg(["true"])), 6, "already exists")
    expect_error(lambda: env.sentry.start("pause"), 9, "cannot start container in running state")
    expect_error(lambda: env.sentry.wait("pause", 999999), 5, "process 999999 not found")
    expect_error(lambda: env.sentry.wait("nosuch", 0), 5, "container nosuch not found")
    expect_error(lambda: env.sentry.signal("pause", 15, pid=999999), 5, "process 999999 not found")
    expect_error(lambda: env.sentry.call("Frobnicate", b""), 12, "method Frobnicate")
    env.sentry.destroy("nosuch")  # idempotent


def test_exec_errors(env):
    expect_error(lambda: env.sentry.exec("pause", "bad", process_msg(["/nope"])), 2,
                 'exec: "/nope": stat /nope: no such file or directory')
    expect_error(lambda: env.sentry.exec("nosuch", "x", process_msg(["true"])), 5, "container nosuch not found")


def test_fds_of_failed_request_are_not_leaked(env):
    r, w = os.pipe()
    try:
        expect_error(lambda: env.sentry.create(env.name("leak"), spec_msg(env.rootfs), process_msg(
            ["/nope"], stdio=stdio_msg(stdout=True)), [w]), 2, "/nope")
    finally:
        os.close(w)
    expect(read_all(r, timeout=5) == b"", "pipe reaches EOF: the sentry closed its copy")
    os.close(r)


def test_hostname_and_user(env):
    spec = spec_msg(env.rootfs, hostname="sandbox-host")
    status, out, _ = env.run(["sh", "-c", "hostname; id -u; id -g; id -G"], spec=spec, uid=1000, gid=1000,
                             additional_gids=[1000, 2000])
    expect(out.split() == [b"sandbox-host", b"1000", b"1000", b"1000", b"2000"], "hostname/ids: %r" % out)


def test_capabilities(env):
    _, out, _ = env.run(["sh", "-c", "grep Cap /proc/self/status"], uid=1000, gid=1000, caps=0)
    caps = dict(l.split(":\t") for l in out.decode().splitlines())
    expect(int(caps["CapEff"], 16) == 0 and int(caps["CapBnd"], 16) == 0, "no caps: %r" % caps)
    _, out, _ = env.run(["sh", "-c", "grep Cap /proc/self/status"], caps=(1 << 21) | (1 << 0))
    caps = dict(l.split(":\t") for l in out.decode().splitlines())
    expect(int(caps["CapBnd"], 16) == (1 << 21) | 1, "bounding CAP_SYS_ADMIN|CAP_CHOWN: %r" % caps)


def proc_status(pid):
    return dict(l.split(":\t", 1) for l in open("/proc/%d/status" % pid).read().splitlines() if ":\t" in l)


def spawner_pid(sentry_pid):
    # The spawner is the sentry's child named runsc-ts-spawn.
    for task in os.listdir("/proc/%d/task" % sentry_pid):
        for child in open("/proc/%d/task/%s/children" % (sentry_pid, task)).read().split():
            if open("/proc/%s/comm" % child).read().strip() == "runsc-ts-spawn":
                return int(child)
    raise AssertionError("the sentry %d has no spawner child" % sentry_pid)


# The sentry keeps CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_KILL, CAP_SYS_PTRACE.
SENTRY_CAPS = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 19)


def test_sentry_gives_up_capabilities_no_container_gets(env):
    # Module loading, reboot, clocks, accounting, raw I/O, the host's kernel log, audit, LSM,
    # wake alarms, suspend blocking, perf, bpf, checkpoint/restore: never granted. The spawner,
    # which makes the containers' processes, holds none of them; the sentry only what it uses.
    never = [16, 17, 20, 22, 25, 30, 32, 33, 34, 35, 36, 37, 38, 39, 40]
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    never = [c for c in never if c <= last]
    sentry = proc_status(env.sentry.proc.pid)
    spawner = proc_status(spawner_pid(env.sentry.proc.pid))
    for key in ("CapBnd", "CapPrm", "CapEff"):
        held = int(spawner[key], 16)
        expect(all(not held & (1 << c) for c in never), "the spawner's %s holds none of %r: %s" % (key, never, spawner[key]))
        expect(int(sentry[key], 16) == SENTRY_CAPS, "the sentry's %s is %x: %s" % (key, SENTRY_CAPS, sentry[key]))
    expect(int(spawner["CapEff"], 16) & (1 << 21), "the spawner keeps CAP_SYS_ADMIN: %s" % spawner["CapEff"])
    # A container asking for every capability still starts, with the rest of them.
    full = (1 << (last + 1)) - 1
    _, out, _ = env.run(["sh", "-c", "grep Cap /proc/self/status"], caps=full)
    caps = dict(l.split(":\t") for l in out.decode().splitlines())
    eff = int(caps["CapEff"], 16)
    expect(all(not eff & (1 << c) for c in never), "none of them in the container: %r" % caps)
    expect(eff & (1 << 21) and eff & (1 << 12), "CAP_SYS_ADMIN and CAP_NET_ADMIN are: %r" % caps)


def test_sentry_confines_itself(env):
    # Its own seccomp filter and no_new_privs, not dumpable (its /proc files are root's), and a
    # root holding only /proc and the cgroup hierarchies; the spawner and the sentry stay outside
    # the sandbox's PID namespace.
    pid = env.sentry.proc.pid
    status = proc_status(pid)
    expect(status["Seccomp"].strip() == "2", "the sentry runs under a seccomp filter: %r" % status["Seccomp"])
    expect(status["NoNewPrivs"].strip() == "1", "the sentry has no_new_privs: %r" % status["NoNewPrivs"])
    root = "/proc/%d/root" % pid
    expect(sorted(os.listdir(root)) == ["proc", "sys"], "the sentry's root: %r" % os.listdir(root))
    cgroup_mounts = [l.split()[4] for l in open("/proc/%d/mountinfo" % pid).read().splitlines()
                     if l.split(" - ")[1].split()[0] in ("cgroup", "cgroup2")]
    expect(cgroup_mounts and all(m.startswith("/sys/fs/cgroup") for m in cgroup_mounts),
           "the sentry sees the cgroup hierarchies: %r" % cgroup_mounts)
    expect(not os.path.exists(root + "/etc") and not os.path.exists(root + "/proc/sys"),
           "no host files, no /proc/sys in the sentry's root")
    spawner = proc_status(spawner_pid(pid))
    expect(spawner["Seccomp"].strip() == "0", "the spawner is not filtered: %r" % spawner["Seccomp"])
    _, out, _ = env.run(["sh", "-c", "cat /proc/[0-9]*/comm"])
    names = out.decode().split()
    expect("runsc-ts-sentry" not in names and "runsc-ts-spawn" not in names,
           "neither the sentry nor the spawner is visible in the sandbox: %r" % names)


def test_no_new_privs_and_readonly(env):
    spec = spec_msg(env.rootfs, readonly=["/proc/sys"], masked=["/proc/keys", "/proc/acpi", "/proc/nonexistent"], rootfs_readonly=True)
    _, out, _ = env.run(["sh", "-c", "grep NoNewPrivs /proc/self/status; touch /x 2>&1; (echo y > /proc/sys/kernel/hostname)"
                         " 2>&1; wc -c < /proc/keys; ls /proc/acpi | wc -l; touch /proc/acpi/x"], spec=spec, no_new_privileges=True)
    text = out.decode()
    expect("NoNewPrivs:\t1" in text, "no_new_privs set: %r" % text)
    expect("Read-only file system" in text or "ead-only" in text, "rootfs and /proc/sys read-only: %r" % text)
    expect("\n0\n0\n" in text, "/proc/keys and /proc/acpi masked: %r" % text)
    expect(text.count("Read-only file system") == 2, "rootfs and /proc/sys read-only: %r" % text)


def test_dev_nodes(env):
    _, out, _ = env.run(["sh", "-c", "ls -l /dev /dev/pts; echo x > /dev/null && head -c 4 /dev/zero | wc -c"])
    text = out.decode()
    for name in ["null", "zero", "full", "random", "urandom", "tty", "ptmx -> pts/ptmx", "fd -> /proc/self/fd"]:
        expect(name in text, "/dev/%s in %s" % (name, text))
    expect(text.strip().endswith("4"), "/dev/zero readable: %r" % text)


def test_bind_mount_readonly(env):
    src = os.path.join(env.tmp, "share")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("shared\n")
    mounts = default_mounts() + [mount_msg("/data", "bind", src, MS_BIND | MS_REC | MS_RDONLY)]
    _, out, _ = env.run(["sh", "-c", "cat /data/f; touch /data/g 2>&1"], spec=spec_msg(env.rootfs, mounts=mounts))
    expect(b"shared" in out and b"Read-only" in out, "ro bind: %r" % out)


def test_bind_mount_file(env):
    src = os.path.join(env.tmp, "hosts")
    with open(src, "w") as f:
        f.write("127.0.0.1 sandbox\n")
    mounts = default_mounts() + [mount_msg("/etc/new/hosts", "bind", src, MS_BIND | MS_RDONLY)]
    _, out, _ = env.run(["sh", "-c", "cat /etc/new/hosts; echo x >> /etc/new/hosts"], stderr=True,
                        spec=spec_msg(env.rootfs, mounts=mounts))
    expect(out == b"127.0.0.1 sandbox\n", "file bind: %r" % out)
    expect(open(src).read() == "127.0.0.1 sandbox\n", "read-only: the host file is unchanged")


def test_symlink_mount_target_stays_in_root(env):
    # /evil -> /tmp/.. -> a mount onto /evil/escape must land inside the rootfs.
    evil = os.path.join(env.rootfs, "evil")
    if not os.path.lexists(evil):
        os.symlink("/../../../../../../tmp", evil)
    mounts = default_mounts() + [mount_msg("/evil/escape-" + MARKER, "tmpfs", "tmpfs")]
    status, _, _ = env.run(["true"], stdout=False, spec=spec_msg(env.rootfs, mounts=mounts))
    expect(status == 0, "ran")
    expect(not os.path.exists("/tmp/escape-" + MARKER), "no directory created on the host's /tmp")
    expect(os.path.isdir(os.path.join(env.rootfs, "tmp", "escape-" + MARKER)), "created inside the rootfs")


def _terminal_proc(env, args, width=0, height=0):
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    return in_r, in_w, out_r, out_w, process_msg(args, env=("PATH=/bin", "TERM=dumb", "PS1=$ "),
                                                  stdio=stdio_msg(stdin=True, stdout=True, terminal=True,
                                                                  width=width, height=height))


def test_terminal_echo(env):
    cid = env.name("tty")
    in_r, in_w, out_r, out_w, proc = _terminal_proc(env, ["sh"], width=100, height=40)
    try:
        pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), proc, [in_r, out_w])
    finally:
        os.close(in_r)
        os.close(out_w)
    env.sentry.start(cid)
    os.write(in_w, b"stty size; echo tty-$((40+2)); tty\n")
    out = read_until(out_r, b"/dev/pts/0\r\n")
    expect(b"40 100" in out and b"tty-42" in out and b"/dev/pts/0" in out, "terminal output: %r" % out)
    env.sentry.resize(cid, pid, 120, 50)
    os.write(in_w, b"stty size\n")
    out = read_until(out_r, b"50 120")
    expect(b"50 120" in out, "resized: %r" % out)
    os.write(in_w, b"exit 5\n")
    status = env.sentry.wait(cid, pid)
    expect(status == 5, "exit 5, got %d" % status)
    rest = read_all(out_r, timeout=5)  # EOF: the sentry closed stdout after the drain
    expect(b"exit 5" in out + rest, "echo of the last command drained: %r" % rest)
    os.close(in_w)
    os.close(out_r)
    env.sentry.destroy(cid)


def test_terminal_drains_output_before_wait(env):
    cid = env.name("ttydrain")
    in_r, in_w, out_r, out_w, proc = _terminal_proc(env, ["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; "
                                                                      "i=$((i+1)); done"])
    try:
        pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), proc, [in_r, out_w])
    finally:
        os.close(in_r)
        os.close(out_w)
    stream = env.sentry.wait_send(cid, pid)
    env.sentry.start(cid)
    time.sleep(0.5)  # the process exits while we do not read: the sentry must hold Wait back
    out = read_all(out_r, timeout=10)
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status == 0 and b"line-1999\r\n" in out, "all output drained (%d bytes)" % len(out))
    os.close(in_w)
    os.close(out_r)
    env.sentry.destroy(cid)


def test_terminal_close_stdin(env):
    cid = env.name("ttyeof")
    in_r, in_w, out_r, out_w, proc = _terminal_proc(env, ["cat"])
    try:
        pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), proc, [in_r, out_w])
    finally:
        os.close(in_r)
        os.close(out_w)
    env.sentry.start(cid)
    os.write(in_w, b"abc\n")
    read_until(out_r, b"abc\r\nabc\r\n")
    env.sentry.close_stdin(cid, pid)
    status = env.sentry.wait(cid, pid)
    expect(status == 0, "cat saw EOF and exited 0: %d" % status)
    os.close(in_w)
    os.close(out_r)
    env.sentry.destroy(cid)


def test_exec_terminal(env):
    in_r, in_w, out_r, out_w, proc = _terminal_proc(env, ["sh", "-c", "tty; echo exec-tty"])
    try:
        pid, _ = env.sentry.exec("pause", "tty1", proc, [in_r, out_w])
    finally:
        os.close(in_r)
        os.close(out_w)
    out = read_all(out_r)
    expect(env.sentry.wait("pause", pid) == 0, "exit 0")
    expect(b"/dev/pts/" in out and b"exec-tty" in out, "exec terminal output %r" % out)
    os.close(in_w)
    os.close(out_r)


def test_destroy_kills_and_is_idempotent(env):
    cid = env.name("destroy")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sh", "-c", "sleep %s & wait" % MARKER]))
    env.sentry.start(cid)
    eventually(lambda: len(env.sentry.processes(cid)) == 2)
    pids = [p["pid"] for p in env.sentry.processes(cid)]
    env.sentry.destroy(cid)
    expect(all(not os.path.exists("/proc/%d" % p) or "Z" in open("/proc/%d/stat" % p).read().rsplit(")", 1)[1][:3]
               for p in pids), "processes gone")
    env.sentry.destroy(cid)
    expect_error(lambda: env.sentry.wait(cid, pid), 5, "not found")


def test_destroy_created_never_started(env):
    cid = env.name("created")
    env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
    env.sentry.destroy(cid)
    env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["true"]))  # the id is free again
    env.sentry.destroy(cid)


def test_second_sandbox_root_exit_kills_namespace(env):
    # A separate sentry: when its PID 1 dies, the kernel kills the other containers' processes.
    s = Sentry(env.binary, "second", log_path=env.log_path)
    try:
        root, _ = s.create("root", spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
        s.start("root")
        other, spid = s.create("other", spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
        expect(spid == 2, "second container's init is sandbox PID 2 (got %d)" % spid)
        s.start("other")
        stream = s.wait_send("other", other)
        s.signal("root", signal.SIGKILL)
        expect(s.wait("root", root) == 137, "root killed")
        status = s.result(stream).get(1, [0])[0]
        expect(status == 137, "other container killed with the namespace: %d" % status)
        s.shutdown()
        expect(s.proc.wait(10) == 0, "sentry exits 0 after Shutdown")
    finally:
        s.close()


def test_control_eof_kills_everything(env):
    s = Sentry(env.binary, "third", log_path=env.log_path)
    root, _ = s.create("root", spec_msg(env.rootfs), process_msg(["sh", "-c", "sleep %s & wait" % MARKER]))
    s.start("root")
    eventually(lambda: len(s.processes("root")) == 2)
    pids = [p["pid"] for p in s.processes("root")]
    s.close()  # EOF
    expect(eventually(lambda: not any(os.path.exists("/proc/%d" % p) for p in pids)), "all processes gone")


def _start_probe(env, cid, args):
    r, w = os.pipe()
    try:
        pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["probe"] + args, stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    stream = env.sentry.wait_send(cid, pid)
    env.sentry.start(cid)
    return pid, stream, r


def test_threads_listed_once_and_signalled(env):
    cid = env.name("threads")
    pid, stream, r = _start_probe(env, cid, ["threads", "8"])
    expect(b"ready" in read_until(r, b"ready"), "probe ready")
    procs = env.sentry.processes(cid)
    expect(len(procs) == 1 and procs[0]["pid"] == pid, "one process for 9 threads: %r" % procs)
    expect(len(os.listdir("/proc/%d/task" % pid)) == 9, "9 threads")
    env.sentry.signal(cid, signal.SIGTERM, all=True)
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status == 143, "threaded process terminated: %d" % status)
    os.close(r)
    env.sentry.destroy(cid)


def test_signal_all_with_vfork_spawner(env):
    cid = env.name("vfork")
    pid, stream, r = _start_probe(env, cid, ["vforkspawn", "300"])
    eventually(lambda: len(env.sentry.processes(cid)) > 20)
    env.sentry.signal(cid, signal.SIGTERM, all=True)
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status == 143, "vfork spawner terminated: %d" % status)
    expect(eventually(lambda: env.sentry.processes(cid) == []), "nothing escaped: %r" % env.sentry.processes(cid))
    os.close(r)
    env.sentry.destroy(cid)


def test_exec_from_thread(env):
    cid = env.name("threadexec")
    pid, stream, r = _start_probe(env, cid, ["threadexec"])
    out = read_all(r)
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status == 7 and b"exec-from-thread" in out, "status %d out %r" % (status, out))
    os.close(r)
    env.sentry.destroy(cid)


def test_cgroup_sysctl_network(env):
    cg = "/%s-sysctl" % CGROUP_PREFIX
    spec = spec_msg(env.rootfs, cgroup_path=cg + "/c1", sysctl={"kernel.shm_rmid_forced": "1"},
                    namespaces=[("network", "")])
    try:
        _, out, _ = env.run(["sh", "-c", "cat /proc/self/cgroup; cat /proc/sys/kernel/shm_rmid_forced; "
                             "cat /proc/net/dev | wc -l; readlink /proc/self/ns/net"], spec=spec)
        text = out.decode()
        expect("%s/c1" % cg in text, "in the cgroup: %r" % text)
        lines = text.splitlines()
        expect(lines[-3] == "1", "sysctl written: %r" % text)
        expect(lines[-2] == "3", "a new network namespace has only lo: %r" % text)
        expect(lines[-1] != os.readlink("/proc/self/ns/net"), "not the host's network namespace")
        expect(not existing_cgroup_dirs(cg), "the sentry removed its cgroups: %r" % existing_cgroup_dirs(cg))
    finally:
        remove_cgroup_tree(cg)


def test_join_network_namespace_by_path(env):
    cid = env.name("netns")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs, namespaces=[("network", "")]), process_msg(["sleep", MARKER]))
    env.sentry.start(cid)
    target = os.readlink("/proc/%d/ns/net" % pid)
    _, out, _ = env.run(["readlink", "/proc/self/ns/net"],
                        spec=spec_msg(env.rootfs, namespaces=[("network", "/proc/%d/ns/net" % pid)]))
    expect(out.decode().strip() == target, "joined %s: %r" % (target, out))
    r, w = os.pipe()
    try:
        epid, _ = env.sentry.exec(cid, "ns", process_msg(["readlink", "/proc/self/ns/net"], stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    out = read_all(r)
    os.close(r)
    expect(out.decode().strip() == target, "exec joins the container's network namespace: %r" % out)
    env.sentry.destroy(cid)


def test_devices_from_spec(env):
    spec = spec_msg(env.rootfs, devices=[("/dev/fuse", "c", 10, 229, 0o666, 0, 0),
                                         ("/dev/net/tun", "c", 10, 200, 0o600, 1000, 1000)])
    _, out, _ = env.run(["sh", "-c", "ls -ln /dev/fuse /dev/net/tun"], spec=spec)
    text = out.decode()
    expect("crw-rw-rw-" in text and "10, 229" in text, "/dev/fuse: %r" % text)
    expect("crw-------" in text and "1000     1000" in text and "10, 200" in text, "/dev/net/tun: %r" % text)


def test_rlimits_umask_oom(env):
    RLIMIT_NOFILE = 7
    _, out, _ = env.run(["sh", "-c", "ulimit -n; ulimit -Hn; umask; cat /proc/self/oom_score_adj"],
                        rlimits=[(RLIMIT_NOFILE, 123, 456)], umask=0o027, oom_score_adj=500)
    expect(out.split() == [b"123", b"456", b"0027", b"500"], "limits/umask/oom: %r" % out)


@on_both_platforms
def test_traps_only_seccomp_message(env, platform):
    # A Seccomp message with only traps (default_action left 0) is default-allow + traps.
    spec = spec_msg(env.rootfs, seccomp=seccomp_msg(default_action=0, architectures=(), traps=[trap_msg("mount", 0, 1)],
                                                    platform=platform))
    _, out, err = env.run(["sh", "-c", "echo alive; mount -t tmpfs x /mnt 2>&1; echo rc=$?"], spec=spec, caps=ALL_CAPS)
    expect(b"alive" in out and b"rc=0" not in out, "traps only: %r" % out)


def test_console_is_the_pty(env):
    cid = env.name("console")
    in_r, in_w, out_r, out_w, proc = _terminal_proc(env, ["sh", "-c", "ls -l /dev/console; echo done"])
    try:
        pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), proc, [in_r, out_w])
    finally:
        os.close(in_r)
        os.close(out_w)
    env.sentry.start(cid)
    out = read_all(out_r)
    expect(env.sentry.wait(cid, pid) == 0 and b"136," in out, "/dev/console is a pts: %r" % out)
    os.close(in_w)
    os.close(out_r)
    env.sentry.destroy(cid)


def test_framing_limits_and_bad_messages(env):
    import struct
    s = env.sentry
    # An oversized frame is skipped with RESOURCE_EXHAUSTED; the connection stays usable.
    big = 5 << 20
    stream = 999
    s.sock.sendall(struct.pack(">IIBB", big, stream, 1, 0) + b"\0" * big)
    expect_error(lambda: s.result(stream), 8, "exceeds maximum message size")
    expect_error(lambda: s.call("Wait", b"\xff\xff"), 3, "malformed")
    # Unknown fields of every wire type are skipped.
    from sentry_client import varint
    payload = f_bytes(1, "pause") + varint((9 << 3) | 0) + varint(7) + varint((10 << 3) | 1) + b"\0" * 8 + \
        varint((11 << 3) | 5) + b"\0" * 4 + f_bytes(12, "x")
    expect(len(s.call("Processes", payload).get(1, [])) >= 1, "unknown fields skipped")
    # Several requests in flight: a deferred Wait does not block later requests.
    wait_stream = s.wait_send("pause", env.pause_pid)
    s.processes("pause")
    expect(not s.has_result(wait_stream), "Wait on a live process stays pending")


def _exec_output(env, cid, exec_id, args):
    """Execs args in cid; returns (status, stdout text, host pid)."""
    r, w = os.pipe()
    try:
        pid, _ = env.sentry.exec(cid, exec_id, process_msg(args, stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    out = read_all(r).decode()
    os.close(r)
    return env.sentry.wait(cid, pid), out, pid


def _own_pid_ns_container(env, cid, args, sentry=None, stdout=True):
    """Creates and starts a container with a path-less "pid" entry; returns (pid, sandbox pid, reader)."""
    s = sentry or env.sentry
    fds, r = [], None
    if stdout:
        r, w = os.pipe()
        fds = [w]
    try:
        pid, spid = s.create(cid, spec_msg(env.rootfs, namespaces=[("pid", "")]),
                             process_msg(args, stdio=stdio_msg(stdout=stdout)), fds)
    finally:
        for fd in fds:
            os.close(fd)
    s.start(cid)
    return pid, spid, r


def test_own_pid_namespace_ps_and_exec(env):
    cid = env.name("ownpid")
    pid, spid, r = _own_pid_ns_container(env, cid, ["sh", "-c", "echo pid=$$; sleep %s & sleep %s & wait" % (MARKER, MARKER)])
    try:
        expect(b"pid=1" in read_until(r, b"\n"), "the init is PID 1 of its namespace")
        ids = nspid(pid)
        expect(len(ids) == 3 and ids[0] == pid and ids[1] == spid and ids[2] == 1 and spid > 1,
               "host %d, sandbox %d, own 1: NSpid %r" % (pid, spid, ids))
        init_ns = os.readlink("/proc/%d/ns/pid" % pid)
        expect(init_ns != os.readlink("/proc/%d/ns/pid" % env.pause_pid), "not the sandbox's namespace")
        procs = eventually(lambda: (lambda p: p if len(p) == 3 and sum(x["cmd"] == "sleep" for x in p) == 2 else None)(
            env.sentry.processes(cid)))
        expect(procs, "init and sleeps listed: %r" % env.sentry.processes(cid))
        for p in procs:
            expect(p["sandbox_pid"] == nspid(p["pid"])[1], "sandbox pid of %r is its sandbox-level NSpid" % p)
        sleeps = [p for p in procs if p["cmd"] == "sleep"]
        expect(all(p["ppid"] == pid and p["sandbox_ppid"] == spid for p in sleeps), "sleeps' parent is the init: %r" % procs)
        expect(sorted(nspid(p["pid"])[2] for p in sleeps) == [2, 3], "sleeps are PIDs 2 and 3 of the container's namespace")
        # ps in the container sees only its own processes, the init as PID 1.
        status, out, _ = _exec_output(env, cid, "ps", ["ps"])
        rows = [l.split() for l in out.splitlines()[1:]]
        expect(status == 0 and sorted(int(x[0]) for x in rows) == [1, 2, 3, 4], "own processes only:\n" + out)
        expect(any(x[0] == "1" and "sh" in x[2:] for x in rows), "the init is PID 1 in:\n" + out)
        # An exec'd process joins the namespace, and its exit code comes back.
        status, out, epid = _exec_output(env, cid, "ns", ["sh", "-c", "readlink /proc/self/ns/pid; echo $$; exit 7"])
        lines = out.split()
        expect(status == 7, "exec exit status 7, got %d" % status)
        expect(lines[0] == init_ns and int(lines[1]) > 4, "exec is in the init's namespace: %r vs %s" % (lines, init_ns))
        # Signal one process, then every one.
        env.sentry.signal(cid, signal.SIGTERM, pid=sleeps[0]["pid"])
        expect(eventually(lambda: len(env.sentry.processes(cid)) == 2), "one sleep terminated")
        stream = env.sentry.wait_send(cid, pid)
        env.sentry.signal(cid, signal.SIGKILL, all=True)
        status = env.sentry.result(stream).get(1, [0])[0]
        expect(status == 137, "init killed by Signal ALL: %d" % status)
        expect(eventually(lambda: env.sentry.processes(cid) == []), "nothing left: %r" % env.sentry.processes(cid))
    finally:
        os.close(r)
        env.sentry.destroy(cid)


def test_own_pid_namespace_signal_all_term_and_destroy(env):
    cid = env.name("ownpidbomb")
    pid, _, _ = _own_pid_ns_container(env, cid, ["sh", "-c", "trap 'exit 9' TERM; " + _spawner_script()], stdout=False)
    stream = env.sentry.wait_send(cid, pid)
    eventually(lambda: len(env.sentry.processes(cid)) > 20)
    env.sentry.signal(cid, signal.SIGTERM, all=True)  # the init handles it; the sleeps die of it
    status = env.sentry.result(stream).get(1, [0])[0]
    expect(status in (9, 143), "init ended by SIGTERM: %d" % status)
    expect(eventually(lambda: env.sentry.processes(cid) == []), "nothing escaped: %r" % env.sentry.processes(cid))
    env.sentry.destroy(cid)
    # Destroy of a running container with an exec'd process.
    cid = env.name("ownpiddestroy")
    pid, _, _ = _own_pid_ns_container(env, cid, ["sh", "-c", "sleep %s & wait" % MARKER], stdout=False)
    epid, espid = env.sentry.exec(cid, "bg", process_msg(["sleep", MARKER]))
    expect(nspid(epid)[1] == espid and len(nspid(epid)) == 3, "exec'd sleep in the container's namespace")
    eventually(lambda: len(env.sentry.processes(cid)) == 3)
    pids = [p["pid"] for p in env.sentry.processes(cid)]
    env.sentry.destroy(cid)
    expect(all(gone(p) for p in pids), "processes gone after Destroy")
    expect_error(lambda: env.sentry.processes(cid), 5, "not found")


def test_own_pid_namespace_terminal(env):
    cid = env.name("ownpidtty")
    in_r, in_w, out_r, out_w, proc = _terminal_proc(env, ["sh"], width=80, height=20)
    try:
        pid, _ = env.sentry.create(cid, spec_msg(env.rootfs, namespaces=[("pid", "")]), proc, [in_r, out_w])
    finally:
        os.close(in_r)
        os.close(out_w)
    env.sentry.start(cid)
    os.write(in_w, b"echo pid=$$; stty size\n")
    out = read_until(out_r, b"20 80")
    expect(b"pid=1" in out and b"20 80" in out, "terminal of a PID-1 shell: %r" % out)
    env.sentry.resize(cid, pid, 120, 50)
    os.write(in_w, b"stty size\n")
    expect(b"50 120" in read_until(out_r, b"50 120"), "resized")
    os.write(in_w, b"exit 4\n")
    expect(env.sentry.wait(cid, pid) == 4, "exit 4")
    os.close(in_w)
    os.close(out_r)
    env.sentry.destroy(cid)


def test_own_pid_namespace_setup_failure(env):
    expect_error(lambda: env.sentry.create(env.name("ownpidfail"), spec_msg(env.rootfs, namespaces=[("pid", "")]),
                                           process_msg(["/nope"])), 2, 'exec: "/nope": stat /nope')
    # A good one works after a failed one.
    status, out, _ = env.run(["sh", "-c", "echo $$"], spec=spec_msg(env.rootfs, namespaces=[("pid", "")]))
    expect(status == 0 and out == b"1\n", "PID 1: %r" % out)


def test_shared_pid_namespace_by_path(env):
    # CRI's shareProcessNamespace: the path names the sandbox's namespace (the pause's).
    spec = spec_msg(env.rootfs, namespaces=[("pid", "/proc/%d/ns/pid" % env.pause_pid)])
    cid = env.name("sharedpid")
    r, w = os.pipe()
    try:
        pid, spid = env.sentry.create(cid, spec, process_msg(["sh", "-c", "echo $$; ps"], stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    expect(spid > 1 and nspid(pid) == [pid, spid], "next sandbox pid %d: NSpid %r" % (spid, nspid(pid)))
    env.sentry.start(cid)
    out = read_all(r).decode()
    os.close(r)
    expect(env.sentry.wait(cid, pid) == 0, "exit 0")
    lines = out.splitlines()
    expect(lines[0] == str(spid), "echo $$ is the sandbox pid: %r" % out)
    expect(any(l.split()[0] == "1" and "sleep" in l for l in lines[2:]), "sees the pause process as PID 1:\n" + out)
    env.sentry.destroy(cid)


def test_join_nested_pid_namespace_by_path(env):
    owner = env.name("nsowner")
    pid, _, _ = _own_pid_ns_container(env, owner, ["sleep", MARKER], stdout=False)
    try:
        spec = spec_msg(env.rootfs, namespaces=[("pid", "/proc/%d/ns/pid" % pid)])
        status, out, _ = env.run(["sh", "-c", "echo $$; readlink /proc/self/ns/pid"], spec=spec)
        lines = out.decode().split()
        expect(status == 0 and int(lines[0]) > 1 and lines[1] == os.readlink("/proc/%d/ns/pid" % pid),
               "joined the other container's namespace: %r" % lines)
        expect_error(lambda: env.sentry.create(env.name("hostpid"), spec_msg(env.rootfs, namespaces=[("pid", "/proc/self/ns/pid")]),
                                               process_msg(["true"])), 3, "is neither the sandbox's nor inside it")
        expect_error(lambda: env.sentry.create(env.name("netpid"), spec_msg(env.rootfs, namespaces=[("pid", "/proc/self/ns/net")]),
                                               process_msg(["true"])), 3, "is not a PID namespace")
    finally:
        env.sentry.destroy(owner)


def test_shared_pid_namespace_init_exit_leaves_its_children(env):
    # A later container's init is not PID 1: when it exits, its children live on (reparented to
    # the sandbox's PID 1), stay listed for their container, and Destroy kills them.
    cid = env.name("orphans")
    r, w = os.pipe()
    try:
        pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(
            ["sh", "-c", "sleep %s & echo started; exit 3" % MARKER], stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    stream = env.sentry.wait_send(cid, pid)
    env.sentry.start(cid)
    read_until(r, b"started")
    os.close(r)
    expect(env.sentry.result(stream).get(1, [0])[0] == 3, "init exit 3")
    procs = eventually(lambda: (lambda p: p if len(p) == 1 and p[0]["cmd"] == "sleep" and p[0]["ppid"] != pid else None)(
        env.sentry.processes(cid)))
    expect(procs, "the sleep lives on in its container: %r" % env.sentry.processes(cid))
    orphan = procs[0]
    expect(orphan["ppid"] == env.pause_pid and orphan["sandbox_ppid"] == 1, "reparented to the sandbox's PID 1: %r" % orphan)
    expect(all(p["pid"] != orphan["pid"] for p in env.sentry.processes("pause")), "not listed for the pause container")
    env.sentry.destroy(cid)
    expect(gone(orphan["pid"]), "Destroy killed it")


def test_second_sandbox_root_exit_kills_own_pid_namespaces(env):
    s = Sentry(env.binary, "nested-root", log_path=env.log_path)
    try:
        root, _ = s.create("root", spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
        s.start("root")
        nested, _, _ = _own_pid_ns_container(env, "nested", ["sleep", MARKER], sentry=s, stdout=False)
        epid, _ = s.exec("nested", "e", process_msg(["sleep", MARKER]))
        waits = [s.wait_send("nested", nested), s.wait_send("nested", epid)]
        s.signal("root", signal.SIGKILL)
        expect(s.wait("root", root) == 137, "root killed")
        statuses = [s.result(w).get(1, [0])[0] for w in waits]
        expect(statuses == [137, 137], "the nested namespace went down with the sandbox's: %r" % statuses)
        s.shutdown()
        expect(s.proc.wait(10) == 0, "sentry exits 0 after Shutdown")
    finally:
        s.close()


def test_sentry_death_kills_own_pid_namespaces(env):
    s = Sentry(env.binary, "nested-exitkill", log_path=env.log_path)
    try:
        s.create("root", spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
        s.start("root")
        nested, _, _ = _own_pid_ns_container(env, "nested", ["sh", "-c", "sleep %s & wait" % MARKER], sentry=s, stdout=False)
        epid, _ = s.exec("nested", "e", process_msg(["sleep", MARKER]))
        eventually(lambda: len(s.processes("nested")) == 3)
        pids = [p["pid"] for p in s.processes("nested")] + [p["pid"] for p in s.processes("root")]
        s.proc.kill()  # PTRACE_O_EXITKILL
        s.proc.wait()
        expect(eventually(lambda: all(gone(p) for p in pids)), "every traced process died with the sentry")
    finally:
        s.close()


# ---- cgroups ----

def test_cgroup_created_joined_and_removed(env):
    parent = "/%s-made" % CGROUP_PREFIX
    path = parent + "/c1"
    expect(not existing_cgroup_dirs(parent), "the test parent does not exist yet")
    cid = env.name("cg")
    # As the shim turns an OCI "cgroup" mount: a tmpfs with a bind of the container's own cgroup
    # of each hierarchy (those binds must not keep the directories from being removed).
    mounts = default_mounts() + [mount_msg("/sys/fs/cgroup", "tmpfs", "tmpfs", data="mode=755")] + [
        mount_msg("/sys/fs/cgroup/" + os.path.basename(h), "bind", os.path.join(h, path.lstrip("/")), MS_BIND)
        for h in cgroup_mounts()]
    try:
        pid, spid = env.sentry.create(cid, spec_msg(env.rootfs, cgroup_path=path, mounts=mounts), process_msg(["sleep", MARKER]))
        expect(len(existing_cgroup_dirs(path)) == len(cgroup_mounts()), "made in every hierarchy")
        env.sentry.start(cid)
        lines = open("/proc/%d/cgroup" % pid).read().splitlines()
        expect(all(l.split(":", 2)[2] == path for l in lines), "the init is in %s everywhere: %r" % (path, lines))
        status, out, _ = _exec_output(env, cid, "cg", ["cat", "/proc/self/cgroup"])
        expect(all(l.split(":", 2)[2] == path for l in out.splitlines()), "so is an exec'd process: %r" % out)
        status, out, _ = _exec_output(env, cid, "cgmount", ["cat", "/sys/fs/cgroup/pids/cgroup.procs"])
        expect(str(spid) in out.split(), "its own cgroup (with the init, sandbox pid %d) is mounted: %r" % (spid, out))
        env.sentry.destroy(cid)
        expect(not existing_cgroup_dirs(parent), "removed by Destroy: %r" % existing_cgroup_dirs(parent))
    finally:
        remove_cgroup_tree(parent)


def test_cgroup_preexisting_parent_is_kept(env):
    parent = "/%s-theirs" % CGROUP_PREFIX
    try:
        for d in cgroup_dirs(parent):
            os.mkdir(d)
        status, _, _ = env.run(["true"], stdout=False, spec=spec_msg(env.rootfs, cgroup_path=parent + "/c1"))
        expect(status == 0, "ran")
        expect(not existing_cgroup_dirs(parent + "/c1"), "its own cgroup removed")
        expect(len(existing_cgroup_dirs(parent)) == len(cgroup_mounts()), "the parent it did not make is kept")
        # A cgroup that exists already is joined but not removed either.
        status, _, _ = env.run(["true"], stdout=False, spec=spec_msg(env.rootfs, cgroup_path=parent))
        expect(len(existing_cgroup_dirs(parent)) == len(cgroup_mounts()), "an existing cgroup is kept")
    finally:
        remove_cgroup_tree(parent)


def test_cgroup_shared_between_containers(env):
    parent = "/%s-shared" % CGROUP_PREFIX
    a, b, c, d = env.name("cga"), env.name("cgb"), env.name("cgc"), env.name("cgd")
    try:
        for cid, path in ((a, parent + "/a"), (b, parent + "/b"), (c, parent + "/x"), (d, parent + "/x")):
            env.sentry.create(cid, spec_msg(env.rootfs, cgroup_path=path), process_msg(["sleep", MARKER]))
            env.sentry.start(cid)
        env.sentry.destroy(a)
        expect(not existing_cgroup_dirs(parent + "/a") and existing_cgroup_dirs(parent), "a's cgroup gone, the parent stays")
        env.sentry.destroy(c)
        expect(len(existing_cgroup_dirs(parent + "/x")) == len(cgroup_mounts()), "x stays while d is in it")
        env.sentry.destroy(d)
        expect(not existing_cgroup_dirs(parent + "/x"), "x gone with the last container in it")
        env.sentry.destroy(b)
        expect(not existing_cgroup_dirs(parent), "the parent gone with the last container under it")
    finally:
        for cid in (a, b, c, d):
            env.sentry.destroy(cid)
        remove_cgroup_tree(parent)


def test_cgroup_parent_shared_with_another_sandbox(env):
    # Another sandbox's container under a parent this one made: the parent is left to it (and
    # left in place then, as it existed before that container), never its cgroup.
    parent = "/%s-twosandboxes" % CGROUP_PREFIX
    other = Sentry(env.binary, "cg-other", log_path=env.log_path)
    try:
        mine = env.name("cgmine")
        env.sentry.create(mine, spec_msg(env.rootfs, cgroup_path=parent + "/mine"), process_msg(["sleep", MARKER]))
        other.create("root", spec_msg(env.rootfs, cgroup_path=parent + "/theirs"), process_msg(["sleep", MARKER]))
        env.sentry.destroy(mine)
        expect(not existing_cgroup_dirs(parent + "/mine"), "its own cgroup removed")
        expect(len(existing_cgroup_dirs(parent + "/theirs")) == len(cgroup_mounts()), "the other sandbox's kept")
        other.destroy("root")
        expect(not existing_cgroup_dirs(parent + "/theirs"), "removed by the other sandbox")
        expect(len(existing_cgroup_dirs(parent)) == len(cgroup_mounts()), "the parent (not the other's) stays")
        other.shutdown()
        expect(other.proc.wait(10) == 0, "the other sentry exits 0")
    finally:
        other.close()
        remove_cgroup_tree(parent)


def test_cgroup_removed_after_failed_create(env):
    for i, namespaces in enumerate(([], [("pid", "")])):
        parent = "/%s-failed%d" % (CGROUP_PREFIX, i)
        try:
            expect_error(lambda: env.sentry.create(env.name("cgfail"), spec_msg(env.rootfs, cgroup_path=parent + "/c1",
                                                                                namespaces=namespaces),
                                                   process_msg(["/nope"])), 2, "/nope")
            expect(eventually(lambda: not existing_cgroup_dirs(parent), timeout=3),
                   "nothing left of a failed create: %r" % existing_cgroup_dirs(parent))
        finally:
            remove_cgroup_tree(parent)
    parent = "/%s-badpath" % CGROUP_PREFIX
    expect_error(lambda: env.sentry.create(env.name("cgbad"), spec_msg(env.rootfs, cgroup_path=parent + "/../../x"),
                                           process_msg(["true"])), 3, "without \"..\"")


def test_cgroup_removed_on_shutdown_and_eof(env):
    for how in ("shutdown", "eof"):
        parent = "/%s-%s" % (CGROUP_PREFIX, how)
        s = Sentry(env.binary, "cg-" + how, log_path=env.log_path)
        try:
            s.create("root", spec_msg(env.rootfs, cgroup_path=parent + "/root"), process_msg(["sleep", MARKER]))
            s.start("root")
            nested, _, _ = _own_pid_ns_container(env, "nested", ["sleep", MARKER], sentry=s, stdout=False)
            expect(len(existing_cgroup_dirs(parent)) == len(cgroup_mounts()), "made")
            if how == "shutdown":
                s.shutdown()
            else:
                s.sock.shutdown(socket.SHUT_RDWR)
            expect(s.proc.wait(10) == 0, "sentry exits 0")
            expect(not existing_cgroup_dirs(parent), "removed at the sentry's exit (%s): %r" % (how, existing_cgroup_dirs(parent)))
        finally:
            s.close()
            remove_cgroup_tree(parent)


# ---- pause / resume ----

COUNTER = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done"


class Counter:
    """A container printing an increasing counter to a pipe every 50 ms."""

    def __init__(self, env, prefix):
        self.env = env
        self.cid = env.name(prefix)
        self.r, w = os.pipe()
        try:
            self.pid, _ = env.sentry.create(self.cid, spec_msg(env.rootfs),
                                            process_msg(["sh", "-c", COUNTER], stdio=stdio_msg(stdout=True)), [w])
        finally:
            os.close(w)
        self.stream = env.sentry.wait_send(self.cid, self.pid)
        env.sentry.start(self.cid)
        self.last = 0

    def read(self, timeout):
        """Reads what the counter printed within timeout; returns the last value (or the previous one)."""
        out = b""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            r, _, _ = select.select([self.r], [], [], left)
            if not r:
                break
            chunk = os.read(self.r, 65536)
            if not chunk:
                break
            out += chunk
        values = [int(x) for x in out.split()]
        if values:
            self.last = values[-1]
        return values

    def advancing(self):
        before = self.last
        self.read(0.5)
        return self.last > before

    def close(self):
        os.close(self.r)


def task_states(pid):
    """The state letters of a process's threads ([] once it is gone)."""
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            out.append(open("/proc/%d/task/%s/stat" % (pid, tid)).read().rsplit(")", 1)[1].split()[0])
        except OSError:
            pass
    return out


def test_pause_holds_counter_and_resume_continues(env):
    c = Counter(env, "pausecount")
    try:
        expect(eventually(c.advancing), "counter runs")
        env.sentry.pause(c.cid)
        c.read(0.1)  # what was in the pipe before the pause
        expect(c.read(0.5) == [], "counter held while paused (last %d)" % c.last)
        # (a sleep that ended just before the pause may still be a zombie)
        states = [s for p in env.sentry.processes(c.cid) for s in task_states(p["pid"])]
        expect("t" in states and all(s in "tZX" for s in states), "every task in a ptrace stop: %r" % states)
        env.sentry.pause(c.cid)  # idempotent
        expect(c.read(0.2) == [], "still held after a second pause")
        env.sentry.resume(c.cid)
        expect(c.advancing(), "counter runs again after resume")
        env.sentry.resume(c.cid)  # resuming a running container is fine
        expect(c.advancing(), "counter runs after a second resume")
        expect(not env.sentry.has_result(c.stream), "no exit from pause/resume")
    finally:
        env.sentry.destroy(c.cid)
        c.close()


def test_pause_and_resume_errors(env):
    expect_error(lambda: env.sentry.pause("nosuch"), 5, "container nosuch not found")
    expect_error(lambda: env.sentry.resume("nosuch"), 5, "container nosuch not found")
    cid = env.name("pausecreated")
    env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sleep", MARKER]))
    expect_error(lambda: env.sentry.pause(cid), 9, "cannot pause a container in created state")
    env.sentry.destroy(cid)


def test_paused_container_exec_fails_processes_works(env):
    c = Counter(env, "pauseexec")
    try:
        expect(eventually(c.advancing), "counter runs")
        env.sentry.pause(c.cid)
        expect_error(lambda: env.sentry.exec(c.cid, "e1", process_msg(["true"])), 9, "container %s is paused" % c.cid)
        procs = env.sentry.processes(c.cid)
        expect(any(p["pid"] == c.pid for p in procs), "processes lists the paused init: %r" % procs)
        env.sentry.resume(c.cid)
        pid, _ = env.sentry.exec(c.cid, "e2", process_msg(["true"]))
        expect(env.sentry.wait(c.cid, pid) == 0, "exec works after resume")
    finally:
        env.sentry.destroy(c.cid)
        c.close()


def test_paused_container_signal_all_kill(env):
    c = Counter(env, "pausekill")
    try:
        expect(eventually(c.advancing), "counter runs")
        env.sentry.pause(c.cid)
        env.sentry.signal(c.cid, signal.SIGKILL, all=True)
        status = env.sentry.result(c.stream).get(1, [0])[0]
        expect(status == 137, "paused container killed: %d" % status)
        expect(eventually(lambda: env.sentry.processes(c.cid) == []), "nothing left: %r" % env.sentry.processes(c.cid))
    finally:
        env.sentry.destroy(c.cid)
        c.close()


def test_paused_container_destroy(env):
    c = Counter(env, "pausedestroy")
    try:
        expect(eventually(c.advancing), "counter runs")
        env.sentry.pause(c.cid)
        pids = [p["pid"] for p in env.sentry.processes(c.cid)]
        env.sentry.destroy(c.cid, timeout=10)
        expect(all(gone(p) for p in pids), "destroy of a paused container ends it: %r" % pids)
        expect_error(lambda: env.sentry.processes(c.cid), 5, "not found")
    finally:
        c.close()


def test_paused_container_signals_delivered_on_resume(env):
    c = Counter(env, "pauseterm")
    try:
        expect(eventually(c.advancing), "counter runs")
        env.sentry.pause(c.cid)
        env.sentry.signal(c.cid, signal.SIGTERM, all=True)
        env.sentry.signal(c.cid, signal.SIGTERM, pid=c.pid)
        time.sleep(0.5)
        expect(not env.sentry.has_result(c.stream), "SIGTERM waits for the resume")
        env.sentry.resume(c.cid)
        status = env.sentry.result(c.stream).get(1, [0])[0]
        expect(status == 143, "SIGTERM delivered on resume: %d" % status)
    finally:
        env.sentry.destroy(c.cid)
        c.close()


def test_pause_keeps_a_user_stop(env):
    c = Counter(env, "pausestop")
    try:
        expect(eventually(c.advancing), "counter runs")
        env.sentry.signal(c.cid, signal.SIGSTOP, pid=c.pid)
        c.read(0.2)
        expect(c.read(0.3) == [], "stopped by the user")
        env.sentry.pause(c.cid)
        env.sentry.resume(c.cid)
        expect(c.read(0.5) == [], "still stopped after pause/resume")
        env.sentry.signal(c.cid, signal.SIGCONT, pid=c.pid)
        expect(eventually(c.advancing, timeout=5), "runs after SIGCONT")
        env.sentry.pause(c.cid)
        c.read(0.1)
        env.sentry.signal(c.cid, signal.SIGSTOP, pid=c.pid)  # queued while paused
        env.sentry.resume(c.cid)
        c.read(0.2)
        expect(c.read(0.3) == [], "a SIGSTOP sent while paused stops it on resume")
        env.sentry.signal(c.cid, signal.SIGCONT, pid=c.pid)
        expect(eventually(c.advancing, timeout=5), "runs after SIGCONT")
    finally:
        env.sentry.destroy(c.cid)
        c.close()


def test_pause_holds_every_thread(env):
    cid = env.name("pausethreads")
    pid, stream, r = _start_probe(env, cid, ["threads", "8"])
    try:
        expect(b"ready" in read_until(r, b"ready"), "probe ready")
        expect(eventually(lambda: len(task_states(pid)) == 9), "9 threads")
        env.sentry.pause(cid)
        states = task_states(pid)
        expect(len(states) == 9 and all(s == "t" for s in states), "all 9 threads held: %r" % states)
        time.sleep(0.2)
        states = task_states(pid)
        expect(all(s == "t" for s in states), "still held: %r" % states)
        env.sentry.resume(cid)
        expect(eventually(lambda: all(s in "SR" for s in task_states(pid))), "running again: %r" % task_states(pid))
        env.sentry.signal(cid, signal.SIGTERM, all=True)
        status = env.sentry.result(stream).get(1, [0])[0]
        expect(status == 143, "threaded process terminated: %d" % status)
    finally:
        os.close(r)
        env.sentry.destroy(cid)


def test_pause_holds_a_spawner(env):
    cid = env.name("pausebomb")
    pid, _ = env.sentry.create(cid, spec_msg(env.rootfs), process_msg(["sh", "-c", _spawner_script()]))
    env.sentry.start(cid)
    try:
        eventually(lambda: len(env.sentry.processes(cid)) > 20)
        env.sentry.pause(cid)
        before = len(env.sentry.processes(cid))
        time.sleep(0.5)
        after = len(env.sentry.processes(cid))
        expect(before == after and before < 401, "no fork while paused: %d then %d" % (before, after))
        env.sentry.resume(cid)
        expect(eventually(lambda: len(env.sentry.processes(cid)) == 401), "spawner finishes after resume: %d" %
               len(env.sentry.processes(cid)))
    finally:
        env.sentry.destroy(cid)


# ---- trapped calls: both platforms, and what is particular to unotify ----

def _trap_spec(env, platform, traps, namespaces=(), **seccomp):
    return spec_msg(env.rootfs, namespaces=namespaces, seccomp=seccomp_msg(traps=traps, platform=platform, **seccomp))


def _trap_lines(env, start):
    with open(env.log_path, "rb") as f:
        return [l for l in f.read()[start:].decode("utf-8", "replace").splitlines() if "trap: container" in l]


def _log_size(env):
    return os.path.getsize(env.log_path)


@on_both_platforms
def test_trap_decided_for_the_calling_task(env, platform):
    # The decision names the caller by its host pid, in the sandbox's PID namespace and in a
    # container's own nested one (a notification names the task in the listener's namespace).
    for namespaces in ([], [("pid", "")]):
        cid = env.name("trappid")
        start = _log_size(env)
        r, w = os.pipe()
        try:
            pid, _ = env.sentry.create(cid, _trap_spec(env, platform, [trap_msg("mount", 0, 1)], namespaces, log_traps=True),
                                       process_msg(["mount", "-t", "tmpfs", "x", "/mnt"], caps=ALL_CAPS,
                                                   stdio=stdio_msg(stderr=True)), [w])
        finally:
            os.close(w)
        stream = env.sentry.wait_send(cid, pid)
        env.sentry.start(cid)
        err = read_all(r)
        os.close(r)
        status = env.sentry.result(stream).get(1, [0])[0]
        env.sentry.destroy(cid)
        expect(status != 0 and (b"ermission denied" in err or b"not permitted" in err),
               "mount denied (namespaces %r): status %d err %r" % (namespaces, status, err))
        lines = _trap_lines(env, start)
        expect(any("container %s pid %d syscall mount " % (cid, pid) in l and l.endswith("denied") for l in lines),
               "decided for host pid %d of %s: %r" % (pid, cid, lines))


@on_both_platforms
def test_trapped_in_children_and_exec(env, platform):
    # Children inherit the filter (and its listener); an exec'd process gets its own.
    cid = env.name("trapkids")
    spec = _trap_spec(env, platform, [trap_msg("mount", 0, 1)])
    r, w = os.pipe()
    try:
        pid, _ = env.sentry.create(cid, spec, process_msg(
            ["sh", "-c", "(mount -t tmpfs x /mnt 2>&1; echo sub=$?); sh -c 'mount -t tmpfs x /mnt 2>&1; echo grandchild=$?'; "
             "echo done; sleep %s" % MARKER], caps=ALL_CAPS, stdio=stdio_msg(stdout=True)), [w])
    finally:
        os.close(w)
    try:
        env.sentry.start(cid)
        out = read_until(r, b"done").decode()
        expect("sub=" in out and "sub=0" not in out and "grandchild=" in out and "grandchild=0" not in out,
               "denied in a subshell and a grandchild: %r" % out)
        for i in range(3):  # several execs: each loads its own filter and listener
            r2, w2 = os.pipe()
            try:
                epid, _ = env.sentry.exec(cid, "m%d" % i, process_msg(["sh", "-c", "(mount -t tmpfs x /mnt 2>&1); echo rc=$?"],
                                                                      caps=ALL_CAPS, stdio=stdio_msg(stdout=True)), [w2])
            finally:
                os.close(w2)
            text = read_all(r2).decode()
            os.close(r2)
            expect(env.sentry.wait(cid, epid) == 0 and "rc=" in text and "rc=0" not in text, "exec %d denied: %r" % (i, text))
    finally:
        os.close(r)
        env.sentry.destroy(cid)


def _probe_with_unshare_trapped(env, cid, platform, args, stderr=False):
    r, w = os.pipe()
    try:
        pid, _ = env.sentry.create(cid, _trap_spec(env, platform, [trap_msg("unshare", 0, 1)]),
                                   process_msg(["probe"] + args, stdio=stdio_msg(stdout=True, stderr=stderr)),
                                   [w, w] if stderr else [w])
    finally:
        os.close(w)
    stream = env.sentry.wait_send(cid, pid)
    env.sentry.start(cid)
    return pid, stream, r


@on_both_platforms
def test_trapped_calls_interrupted_by_signals(env, platform):
    # A signal interrupts a call waiting for its decision; the call is restarted and decided anew
    # (unotify: the first notification's answer meets ENOENT). Every call still ends in EPERM.
    cid = env.name("trapsig")
    pid, stream, r = _probe_with_unshare_trapped(env, cid, platform, ["trapsignals", "20000"])
    out = read_all(r, timeout=60).decode()
    os.close(r)
    status = env.sentry.result(stream, timeout=60).get(1, [0])[0]
    env.sentry.destroy(cid)
    m = re.search(r"calls (\d+) eperm (\d+) other (\d+) signals (\d+)", out)
    expect(status == 0 and m, "probe ran: status %d out %r" % (status, out))
    expect(m.group(2) == "20000" and m.group(3) == "0", "every call denied with EPERM: %r" % out)
    expect(int(m.group(4)) > 100, "signals arrived meanwhile: %r" % out)


@on_both_platforms
def test_pause_holds_tasks_that_trap(env, platform):
    # Processes looping on a trapped call are held by Pause (the wait for a decision is
    # interruptible) and go on after Resume with the same decision.
    cid = env.name("traploop")
    pid, stream, r = _probe_with_unshare_trapped(env, cid, platform, ["traploop"], stderr=True)
    last = [0]

    def advancing(timeout=0.5):
        out = read_until(r, b"\xff", timeout=timeout).decode()
        expect("bad" not in out, "a trapped call gave something else than EPERM: %r" % out)
        values = [int(x) for x in re.findall(r"n (\d+)", out)]
        before = last[0]
        if values:
            last[0] = values[-1]
        return last[0] > before

    try:
        expect(eventually(advancing), "the loop runs")
        for _ in range(3):
            env.sentry.pause(cid)
            read_until(r, b"\xff", timeout=0.1)  # what was written before the pause
            expect(not advancing(0.3), "held while paused")
            procs = env.sentry.processes(cid)
            states = [st for p in procs for st in task_states(p["pid"])]
            expect(len(procs) == 2 and all(st == "t" for st in states), "both processes held: %r %r" % (procs, states))
            env.sentry.resume(cid)
            expect(eventually(advancing, timeout=5), "runs again after resume")
        expect(not env.sentry.has_result(stream), "still running")
    finally:
        env.sentry.destroy(cid)
        os.close(r)


def _sentry_fds(env):
    fd_dir = "/proc/%d/fd" % env.sentry.proc.pid
    out = []
    for f in os.listdir(fd_dir):
        try:
            out.append(os.readlink(os.path.join(fd_dir, f)))
        except OSError:
            pass
    return out


def test_unotify_listeners_are_closed(env):
    # One listener per filter load (the init, each exec); each is closed once no task uses it,
    # and all of a container's at its destroy.
    def listeners():
        return len([l for l in _sentry_fds(env) if "seccomp" in l])
    before = listeners()
    cid = env.name("listeners")
    pid, _ = env.sentry.create(cid, _trap_spec(env, PLATFORM_UNOTIFY, [trap_msg("mount", 0, 1)]),
                               process_msg(["sleep", MARKER]))
    env.sentry.start(cid)
    expect(listeners() == before + 1, "the init's listener: %r" % _sentry_fds(env))
    bg, _ = env.sentry.exec(cid, "bg", process_msg(["sleep", MARKER]))
    expect(listeners() == before + 2, "and the exec's: %r" % _sentry_fds(env))
    short, _ = env.sentry.exec(cid, "short", process_msg(["true"]))
    expect(env.sentry.wait(cid, short) == 0, "short exec ran")
    expect(eventually(lambda: listeners() == before + 2), "the ended exec's listener is closed: %r" % _sentry_fds(env))
    env.sentry.destroy(cid)
    expect(listeners() == before, "none left after destroy: %r" % _sentry_fds(env))
    # Without traps, or under strace (traps stay on ptrace), there is no listener at all.
    for seccomp in (seccomp_msg(platform=PLATFORM_UNOTIFY),
                    seccomp_msg(traps=[trap_msg("mount", 0, 1)], strace=True, strace_syscalls=["mount"],
                                platform=PLATFORM_UNOTIFY)):
        cid = env.name("nolistener")
        env.sentry.create(cid, spec_msg(env.rootfs, seccomp=seccomp), process_msg(["sleep", MARKER]))
        env.sentry.start(cid)
        expect(listeners() == before, "no listener: %r" % _sentry_fds(env))
        env.sentry.destroy(cid)


def test_unotify_a_container_cannot_stack_its_own_listener(env):
    # One listener per filter chain: a process of a unotify container cannot load a filter with a
    # listener of its own (EBUSY), so it cannot answer its own trapped calls. (A later filter's
    # SECCOMP_RET_USER_NOTIF outranks SECCOMP_RET_TRACE: on the ptrace platform it could.)
    cid = env.name("ownlistener")
    pid, stream, r = _probe_with_unshare_trapped(env, cid, PLATFORM_UNOTIFY, ["ownlistener"])
    out = read_all(r).decode()
    os.close(r)
    env.sentry.result(stream)
    env.sentry.destroy(cid)
    expect("listener EBUSY" in out and "unshare -1 EPERM" in out, "refused, and unshare still denied: %r" % out)


def test_unknown_platform_rejected(env):
    expect_error(lambda: env.sentry.create(env.name("plat"), spec_msg(env.rootfs, seccomp=seccomp_msg(platform=7)),
                                           process_msg(["true"])), 3, "unknown platform 7")


def measure_trap_cost(binary, rootfs, log_path, platform, calls, pin=True):
    """Runs `probe trapbench calls` as the root container of a fresh sentry (no --debug) pinned,
    like the probe, to CPU 0, as make bench pins it (a wake-up across CPUs costs more than the
    trap); pin=False pins neither (the scheduler places both). platform None = nothing trapped
    (unshare(0) runs natively). Returns ns per call of (getppid, unshare(0))."""
    s = Sentry(binary, "measure", debug=False, log_path=log_path)
    try:
        if pin:
            os.sched_setaffinity(s.proc.pid, {0})
        traps = [] if platform is None else [trap_msg("unshare", 0, 1)]
        seccomp = seccomp_msg(traps=traps, platform=PLATFORM_PTRACE if platform is None else platform)
        r, w = os.pipe()
        try:
            pid, _ = s.create("m", spec_msg(rootfs, seccomp=seccomp),
                              process_msg(["probe", "trapbench", str(calls)] + ([] if pin else ["free"]),
                                          stdio=stdio_msg(stdout=True)), [w])
        finally:
            os.close(w)
        s.start("m")
        out = read_all(r, timeout=300).decode()
        os.close(r)
        expect(s.wait("m", pid, timeout=300) == 0, "trapbench exits 0: %r" % out)
        s.shutdown()
        s.proc.wait(10)
        values = dict(l.split() for l in out.splitlines() if len(l.split()) == 2)
        return float(values["getppid"]), float(values["trapped"])
    finally:
        s.close()


MEASURED = (("native", None), ("ptrace", PLATFORM_PTRACE), ("unotify", PLATFORM_UNOTIFY))


def test_trapped_call_cost(env):
    # A measurement, not an assertion: what one trapped unshare(0) costs on each platform.
    costs = {name: measure_trap_cost(env.binary, env.rootfs, env.log_path, platform, 20000)[1]
             for name, platform in MEASURED}
    print("     trapped unshare(0), ns/call (20000 calls, sentry and probe on CPU 0): %s" %
          ", ".join("%s %.0f" % (name, costs[name]) for name, _ in MEASURED))


def test_zz_sentry_holds_no_stray_fds(env):
    # Run last: everything but the pause container is gone; the sentry must hold only its own
    # fds (stdio, control socket, spawner socket, epoll, signalfd) and the pause container's two
    # namespaces.
    fd_dir = "/proc/%d/fd" % env.sentry.proc.pid
    links = sorted(os.readlink(os.path.join(fd_dir, f)) for f in os.listdir(fd_dir) if int(f) > 2)
    pipes = [l for l in links if l.startswith("pipe:") or "ptmx" in l or "pts" in l]
    expect(len(links) <= 6 and not pipes, "sentry fds above 2: %r" % links)


def expand_platforms(tests):
    """(name, function) for every test; one per platform for those marked on_both_platforms."""
    out = []
    for fn in tests:
        if getattr(fn, "per_platform", False):
            out += [("%s[%s]" % (fn.__name__, name), functools.partial(fn, platform=value)) for name, value in PLATFORMS]
        else:
            out.append((fn.__name__, fn))
    return out


TESTS = expand_platforms([v for k, v in list(globals().items()) if k.startswith("test_")])


def leftovers(binary, tmp):
    """Processes and mounts of this test run still around (other runsc-ts users are ignored)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    procs = [l for l in out.splitlines() if ("sleep " + MARKER) in l or (binary + " --control-fd") in l]
    mounts = [l for l in open("/proc/self/mountinfo") if tmp in l or "sentry-test" in l]
    cgroups = [os.path.join(m, d) for m in cgroup_mounts() for d in os.listdir(m) if d.startswith(CGROUP_PREFIX)]
    return procs, mounts, cgroups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=DEFAULT_BINARY)
    ap.add_argument("-k", default="")
    ap.add_argument("-v", action="store_true", help="print the sentry log at the end")
    ap.add_argument("--measure", type=int, default=0, metavar="RUNS",
                    help="run no test: measure the trapped-call cost on each platform RUNS times and print the medians")
    ap.add_argument("--calls", type=int, default=200000, help="trapped calls per --measure run")
    ap.add_argument("--unpinned", action="store_true", help="--measure with neither the sentry nor the probe pinned")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if os.geteuid() != 0:
        print("run as root")
        return 2
    if args.measure:
        return measure(binary, args.measure, args.calls, not args.unpinned)
    tmp = tempfile.mkdtemp(prefix="sentry-test-")
    failures = []
    env = None
    try:
        env = Env(binary, tmp)
        for name, t in TESTS:
            if args.k not in name:
                continue
            start = time.time()
            try:
                t(env)
                print("ok   %-50s %.2fs" % (name, time.time() - start))
            except Exception as e:  # noqa: BLE001
                failures.append(name)
                print("FAIL %-50s %s" % (name, e))
                traceback.print_exc()
        env.sentry.shutdown()
        code = env.sentry.proc.wait(10)
        if code != 0:
            failures.append("shutdown exit code %d" % code)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        failures.append("setup")
    finally:
        if env:
            env.close()
        if args.v or failures:
            try:
                print("---- sentry log (tail) ----")
                print("".join(open(os.path.join(tmp, "sentry.log")).readlines()[-60:]))
            except OSError:
                pass
        time.sleep(0.2)
        procs, mounts, cgroups = leftovers(binary, tmp)
        if procs or mounts or cgroups:
            failures.append("leftovers")
            print("LEFTOVER processes: %r\nLEFTOVER mounts: %r\nLEFTOVER cgroups: %r" % (procs, mounts, cgroups))
            for cg in cgroups:
                remove_cgroup_tree(cg.split("/")[-1])
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)%s" % (len(failures), (": " + ", ".join(failures)) if failures else ""))
    return 1 if failures else 0


def measure(binary, runs, calls, pin):
    """Prints ns per trapped unshare(0) on each platform (and natively), run by run, then the medians."""
    tmp = tempfile.mkdtemp(prefix="sentry-test-")
    try:
        rootfs = make_rootfs(tmp)
        log_path = os.path.join(tmp, "sentry.log")
        results = {name: [] for name, _ in MEASURED}
        getppid = []
        for i in range(runs):  # interleaved, so drift hits every platform alike
            row = []
            for name, platform in MEASURED:
                g, t = measure_trap_cost(binary, rootfs, log_path, platform, calls, pin)
                getppid.append(g)
                results[name].append(t)
                row.append("%s %.0f" % (name, t))
            print("run %d: unshare(0) ns/call: %s" % (i + 1, ", ".join(row)))
        median = lambda xs: sorted(xs)[len(xs) // 2] if len(xs) % 2 else sum(sorted(xs)[len(xs) // 2 - 1:len(xs) // 2 + 1]) / 2
        print("median of %d runs of %d calls (%s): getppid %.0f ns; unshare(0) %s" % (
            runs, calls, "sentry and probe pinned to CPU 0" if pin else "nothing pinned", median(getppid), ", ".join("%s %.0f ns" % (name, median(results[name])) for name, _ in MEASURED)))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
