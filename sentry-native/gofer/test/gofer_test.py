#!/usr/bin/env python3
# Behaviour tests of runsc-ts-gofer on its own (run as root): each test serves a temp backing
# directory over /dev/fuse on a temp mount point (mount(2) through ctypes, as the shim does),
# drives the mount and compares what it sees with the backing directory or with the same
# operations on a plain twin directory. Every test unmounts, kills and removes what it made,
# also when it fails.
#   python3 sentry-native/gofer/test/gofer_test.py [--binary PATH] [-k NAME_SUBSTRING] [-v]
#                                                  [--io-uring auto|on|off]
# --io-uring is given to every gofer; `on` sets the fuse module's enable_uring for the run and
# puts its value back afterwards. Whatever it says, IoUringTest runs its own checks with the
# transport on and off (it skips when the kernel has no FUSE over io_uring).
# Prints one line per test: `ok NAME`, `FAIL NAME reason` or `skip NAME reason`.
import argparse
import ctypes
import errno
import fcntl
import json
import mmap
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
DEFAULT_BINARY = os.path.join(REPO, "build", "Release", "runsc-ts-gofer")
FSCONF_SRC = os.path.join(REPO, "integration", "fsconf", "fsconf.c")
BINARY = DEFAULT_BINARY  # set by main()
IO_URING = None  # --io-uring for every gofer (None: the gofer's default), set by main()
ENABLE_URING = "/sys/module/fuse/parameters/enable_uring"
ID_PREFIX = "gofer-test-%d" % os.getpid()  # every gofer's --id starts with it: leftovers are found by it
TMP_PREFIX = "gofer-test-"
NOBODY = 65534

MS_RDONLY = 1
MS_REC, MS_PRIVATE = 1 << 14, 1 << 18
MNT_DETACH = 2
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_SYS_ADMIN = 12, 19, 21
# What the gofer may keep: CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, MKNOD (+SYS_ADMIN).
ALLOWED_CAPS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 27)

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.c_void_p
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]
libc.rewinddir.argtypes = [ctypes.c_void_p]
libc.lsetxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
libc.lgetxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
libc.lgetxattr.restype = ctypes.c_ssize_t
libc.getxattr.argtypes = libc.lgetxattr.argtypes
libc.getxattr.restype = ctypes.c_ssize_t
libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
libc.listxattr.restype = ctypes.c_ssize_t


def check(rc):
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return rc


def sys_mount(source, target, fstype, flags=0, data=""):
    check(libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode()))


def sys_umount(target):
    return libc.umount2(target.encode(), MNT_DETACH) == 0


def renameat2(old, new, flags):
    check(libc.renameat2(-100, old.encode(), -100, new.encode(), flags))


def getxattr_raw(path, name, size, follow=True):
    buf = ctypes.create_string_buffer(max(size, 1))
    fn = libc.getxattr if follow else libc.lgetxattr
    n = check(fn(path.encode(), name.encode(), buf if size else None, size))
    return n if size == 0 else buf.raw[:n]


def listxattr_raw(path, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    n = check(libc.listxattr(path.encode(), buf if size else None, size))
    return n if size == 0 else buf.raw[:n]


def outcome(fn, *args, **kwargs):
    """fn's result, or the name of the errno it raised ("ENOENT")."""
    try:
        return fn(*args, **kwargs)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def in_child(fn, uid=None, timeout=20):
    """Runs fn in a forked child (as uid, if given) and returns outcome(fn) (json-able), or
    "HUNG" if it did not finish in time (the child is killed)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            res = outcome(fn)
            data = json.dumps(["r", res])
        except BaseException as e:  # noqa: BLE001
            data = json.dumps(["x", repr(e)])
        os.write(w, data.encode())
        os._exit(0)
    os.close(w)
    out = b""
    deadline = time.time() + timeout
    hung = False
    while True:
        left = deadline - time.time()
        ready, _, _ = select.select([r], [], [], max(0, left))
        if not ready:
            hung = True
            break
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    if hung:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if hung:
        return "HUNG"
    kind, val = json.loads(out.decode())
    if kind == "x":
        raise AssertionError("child failed: " + val)
    return val


def eventually(fn, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(interval)


def status_field(pid, name):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(name + ":"):
            return line.split(None, 1)[1].strip()
    return None


def mounts_under(path):
    out = []
    for line in open("/proc/self/mountinfo"):
        mp = line.split()[4]
        if mp == path or mp.startswith(path + "/"):
            out.append(mp)
    return out


class Gofer:
    """One runsc-ts-gofer serving host paths, each on a FUSE mount of its own."""

    def __init__(self, serves, args=(), id_suffix="g", mount_first=True, log_path=None, extra_fds=(),
                 serve_flag="--serve", after_mount=None):
        # serves: [(host_path, mount_point, rootmode)]
        self.serves = serves
        self.id = "%s-%s" % (ID_PREFIX, id_suffix)
        self.mounted = []
        self.fds = []
        self.log_path = log_path
        self.proc = None
        for _, mnt, rootmode in serves:
            fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
            self.fds.append((fd, mnt, rootmode))
        if mount_first:
            self.mount_all()
            if after_mount is not None:
                after_mount()
        self.log = open(log_path, "ab")
        argv = [BINARY, "--id", self.id, "--log-fd", str(self.log.fileno())] + list(args)
        if IO_URING and not any(a.startswith("--io-uring") for a in args):
            argv.append("--io-uring=" + IO_URING)
        for (fd, _, _), (host, _, _) in zip(self.fds, serves):
            argv += [serve_flag, "%d:%s" % (fd, host)]
        self.proc = subprocess.Popen(argv, pass_fds=[fd for fd, _, _ in self.fds] + [self.log.fileno()] + list(extra_fds),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)
        if not mount_first:
            self.mount_all()
        for fd, _, _ in self.fds:
            os.close(fd)
        self.fds = []

    def mount_all(self):
        for fd, mnt, rootmode in self.fds:
            opts = "fd=%d,rootmode=%s,user_id=0,group_id=0,allow_other,default_permissions" % (fd, rootmode)
            sys_mount("runsc-ts", mnt, "fuse", 0, opts)
            self.mounted.append(mnt)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        for mnt in reversed(self.mounted):
            sys_umount(mnt)
        self.mounted = []
        for fd, _, _ in self.fds:
            os.close(fd)
        self.fds = []
        if self.proc is not None and self.wait(5) is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class GoferCase(unittest.TestCase):
    """Base of the tests: a temp dir per test and cleanups that always run."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=TMP_PREFIX)
        os.chmod(self.tmp, 0o755)
        self.gofers = []
        self.extra_mounts = []

    def tearDown(self):
        for g in reversed(self.gofers):
            try:
                g.close()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        for m in reversed(self.extra_mounts):
            sys_umount(m)
        for m in sorted(mounts_under(self.tmp), key=len, reverse=True):
            sys_umount(m)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def mkdir(self, name, mode=0o755):
        p = os.path.join(self.tmp, name)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        return p

    def serve(self, backing=None, args=(), rootmode="40000", mount_first=True, extra_fds=(), serve_flag="--serve",
              after_mount=None):
        """Serves backing (default: a new dir) on a new mount point; returns the Gofer with
        .back and .mnt set."""
        n = len(self.gofers)
        back = backing or self.mkdir("back%d" % n)
        if rootmode == "100000":
            mnt = os.path.join(self.tmp, "mntfile%d" % n)
            open(mnt, "w").close()
        else:
            mnt = self.mkdir("mnt%d" % n)
        g = Gofer([(back, mnt, rootmode)], args=args, id_suffix="%s-%d" % (self._testMethodName, n),
                  mount_first=mount_first, log_path=os.path.join(self.tmp, "gofer%d.log" % n), extra_fds=extra_fds,
                  serve_flag=serve_flag, after_mount=after_mount)
        self.gofers.append(g)
        g.back, g.mnt = back, mnt
        return g

    def twin(self):
        """A plain directory to run the same operations on, for errno-exact comparisons."""
        return self.mkdir("twin%d" % len(self.gofers))

    def assertSame(self, mnt, ref, fn, what):
        """fn(root) gives the same result (or errno) under the mount and under the twin."""
        got, want = outcome(fn, mnt), outcome(fn, ref)
        self.assertEqual(got, want, "%s: mount gave %r, plain directory %r" % (what, got, want))
        return got

    def assertLogHas(self, g, text):
        self.assertTrue(eventually(lambda: text in g.log_text(), 5), "%r not in the gofer log:\n%s" %
                        (text, g.log_text()[-3000:]))


def populate(root):
    """A small tree used by several tests, made the same way in a backing dir and a twin."""
    os.makedirs(os.path.join(root, "dir", "sub"))
    with open(os.path.join(root, "file"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(root, "dir", "inner"), "w") as f:
        f.write("inner\n")
    os.symlink("file", os.path.join(root, "link"))
    os.symlink("missing", os.path.join(root, "dangling"))
    os.symlink("loop2", os.path.join(root, "loop1"))
    os.symlink("loop1", os.path.join(root, "loop2"))
    with open(os.path.join(root, "secret"), "w") as f:
        f.write("root only\n")
    os.chmod(os.path.join(root, "secret"), 0o600)
    os.mkdir(os.path.join(root, "rootdir"), 0o755)
    os.mkdir(os.path.join(root, "open"), 0o777)
    os.mkdir(os.path.join(root, "sticky"), 0o1777)


class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64), ("d_reclen", ctypes.c_ushort),
                ("d_type", ctypes.c_ubyte), ("d_name", ctypes.c_char * 256)]


def read_names(dirp, n):
    """Reads up to n names from an opendir() handle."""
    names = []
    while len(names) < n:
        p = libc.readdir(dirp)
        if not p:
            break
        names.append(ctypes.cast(p, ctypes.POINTER(Dirent)).contents.d_name.decode())
    return names


def lstat_view(path):
    st = os.lstat(path)
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size, st.st_nlink
            if not stat.S_ISDIR(st.st_mode) else None, st.st_mtime_ns, st.st_ino)


# ---- command line and lifecycle ----

class CommandLineTest(GoferCase):
    def run_gofer(self, args, pass_fds=()):
        return subprocess.run([BINARY] + args, pass_fds=pass_fds, capture_output=True, text=True, timeout=20)

    def test_missing_path_names_id_step_and_cause(self):
        fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        try:
            missing = os.path.join(self.tmp, "nope")
            r = self.run_gofer(["--id", "abc", "--serve", "%d:%s" % (fd, missing)], pass_fds=[fd])
        finally:
            os.close(fd)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("gofer abc: opening %s: no such file or directory" % missing, r.stderr.lower(), r.stderr)

    def test_bad_arguments_print_usage(self):
        for args, text in [([], "--id is required"), (["--id", "x"], "at least one --serve"),
                           (["--id", "x", "--mode", "weird", "--serve", "3:/"], "--mode"),
                           (["--id", "x", "--passthrough-depth", "3", "--serve", "3:/"], "--passthrough-depth"),
                           (["--id", "x", "--serve", "3"], "--serve"), (["--id", "x", "--bogus"], "unknown argument"),
                           (["--id", "x", "--io-uring", "maybe", "--serve", "3:/"], "--io-uring")]:
            r = self.run_gofer(args)
            self.assertEqual(r.returncode, 2, "%r exits 2" % args)
            self.assertIn(text, r.stderr, "%r: %s" % (args, r.stderr))
            self.assertIn("usage:", r.stderr)

    def test_serve_fd_must_be_dev_fuse(self):
        r, w = os.pipe()
        try:
            res = self.run_gofer(["--id", "p", "--serve", "%d:%s" % (r, self.tmp)], pass_fds=[r])
        finally:
            os.close(r)
            os.close(w)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("gofer p: --serve fd %d: not /dev/fuse" % r, res.stderr)

    def test_mount_after_start_then_exit_0_on_unmount(self):
        g = self.serve(mount_first=False)
        with open(os.path.join(g.back, "f"), "w") as f:
            f.write("late")
        with open(os.path.join(g.mnt, "f")) as f:
            self.assertEqual(f.read(), "late")
        sys_umount(g.mnt)
        g.mounted = []
        self.assertEqual(g.wait(10), 0, "the gofer exits 0 once its only connection ends:\n" + g.log_text())
        self.assertLogHas(g, "connection ended")

    def test_two_serves_in_one_gofer_exdev_between_them(self):
        back = [self.mkdir("b0"), self.mkdir("b1")]
        mnt = [self.mkdir("m0"), self.mkdir("m1")]
        g = Gofer([(back[0], mnt[0], "40000"), (back[1], mnt[1], "40000")], id_suffix="two",
                  log_path=os.path.join(self.tmp, "two.log"))
        self.gofers.append(g)
        for i in (0, 1):
            with open(os.path.join(mnt[i], "f"), "w") as f:
                f.write(str(i))
            with open(os.path.join(back[i], "f")) as f:
                self.assertEqual(f.read(), str(i))
        self.assertEqual(outcome(os.rename, os.path.join(mnt[0], "f"), os.path.join(mnt[1], "g")), "EXDEV")
        self.assertEqual(outcome(os.link, os.path.join(mnt[0], "f"), os.path.join(mnt[1], "g")), "EXDEV")
        self.assertEqual(sorted(os.listdir("/proc/%d/root" % g.proc.pid)), ["0", "1"])
        sys_umount(mnt[0])
        time.sleep(0.3)
        self.assertIsNone(g.proc.poll(), "one connection ended, the other still serves")
        self.assertEqual(os.listdir(mnt[1]), ["f"])
        g.close()
        self.assertEqual(g.proc.returncode, 0)


# ---- file system operations ----

class OperationsTest(GoferCase):
    def test_lookup_and_getattr_match_backing(self):
        g = self.serve()
        populate(g.back)
        for root, dirs, files in os.walk(g.back):
            for name in dirs + files + ["."]:
                p = os.path.join(root, name)
                rel = os.path.relpath(p, g.back)
                self.assertEqual(lstat_view(os.path.join(g.mnt, rel)), lstat_view(p), rel)
        self.assertEqual(sorted(os.listdir(g.mnt)), sorted(os.listdir(g.back)))

    def test_namespace_errnos_match_plain_directory(self):
        g = self.serve()
        ref = self.twin()
        populate(g.back)
        populate(ref)
        j = os.path.join
        ops = [
            ("mkdir exists", lambda r: os.mkdir(j(r, "dir"))),
            ("mkdir missing parent", lambda r: os.mkdir(j(r, "nope", "x"))),
            ("mkdir under file", lambda r: os.mkdir(j(r, "file", "x"))),
            ("rmdir not empty", lambda r: os.rmdir(j(r, "dir"))),
            ("rmdir file", lambda r: os.rmdir(j(r, "file"))),
            ("rmdir missing", lambda r: os.rmdir(j(r, "nope"))),
            ("unlink dir", lambda r: os.unlink(j(r, "dir"))),
            ("unlink missing", lambda r: os.unlink(j(r, "nope"))),
            ("open missing", lambda r: open(j(r, "nope")).read()),
            ("open excl exists", lambda r: os.close(os.open(j(r, "file"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))),
            ("open dir for write", lambda r: os.close(os.open(j(r, "dir"), os.O_WRONLY))),
            ("open file as dir", lambda r: os.close(os.open(j(r, "file"), os.O_RDONLY | os.O_DIRECTORY))),
            ("open loop", lambda r: open(j(r, "loop1")).read()),
            ("open dangling", lambda r: open(j(r, "dangling")).read()),
            ("open link nofollow", lambda r: os.close(os.open(j(r, "link"), os.O_RDONLY | os.O_NOFOLLOW))),
            ("rename dir over nonempty", lambda r: os.rename(j(r, "rootdir"), j(r, "dir"))),
            ("rename file over dir", lambda r: os.rename(j(r, "file"), j(r, "rootdir"))),
            ("rename into own subdir", lambda r: os.rename(j(r, "dir"), j(r, "dir", "sub", "x"))),
            ("link dir", lambda r: os.link(j(r, "dir"), j(r, "dir2"))),
            ("link exists", lambda r: os.link(j(r, "file"), j(r, "link"))),
            ("symlink exists", lambda r: os.symlink("x", j(r, "file"))),
            ("readlink file", lambda r: os.readlink(j(r, "file"))),
            ("name too long", lambda r: open(j(r, "x" * 256), "w").close()),
            ("truncate dir", lambda r: os.truncate(j(r, "dir"), 0)),
            ("listdir", lambda r: sorted(os.listdir(r))),
            ("create, write, read", lambda r: (open(j(r, "new"), "w").write("abc"), open(j(r, "new")).read())),
            ("append", lambda r: (open(j(r, "new"), "a").write("def"), open(j(r, "new")).read())),
            ("truncate via open", lambda r: (open(j(r, "new"), "w").close(), os.stat(j(r, "new")).st_size)),
            ("rmdir empty", lambda r: (os.mkdir(j(r, "e")), os.rmdir(j(r, "e")), os.path.exists(j(r, "e")))),
            ("rename", lambda r: (os.rename(j(r, "new"), j(r, "dir", "moved")), sorted(os.listdir(j(r, "dir"))))),
            ("listdir after", lambda r: sorted(os.listdir(r))),
        ]
        for what, fn in ops:
            self.assertSame(g.mnt, ref, fn, what)

    def test_open_flags_trunc_append_excl(self):
        g = self.serve()
        p = os.path.join(g.mnt, "f")
        fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
        os.write(fd, b"0123456789")
        os.close(fd)
        fd = os.open(p, os.O_WRONLY | os.O_APPEND)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"AB")
        os.pwrite(fd, b"Z", 0)  # O_APPEND: pwrite appends too
        os.close(fd)
        with open(os.path.join(g.back, "f"), "rb") as f:
            self.assertEqual(f.read(), b"0123456789ABZ")
        fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
        os.close(fd)
        self.assertEqual(os.stat(os.path.join(g.back, "f")).st_size, 0)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(g.back, "f")).st_mode), 0o640 & ~current_umask())

    def test_symlinks_are_stored_not_followed(self):
        g = self.serve()
        os.symlink("/etc/passwd", os.path.join(g.back, "passwd"))
        os.symlink("../../outside", os.path.join(g.back, "up"))
        self.assertEqual(os.readlink(os.path.join(g.mnt, "passwd")), "/etc/passwd")
        self.assertTrue(stat.S_ISLNK(os.lstat(os.path.join(g.mnt, "passwd")).st_mode))
        self.assertEqual(os.readlink(os.path.join(g.mnt, "up")), "../../outside")
        os.symlink("target-of-new", os.path.join(g.mnt, "new"))
        self.assertEqual(os.readlink(os.path.join(g.back, "new")), "target-of-new")
        self.assertEqual(outcome(os.open, os.path.join(g.mnt, "passwd"), os.O_RDONLY | os.O_NOFOLLOW), "ELOOP")

    def test_hard_links(self):
        g = self.serve()
        ref = self.twin()
        for r in (g.back, ref):
            populate(r)
        j = os.path.join
        self.assertSame(g.mnt, ref, lambda r: (os.link(j(r, "file"), j(r, "dir", "hard")),
                                               os.stat(j(r, "file")).st_nlink, open(j(r, "dir", "hard")).read()),
                        "link")
        self.assertEqual(os.stat(j(g.mnt, "file")).st_ino, os.stat(j(g.mnt, "dir", "hard")).st_ino)
        self.assertEqual(os.stat(j(g.back, "dir", "hard")).st_ino, os.stat(j(g.back, "file")).st_ino)
        self.assertSame(g.mnt, ref, lambda r: (os.unlink(j(r, "file")), os.stat(j(r, "dir", "hard")).st_nlink),
                        "unlink one")
        outside = os.path.join(self.tmp, "outside")
        open(outside, "w").close()
        self.assertEqual(outcome(os.link, outside, j(g.mnt, "in")), "EXDEV")

    def test_rename_flags(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join
        for r in (g.back, ref):
            for n, data in (("a", "A"), ("b", "B")):
                with open(j(r, n), "w") as f:
                    f.write(data)
            os.mkdir(j(r, "d"))
        read = lambda r: (open(j(r, "a")).read(), open(j(r, "b")).read())  # noqa: E731
        self.assertSame(g.mnt, ref, lambda r: renameat2(j(r, "a"), j(r, "b"), RENAME_NOREPLACE), "noreplace")
        self.assertSame(g.mnt, ref, lambda r: (renameat2(j(r, "a"), j(r, "b"), RENAME_EXCHANGE), read(r)), "exchange")
        self.assertSame(g.mnt, ref, lambda r: (renameat2(j(r, "a"), j(r, "d"), RENAME_EXCHANGE),
                                               stat.S_ISDIR(os.lstat(j(r, "a")).st_mode)), "exchange file and dir")
        self.assertSame(g.mnt, ref, lambda r: renameat2(j(r, "a"), j(r, "nope"), RENAME_EXCHANGE), "exchange missing")
        self.assertSame(g.mnt, ref, lambda r: renameat2(j(r, "b"), j(r, "c"), RENAME_EXCHANGE | RENAME_NOREPLACE),
                        "exchange|noreplace")
        # RENAME_WHITEOUT would create a device node on the host for the container: refused.
        self.assertEqual(outcome(renameat2, j(g.mnt, "b"), j(g.mnt, "w"), RENAME_WHITEOUT), "EINVAL")
        self.assertEqual(sorted(os.listdir(g.back)), ["a", "b", "d"])

    def test_setattr_mode_owner_size_times(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join
        for r in (g.back, ref):
            populate(r)

        def view(r, n, times=False):
            st = os.lstat(j(r, n))
            v = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_size)
            return v + (st.st_atime_ns, st.st_mtime_ns) if times else v

        steps = [
            ("chmod", lambda r: (os.chmod(j(r, "file"), 0o4751), view(r, "file"))),
            ("chown kills setuid", lambda r: (os.chown(j(r, "file"), 1234, 5678), view(r, "file"))),
            ("chmod setgid dir", lambda r: (os.chmod(j(r, "dir"), 0o2775), view(r, "dir"))),
            ("lchown link", lambda r: (os.lchown(j(r, "link"), 42, 43), os.lstat(j(r, "link")).st_uid,
                                       os.stat(j(r, "link")).st_uid)),
            ("truncate grow", lambda r: (os.truncate(j(r, "file"), 100), view(r, "file"))),
            ("ftruncate shrink", lambda r: (ftruncate_path(j(r, "file"), 3), open(j(r, "file")).read())),
            ("utime explicit", lambda r: (os.utime(j(r, "file"), ns=(1000000000123, 2000000000456)),
                                          view(r, "file", times=True))),
            ("utime link nofollow", lambda r: (os.utime(j(r, "link"), ns=(5, 6), follow_symlinks=False),
                                               os.lstat(j(r, "link")).st_mtime_ns)),
            ("chmod missing", lambda r: os.chmod(j(r, "nope"), 0o600)),
        ]
        for what, fn in steps:
            self.assertSame(g.mnt, ref, fn, what)
        before = time.time_ns()
        os.utime(j(g.mnt, "file"))  # UTIME_NOW
        self.assertGreaterEqual(os.stat(j(g.back, "file")).st_mtime_ns, before - 10**9)
        self.assertEqual(view(g.mnt, "file", times=True), view(g.back, "file", times=True))

    def test_xattrs(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join
        for r in (g.back, ref):
            populate(r)
        steps = [
            ("set", lambda r: os.setxattr(j(r, "file"), "user.k", b"value1")),
            ("get", lambda r: os.getxattr(j(r, "file"), "user.k")),
            ("size probe", lambda r: getxattr_raw(j(r, "file"), "user.k", 0)),
            ("ERANGE", lambda r: getxattr_raw(j(r, "file"), "user.k", 2)),
            ("list", lambda r: sorted(os.listxattr(j(r, "file")))),
            ("list size probe", lambda r: listxattr_raw(j(r, "file"), 0)),
            ("list ERANGE", lambda r: listxattr_raw(j(r, "file"), 1)),
            ("create exists", lambda r: os.setxattr(j(r, "file"), "user.k", b"x", os.XATTR_CREATE)),
            ("replace missing", lambda r: os.setxattr(j(r, "file"), "user.m", b"x", os.XATTR_REPLACE)),
            ("get missing", lambda r: os.getxattr(j(r, "file"), "user.m")),
            ("big value", lambda r: (os.setxattr(j(r, "file"), "user.big", b"v" * 4000),
                                     len(os.getxattr(j(r, "file"), "user.big")))),
            ("empty value", lambda r: (os.setxattr(j(r, "file"), "user.e", b""), os.getxattr(j(r, "file"), "user.e"))),
            ("dir", lambda r: (os.setxattr(j(r, "dir"), "user.d", b"D"), os.getxattr(j(r, "dir"), "user.d"))),
            ("follows link", lambda r: os.getxattr(j(r, "link"), "user.k")),
            ("user on symlink", lambda r: os.setxattr(j(r, "link"), "user.l", b"L", follow_symlinks=False)),
            ("trusted on symlink", lambda r: (os.setxattr(j(r, "link"), "trusted.l", b"T", follow_symlinks=False),
                                              os.getxattr(j(r, "link"), "trusted.l", follow_symlinks=False))),
            ("no namespace", lambda r: os.setxattr(j(r, "file"), "nonamespace", b"x")),
            ("remove", lambda r: (os.removexattr(j(r, "file"), "user.k"), sorted(os.listxattr(j(r, "file"))))),
            ("remove missing", lambda r: os.removexattr(j(r, "file"), "user.k")),
        ]
        for what, fn in steps:
            self.assertSame(g.mnt, ref, fn, what)
        self.assertEqual(os.getxattr(j(g.back, "dir"), "user.d"), b"D")
        self.assertEqual(os.getxattr(j(g.back, "link"), "trusted.l", follow_symlinks=False), b"T")

    def test_fifo_and_unix_socket(self):
        g = self.serve()
        fifo = os.path.join(g.mnt, "fifo")
        os.mkfifo(fifo, 0o644)
        self.assertTrue(stat.S_ISFIFO(os.stat(os.path.join(g.back, "fifo")).st_mode))
        pid = os.fork()
        if pid == 0:
            try:
                with open(fifo, "w") as f:
                    f.write("through the fifo")
            finally:
                os._exit(0)
        with open(fifo) as f:
            self.assertEqual(f.read(), "through the fifo")
        os.waitpid(pid, 0)
        path = os.path.join(g.mnt, "sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            srv.bind(path)
            srv.listen(1)
            self.assertTrue(stat.S_ISSOCK(os.stat(os.path.join(g.back, "sock")).st_mode))
            cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            cli.connect(path)
            conn, _ = srv.accept()
            cli.sendall(b"ping")
            self.assertEqual(conn.recv(4), b"ping")
            conn.close()
            cli.close()
        finally:
            srv.close()
        self.assertEqual(outcome(lambda: os.open(path, os.O_RDONLY)), "ENXIO")

    def test_mknod_device_and_regular(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join
        steps = [
            ("char device", lambda r: (os.mknod(j(r, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3)),
                                       os.major(os.stat(j(r, "null")).st_rdev), os.minor(os.stat(j(r, "null")).st_rdev))),
            ("write device", lambda r: open(j(r, "null"), "w").write("x")),
            ("block device", lambda r: (os.mknod(j(r, "blk"), 0o600 | stat.S_IFBLK, os.makedev(7, 200)),
                                        os.stat(j(r, "blk")).st_rdev)),
            ("regular", lambda r: (os.mknod(j(r, "reg"), 0o640 | stat.S_IFREG), stat.S_IMODE(os.stat(j(r, "reg")).st_mode))),
            ("exists", lambda r: os.mknod(j(r, "reg"), 0o640 | stat.S_IFREG)),
        ]
        for what, fn in steps:
            self.assertSame(g.mnt, ref, fn, what)

    def test_statfs_matches_backing(self):
        g = self.serve()
        a, b = os.statvfs(g.mnt), os.statvfs(g.back)
        self.assertEqual((a.f_bsize, a.f_blocks, a.f_files, a.f_namemax), (b.f_bsize, b.f_blocks, b.f_files, b.f_namemax))

    def test_seek_hole_fallocate_copy_range_tmpfile(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join

        def sparse(r):
            fd = os.open(j(r, "sparse"), os.O_CREAT | os.O_RDWR, 0o644)
            try:
                os.pwrite(fd, b"x", 1 << 20)
                return (os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE),
                        outcome(os.lseek, fd, 2 << 20, os.SEEK_DATA))
            finally:
                os.close(fd)

        def falloc(r):
            fd = os.open(j(r, "fa"), os.O_CREAT | os.O_RDWR, 0o644)
            try:
                os.posix_fallocate(fd, 0, 8192)
                return os.fstat(fd).st_size, outcome(os.posix_fallocate, fd, 0, 0)
            finally:
                os.close(fd)

        def copy(r):
            with open(j(r, "src"), "wb") as f:
                f.write(bytes(range(256)) * 100)
            a = os.open(j(r, "src"), os.O_RDONLY)
            b = os.open(j(r, "dst"), os.O_CREAT | os.O_WRONLY, 0o644)
            try:
                n = os.copy_file_range(a, b, 25600)
            finally:
                os.close(a)
                os.close(b)
            return n, open(j(r, "dst"), "rb").read() == open(j(r, "src"), "rb").read()

        def tmpfile(r):
            fd = os.open(r, os.O_TMPFILE | os.O_RDWR, 0o600)
            try:
                os.write(fd, b"tmp")
                n0 = os.fstat(fd).st_nlink
                os.link("/proc/self/fd/%d" % fd, j(r, "linked"), follow_symlinks=True)
                return n0, open(j(r, "linked")).read(), stat.S_IMODE(os.stat(j(r, "linked")).st_mode)
            finally:
                os.close(fd)

        for what, fn in (("sparse", sparse), ("fallocate", falloc), ("copy_file_range", copy), ("O_TMPFILE", tmpfile)):
            self.assertSame(g.mnt, ref, fn, what)

    def test_nonroot_caller_gets_the_same_errnos(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join
        for r in (g.back, ref):
            populate(r)
        checks = [
            ("read 0600", lambda r: open(j(r, "secret")).read()),
            ("read 0644", lambda r: open(j(r, "file")).read()),
            ("write 0644", lambda r: open(j(r, "file"), "a").write("x")),
            ("create in 0755 root dir", lambda r: open(j(r, "rootdir", "x"), "w").close()),
            ("mkdir in 0755 root dir", lambda r: os.mkdir(j(r, "rootdir", "x"))),
            ("unlink in root dir", lambda r: os.unlink(j(r, "dir", "inner"))),
            ("chmod other", lambda r: os.chmod(j(r, "file"), 0o777)),
            ("chown other", lambda r: os.chown(j(r, "file"), NOBODY, NOBODY)),
            ("utime other", lambda r: os.utime(j(r, "file"), ns=(1, 1))),
            ("setxattr other", lambda r: os.setxattr(j(r, "file"), "user.x", b"1")),
            ("create in 0777", lambda r: (open(j(r, "open", "mine"), "w").close(), os.stat(j(r, "open", "mine")).st_uid)),
            ("unlink other in sticky", lambda r: os.unlink(j(r, "sticky", "rootfile"))),
            ("traverse 0700", lambda r: os.stat(j(r, "private", "x"))),
        ]
        for r in (g.back, ref):
            open(j(r, "sticky", "rootfile"), "w").close()
            os.mkdir(j(r, "private"), 0o700)
        for what, fn in checks:
            got = in_child(lambda: fn(g.mnt), uid=NOBODY)
            want = in_child(lambda: fn(ref), uid=NOBODY)
            self.assertEqual(got, want, "%s as uid %d: mount %r, plain directory %r" % (what, NOBODY, got, want))
        self.assertIn("EACCES", [in_child(lambda: open(j(g.mnt, "secret")).read(), uid=NOBODY)])

    def test_new_objects_belong_to_the_caller_and_follow_setgid_dirs(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join
        for r in (g.back, ref):
            os.mkdir(j(r, "sgid"))
            os.chown(j(r, "sgid"), 0, 1234)
            os.chmod(j(r, "sgid"), 0o2777)
            os.chmod(r, 0o777)

        def make(r):
            old = os.umask(0o022)
            try:
                open(j(r, "f"), "w").close()
                os.mkdir(j(r, "d"))
                os.symlink("t", j(r, "l"))
                os.mkfifo(j(r, "p"))
                open(j(r, "sgid", "f"), "w").close()
                os.mkdir(j(r, "sgid", "d"))
                os.close(os.open(j(r, "sgid", "x"), os.O_CREAT | os.O_WRONLY, 0o2755))
            finally:
                os.umask(old)
            out = {}
            for n in ("f", "d", "l", "p", "sgid/f", "sgid/d", "sgid/x"):
                st = os.lstat(j(r, n))
                out[n] = (st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode)))
            return out

        got = in_child(lambda: make(g.mnt), uid=NOBODY)
        want = in_child(lambda: make(ref), uid=NOBODY)
        self.assertEqual(got, want)
        self.assertEqual(got["f"][:2], [NOBODY, NOBODY])
        self.assertEqual(got["sgid/d"][1:], [1234, "0o2755"])
        # Root creating with a mode that has the set-ID bits keeps them after the chown.
        self.assertSame(g.mnt, ref, lambda r: (os.close(os.open(j(r, "suid"), os.O_CREAT | os.O_WRONLY, 0o6755)),
                                               oct(stat.S_IMODE(os.stat(j(r, "suid")).st_mode))), "root suid create")

    def test_umask_of_the_caller_is_applied(self):
        g = self.serve()
        ref = self.twin()
        j = os.path.join

        def make(r):
            old = os.umask(0o027)
            try:
                open(j(r, "f"), "w").close()
                os.mkdir(j(r, "d"), 0o777)
                os.mknod(j(r, "n"), 0o666 | stat.S_IFIFO)
            finally:
                os.umask(old)
            return [oct(stat.S_IMODE(os.stat(j(r, n)).st_mode)) for n in ("f", "d", "n")]

        self.assertEqual(self.assertSame(g.mnt, ref, make, "umask 027"), ["0o640", "0o750", "0o640"])

    def test_unprivileged_write_clears_set_id_bits(self):
        for depth in ("0", "2"):
            g = self.serve(args=["--passthrough-depth", depth])
            ref = self.twin()
            j = os.path.join
            for r in (g.back, ref):
                os.chmod(r, 0o777)
                for n, mode in (("suid", 0o4777), ("sgidx", 0o2777)):
                    with open(j(r, n), "w") as f:
                        f.write("x")
                    os.chmod(j(r, n), mode)

            def write(r):
                for n in ("suid", "sgidx"):
                    with open(j(r, n), "a") as f:
                        f.write("y")
                return [oct(os.stat(j(r, n)).st_mode) for n in ("suid", "sgidx")]

            self.assertEqual(in_child(lambda: write(g.mnt), uid=NOBODY), in_child(lambda: write(ref), uid=NOBODY),
                             "passthrough depth " + depth)
            self.assertEqual(oct(os.stat(j(g.back, "suid")).st_mode), "0o100777")
            self.assertSame(g.mnt, ref, lambda r: (os.chmod(j(r, "suid"), 0o4777), open(j(r, "suid"), "a").write("z"),
                                                   oct(os.stat(j(r, "suid")).st_mode)), "root keeps setuid")

    def test_locks_are_local_to_the_mount(self):
        g = self.serve()
        p, hp = os.path.join(g.mnt, "lock"), os.path.join(g.back, "lock")
        open(p, "w").close()
        a = os.open(p, os.O_RDWR)
        b = os.open(p, os.O_RDWR)
        try:
            fcntl.flock(a, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.assertEqual(outcome(fcntl.flock, b, fcntl.LOCK_EX | fcntl.LOCK_NB), "EAGAIN")
            fcntl.lockf(a, fcntl.LOCK_EX | fcntl.LOCK_NB)

            def lock(path):
                fd = os.open(path, os.O_RDWR)
                return [outcome(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB),
                        outcome(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)]

            # Other processes of the sandbox see the locks; the host does not (sandbox-wide).
            self.assertEqual(in_child(lambda: lock(p)), ["EAGAIN", "EAGAIN"])
            self.assertEqual(in_child(lambda: lock(hp)), [None, None])
        finally:
            os.close(a)
            os.close(b)
        self.assertNotIn("SETLK", g.log_text())

    def test_mmap_shared_writable(self):
        for depth in ("0", "2"):
            g = self.serve(args=["--passthrough-depth", depth])
            p = os.path.join(g.mnt, "m")
            with open(p, "wb") as f:
                f.write(b"\0" * 8192)
            fd = os.open(p, os.O_RDWR)
            try:
                m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                m[100:106] = b"mapped"
                m[5000:5004] = b"page"
                self.assertEqual(os.pread(fd, 6, 100), b"mapped", "read() sees the mapping, depth " + depth)
                m.flush()
                m.close()
            finally:
                os.close(fd)
            with open(os.path.join(g.back, "m"), "rb") as f:
                data = f.read()
            self.assertEqual((data[100:106], data[5000:5004]), (b"mapped", b"page"), "backing file, depth " + depth)
            with open(os.path.join(g.back, "m"), "r+b") as f:
                f.seek(200)
                f.write(b"host")
            if depth == "2":  # passthrough maps the backing file itself
                with open(p, "rb") as f:
                    self.assertEqual(f.read()[200:204], b"host")

    def test_large_directory_50000_entries(self):
        g = self.serve(args=["--mode", "exclusive"])
        d = os.path.join(g.back, "big")
        os.mkdir(d)
        want = set("entry-%05d" % i for i in range(50000))
        for n in want:
            os.close(os.open(os.path.join(d, n), os.O_CREAT | os.O_WRONLY, 0o644))
        md = os.path.join(g.mnt, "big")
        names = os.listdir(md)
        self.assertEqual(len(names), 50000)
        self.assertEqual(set(names), want)
        with os.scandir(md) as it:  # READDIRPLUS plus stat of every entry
            self.assertEqual(sum(1 for e in it if e.is_file(follow_symlinks=False)), 50000)
        dirp = libc.opendir(md.encode())
        self.assertTrue(dirp)
        try:
            first = read_names(dirp, 30000)
            pos = libc.telldir(dirp)
            after = read_names(dirp, 100)
            read_names(dirp, 5000)
            libc.seekdir(dirp, pos)
            self.assertEqual(read_names(dirp, 100), after, "seekdir back to telldir")
            libc.rewinddir(dirp)
            self.assertEqual(read_names(dirp, 30000), first, "rewinddir")
        finally:
            libc.closedir(dirp)
        for n in sorted(want)[:5000]:
            os.unlink(os.path.join(md, n))
        self.assertEqual(len(os.listdir(d)), 45000)

    def test_file_root(self):
        f = os.path.join(self.tmp, "hosts")
        with open(f, "w") as fh:
            fh.write("127.0.0.1 localhost\n")
        g = self.serve(backing=f, rootmode="100000")
        self.assertTrue(stat.S_ISREG(os.stat(g.mnt).st_mode))
        with open(g.mnt) as fh:
            self.assertEqual(fh.read(), "127.0.0.1 localhost\n")
        with open(g.mnt, "a") as fh:
            fh.write("10.0.0.1 pod\n")
        with open(f) as fh:
            self.assertEqual(fh.read(), "127.0.0.1 localhost\n10.0.0.1 pod\n")
        os.chmod(g.mnt, 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(f).st_mode), 0o600)
        self.assertEqual(sorted(os.listdir("/proc/%d/root" % g.proc.pid)), ["0"])
        self.assertTrue(stat.S_ISREG(os.stat("/proc/%d/root/0" % g.proc.pid).st_mode))

    def test_shared_mode_sees_host_changes(self):
        self.check_sees_host_changes(self.serve(args=["--mode", "shared"]))

    def test_serve_shared_is_shared_in_an_exclusive_gofer(self):
        # A container's binds next to its exclusive root.
        self.check_sees_host_changes(self.serve(args=["--mode", "exclusive"], serve_flag="--serve-shared"))

    def test_serve_ro_never_changes_the_host_path(self):
        # An image layer that other containers share: served, but the gofer itself cannot
        # change it, whatever the FUSE mount allows (its bind is read-only).
        back = self.mkdir("layer")
        with open(os.path.join(back, "f"), "w") as f:
            f.write("layer")
        g = self.serve(backing=back, serve_flag="--serve-ro")
        with open(os.path.join(g.mnt, "f")) as f:
            self.assertEqual(f.read(), "layer")
        for what, fn in [("create", lambda: open(os.path.join(g.mnt, "new"), "w")),
                         ("truncating open", lambda: open(os.path.join(g.mnt, "f"), "w")),
                         ("unlink", lambda: os.unlink(os.path.join(g.mnt, "f"))),
                         ("mkdir", lambda: os.mkdir(os.path.join(g.mnt, "d"))),
                         ("chmod", lambda: os.chmod(os.path.join(g.mnt, "f"), 0o600))]:
            with self.assertRaises(OSError, msg=what) as cm:
                fn()
            self.assertEqual(cm.exception.errno, errno.EROFS, what)
        self.assertEqual(sorted(os.listdir(back)), ["f"])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(back, "f")).st_mode), 0o644)
        with open(os.path.join(back, "f")) as f:
            self.assertEqual(f.read(), "layer")

    def check_sees_host_changes(self, g):
        p, hp = os.path.join(g.mnt, "f"), os.path.join(g.back, "f")
        with open(hp, "w") as f:
            f.write("one")
        self.assertEqual(open(p).read(), "one")
        self.assertFalse(os.path.exists(os.path.join(g.mnt, "later")))
        with open(hp, "a") as f:
            f.write(" two")
        open(os.path.join(g.back, "later"), "w").close()
        self.assertTrue(eventually(lambda: os.stat(p).st_size == 7, 3), "size change seen within the timeout")
        self.assertTrue(eventually(lambda: open(p).read() == "one two", 3), "data change seen")
        self.assertTrue(eventually(lambda: os.path.exists(os.path.join(g.mnt, "later")), 3), "new file seen")
        os.unlink(hp)
        self.assertTrue(eventually(lambda: not os.path.exists(p), 3), "removal seen")


def current_umask():
    old = os.umask(0)
    os.umask(old)
    return old


def ftruncate_path(p, n):
    fd = os.open(p, os.O_WRONLY)
    try:
        os.ftruncate(fd, n)
    finally:
        os.close(fd)


# ---- confinement and escapes ----

class ConfinementTest(GoferCase):
    def test_root_shows_only_served_paths(self):
        g = self.serve()
        os.listdir(g.mnt)  # answered: confinement is done
        root = "/proc/%d/root" % g.proc.pid
        self.assertEqual(os.listdir(root), ["0"])
        open(os.path.join(g.back, "x"), "w").close()
        self.assertEqual(os.listdir(root + "/0"), ["x"])
        self.assertEqual(os.readlink("/proc/%d/cwd" % g.proc.pid), "/")
        # Nothing of the host is mounted in its namespace: one tmpfs and the served tree.
        with open("/proc/%d/mountinfo" % g.proc.pid) as f:
            points = [line.split()[4] for line in f]
        self.assertEqual(sorted(points), ["/", "/0"], points)

    def test_inherited_fds_are_closed(self):
        leak = self.mkdir("inherited-host-dir")
        fd = os.open(leak, os.O_RDONLY | os.O_DIRECTORY)
        try:
            g = self.serve(extra_fds=[fd])
        finally:
            os.close(fd)
        os.listdir(g.mnt)
        fd_dir = "/proc/%d/fd" % g.proc.pid
        targets = [outcome(os.readlink, os.path.join(fd_dir, n)) for n in os.listdir(fd_dir)]
        self.assertFalse([t for t in targets if "inherited-host-dir" in str(t)], targets)

    def test_capabilities_seccomp_no_new_privs(self):
        for depth, sys_admin in (("2", True), ("0", False)):
            g = self.serve(args=["--passthrough-depth", depth])
            os.listdir(g.mnt)  # served: start-up is over
            pid = g.proc.pid
            eff = int(status_field(pid, "CapEff"), 16)
            for field in ("CapPrm", "CapBnd"):
                self.assertEqual(int(status_field(pid, field), 16), eff, field)
            self.assertEqual(int(status_field(pid, "CapInh"), 16), 0)
            self.assertEqual(int(status_field(pid, "CapAmb"), 16), 0)
            self.assertFalse(eff & (1 << CAP_SYS_PTRACE), "no CAP_SYS_PTRACE")
            self.assertFalse(eff & (1 << CAP_NET_ADMIN), "no CAP_NET_ADMIN")
            self.assertEqual(bool(eff & (1 << CAP_SYS_ADMIN)), sys_admin, "CAP_SYS_ADMIN only for passthrough")
            self.assertEqual(eff & ~(ALLOWED_CAPS | (1 << CAP_SYS_ADMIN)), 0, "caps %x" % eff)
            self.assertEqual(status_field(pid, "Seccomp"), "2")
            self.assertEqual(status_field(pid, "NoNewPrivs"), "1")

    def test_seccomp_kills_on_a_call_outside_the_list(self):
        # The filter is the real one (kill), so a test of every operation would die on a missing
        # call: here only that it is loaded in every thread and refuses what file serving never does.
        g = self.serve()
        os.listdir(g.mnt)
        for tid in os.listdir("/proc/%d/task" % g.proc.pid):
            self.assertEqual(status_field(int(tid), "Seccomp"), "2", "thread " + tid)

    def test_symlink_to_host_file_is_returned_not_followed(self):
        g = self.serve()
        os.symlink("/etc/passwd", os.path.join(g.back, "passwd"))
        os.symlink("/", os.path.join(g.back, "hostroot"))
        self.assertEqual(os.readlink(os.path.join(g.mnt, "passwd")), "/etc/passwd")
        self.assertTrue(stat.S_ISLNK(os.lstat(os.path.join(g.mnt, "passwd")).st_mode))
        self.assertTrue(stat.S_ISLNK(os.lstat(os.path.join(g.mnt, "hostroot")).st_mode))
        self.assertEqual(outcome(os.listxattr, os.path.join(g.mnt, "passwd"), follow_symlinks=False), [])
        self.assertNotIn("ELOOP", g.log_text())

    def test_hard_link_from_outside_is_exdev(self):
        g = self.serve()
        outside = os.path.join(self.tmp, "outside")
        open(outside, "w").close()
        self.assertEqual(outcome(os.link, outside, os.path.join(g.mnt, "in")), "EXDEV")
        self.assertEqual(outcome(os.rename, outside, os.path.join(g.mnt, "in")), "EXDEV")

    def test_rename_race_never_reaches_outside(self):
        # The backing dir swaps a real directory with a symlink to a sibling of the backing dir
        # ("../secret") while names under it are opened through the mount. A gofer that followed
        # links on the host side would read the secret; from the mount the link points at
        # <mount>/../secret, which does not exist.
        base = self.mkdir("b")
        back = self.mkdir("b/back")
        secret = self.mkdir("b/secret")
        with open(os.path.join(secret, "flag"), "w") as f:
            f.write("SECRET")
        self.mkdir("m")
        g = self.serve(backing=back, args=["--mode", "shared"])
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(g.mnt), "secret")))
        stop = threading.Event()
        current = [None]

        def racer():
            while not stop.is_set():
                pair = current[0]
                if pair:
                    try:
                        renameat2(pair[0], pair[1], RENAME_EXCHANGE)
                    except OSError:
                        pass

        t = threading.Thread(target=racer)
        t.start()
        seen = set()
        deadline = time.time() + 1.5
        i = 0
        try:
            while time.time() < deadline:
                a, b = os.path.join(back, "a%d" % i), os.path.join(back, "s%d" % i)
                os.mkdir(a)
                with open(os.path.join(a, "flag"), "w") as f:
                    f.write("inside")
                os.symlink("../secret", b)
                current[0] = (a, b)
                for n in ("a%d" % i, "s%d" % i):
                    for _ in range(3):
                        seen.add(outcome(lambda: open(os.path.join(g.mnt, n, "flag")).read()))
                        seen.add(str(outcome(lambda: sorted(os.listdir(os.path.join(g.mnt, n))))))
                current[0] = None
                i += 1
        finally:
            stop.set()
            t.join()
        self.assertNotIn("SECRET", seen)
        self.assertIn("inside", seen)
        del base

    def test_gofer_death_fails_operations_without_hanging(self):
        g = self.serve()
        open(os.path.join(g.back, "f"), "w").close()
        os.listdir(g.mnt)
        g.proc.kill()
        g.proc.wait()
        for what, fn in (("listdir", lambda: os.listdir(g.mnt)),
                         ("create", lambda: open(os.path.join(g.mnt, "new"), "w").close()),
                         ("read", lambda: open(os.path.join(g.mnt, "f")).read())):
            got = in_child(fn, timeout=10)
            self.assertIn(got, ("ENOTCONN", "ECONNABORTED", "EIO"), "%s after the gofer died" % what)

    def test_node_fds_stay_under_the_fd_limit_and_mounts_on_served_names_stay(self):
        # Dropping names past the fd budget must never drop a mount point: the kernel would detach
        # the mounts on it (a container's /proc, /dev, volumes, its /etc/hosts file bind).
        import resource
        g_back = self.mkdir("back-limit")
        for i in range(3000):
            open(os.path.join(g_back, "f%04d" % i), "w").close()
        os.mkdir(os.path.join(g_back, "mdir"))
        open(os.path.join(g_back, "mfile"), "w").close()
        host_file = os.path.join(self.tmp, "hosts")
        with open(host_file, "w") as f:
            f.write("bound\n")
        mnt = self.mkdir("mnt-limit")
        fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        sys_mount("runsc-ts", mnt, "fuse", 0,
                  "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions" % fd)
        self.extra_mounts.append(mnt)
        log = open(os.path.join(self.tmp, "limit.log"), "wb")
        proc = subprocess.Popen([BINARY, "--id", ID_PREFIX + "-limit", "--debug", "--serve", "%d:%s" % (fd, g_back),
                                 "--pin", "/mfile"],
                                pass_fds=[fd], stderr=log, stdout=subprocess.DEVNULL,
                                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1000, 1000)))
        os.close(fd)
        try:
            os.listdir(mnt)
            limit = [l for l in open("/proc/%d/limits" % proc.pid) if l.startswith("Max open files")][0].split()[3]
            if int(limit) > 1000:
                self.skipTest("the gofer could raise its fd limit to %s (CAP_SYS_RESOURCE)" % limit)
            sys_mount("tmpfs", os.path.join(mnt, "mdir"), "tmpfs", 0, "size=64k")
            sys_mount(host_file, os.path.join(mnt, "mfile"), "none", 4096, "")  # MS_BIND
            submounts = [os.path.join(mnt, "mdir"), os.path.join(mnt, "mfile")]
            most = 0
            for i in range(3000):
                os.stat(os.path.join(mnt, "f%04d" % i))
                if i % 100 == 0:
                    most = max(most, len(os.listdir("/proc/%d/fd" % proc.pid)))
            self.assertLess(most, 1000)
            with open(os.path.join(self.tmp, "limit.log")) as f:
                self.assertIn("asked the kernel to drop", f.read())
            mounted = [l.split()[4] for l in open("/proc/self/mountinfo")]
            for m in submounts:
                self.assertIn(m, mounted, "the mount on %s survived the dropped names" % m)
            with open(os.path.join(mnt, "mfile")) as f:
                self.assertEqual(f.read(), "bound\n")
        finally:
            for m in (os.path.join(mnt, "mfile"), os.path.join(mnt, "mdir")):
                try:
                    sys_umount(m)
                except OSError:
                    pass
            sys_umount(mnt)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


# ---- kernel passthrough ----

def io_requests(log):
    return sum(1 for line in log.splitlines() if " READ unique=" in line or " WRITE unique=" in line)


class PassthroughTest(GoferCase):
    def io_through(self, g, name="data"):
        """Writes and reads a file through the mount; returns READ+WRITE requests it caused."""
        p = os.path.join(g.mnt, name)
        before = io_requests(g.log_text())
        with open(p, "wb") as f:
            f.write(b"z" * 300000)
        with open(p, "rb") as f:
            self.assertEqual(f.read(), b"z" * 300000)
        with open(os.path.join(g.back, name), "rb") as f:
            self.assertEqual(len(f.read()), 300000)
        time.sleep(0.2)
        return io_requests(g.log_text()) - before

    def require_passthrough(self, g):
        os.listdir(g.mnt)
        self.assertLogHas(g, "passthrough ")
        if "passthrough off" in g.log_text():
            self.skipTest("this kernel offers no FUSE_PASSTHROUGH")

    def test_passthrough_data_skips_the_gofer(self):
        g = self.serve(args=["--debug"])
        self.require_passthrough(g)
        self.assertEqual(self.io_through(g), 0, "no READ/WRITE requests with passthrough")

    def test_depth_0_serves_read_and_write(self):
        g = self.serve(args=["--debug", "--passthrough-depth", "0"])
        os.listdir(g.mnt)
        self.assertLogHas(g, "passthrough off")
        self.assertGreater(self.io_through(g), 0)

    def overlay(self):
        lower, upper, work, merged = (self.mkdir(n) for n in ("lower", "upper", "work", "merged"))
        with open(os.path.join(lower, "low"), "w") as f:
            f.write("from lower")
        sys_mount("overlay", merged, "overlay", 0, "lowerdir=%s,upperdir=%s,workdir=%s" % (lower, upper, work))
        self.extra_mounts.append(merged)
        return merged

    def test_overlay_backing_with_depth_2_passes_through(self):
        g = self.serve(backing=self.overlay(), args=["--debug", "--passthrough-depth", "2"])
        self.require_passthrough(g)
        self.assertEqual(open(os.path.join(g.mnt, "low")).read(), "from lower")
        self.assertEqual(self.io_through(g), 0)
        self.assertNotIn("BACKING_OPEN", g.log_text())

    def test_overlay_backing_with_depth_1_falls_back_to_read_write(self):
        g = self.serve(backing=self.overlay(), args=["--debug", "--passthrough-depth", "1"])
        self.require_passthrough(g)
        self.assertEqual(open(os.path.join(g.mnt, "low")).read(), "from lower")
        self.assertGreater(self.io_through(g), 0)
        self.assertLogHas(g, "FUSE_DEV_IOC_BACKING_OPEN: too many levels of symbolic links; serving READ/WRITE")
        self.assertEqual(g.log_text().count("FUSE_DEV_IOC_BACKING_OPEN"), 1, "one log line")
        with open(os.path.join(g.mnt, "low"), "a") as f:  # copy-up through the fallback
            f.write(" and upper")
        self.assertEqual(open(os.path.join(self.tmp, "upper", "low")).read(), "from lower and upper")

    def test_depth_1_mount_can_be_an_overlay_lower_layer_depth_2_not(self):
        for depth, ok in (("1", True), ("2", False)):
            g = self.serve(args=["--passthrough-depth", depth])
            self.require_passthrough(g)
            with open(os.path.join(g.back, "f"), "w") as f:
                f.write("below")
            up, work, merged = (self.mkdir("%s%s" % (n, depth)) for n in ("up", "work", "ovl"))
            got = outcome(sys_mount, "overlay", merged, "overlay", 0,
                          "lowerdir=%s,upperdir=%s,workdir=%s" % (g.mnt, up, work))
            if got is None:
                self.extra_mounts.append(merged)
            self.assertEqual(got is None, ok, "overlay over a depth-%s FUSE mount: %r" % (depth, got))
            if ok:
                self.assertEqual(open(os.path.join(merged, "f")).read(), "below")
                with open(os.path.join(merged, "f"), "a") as f:
                    f.write("+")
                self.assertEqual(open(os.path.join(up, "f")).read(), "below+")
                sys_umount(merged)
                self.extra_mounts.remove(merged)


# ---- conformance and memory ----

class ConformanceTest(GoferCase):
    def test_fsconf_same_on_mount_and_plain_directory(self):
        if not os.path.exists(FSCONF_SRC):
            self.skipTest("%s is missing" % os.path.relpath(FSCONF_SRC, REPO))
        exe = os.path.join(self.tmp, "fsconf")
        r = subprocess.run(["gcc", "-static", "-O2", FSCONF_SRC, "-o", exe], capture_output=True, text=True)
        if r.returncode != 0:
            self.fail("compiling fsconf: " + r.stderr[-2000:])
        g = self.serve()
        ref = self.twin()
        got = subprocess.run([exe, g.mnt], capture_output=True, text=True, timeout=400)
        want = subprocess.run([exe, ref], capture_output=True, text=True, timeout=400)
        diff = [(a, b) for a, b in zip(got.stdout.splitlines(), want.stdout.splitlines()) if a != b]
        self.assertTrue(want.stdout.strip(), "fsconf printed nothing: " + want.stderr[-1000:])
        self.assertEqual(diff, [], "mount vs plain directory:\n" + "\n".join("%s | %s" % d for d in diff[:40]))
        self.assertEqual(len(got.stdout.splitlines()), len(want.stdout.splitlines()), got.stderr[-1000:])


class MemoryTest(GoferCase):
    def test_idle_gofer_is_small(self):
        g = self.serve()
        for i in range(100):
            with open(os.path.join(g.back, "f%d" % i), "w") as f:
                f.write("x" * 100)
        for name in os.listdir(g.mnt):
            open(os.path.join(g.mnt, name)).read()
        time.sleep(0.3)
        rollup = {}
        for line in open("/proc/%d/smaps_rollup" % g.proc.pid):
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                rollup[parts[0][:-1]] = int(parts[1])
        sys.stderr.write("idle gofer: Pss %d kB (anon %d kB, file %d kB), Rss %d kB\n" %
                         (rollup["Pss"], rollup["Pss_Anon"], rollup["Pss_File"], rollup["Rss"]))
        # Anonymous memory is what each gofer adds; file pages are shared by all gofers.
        self.assertLess(rollup["Pss_Anon"], 400, rollup)
        self.assertLess(rollup["Pss"], 1024, rollup)


# ---- FUSE over io_uring ----

def read_enable_uring():
    with open(ENABLE_URING) as f:
        return f.read().strip()


def write_enable_uring(value):
    with open(ENABLE_URING, "w") as f:
        f.write(value)


class EnableUring:
    """Sets the fuse module's enable_uring for a while and always puts the old value back."""

    def __init__(self, value):
        self.value = value
        self.old = None

    def __enter__(self):
        self.old = read_enable_uring()
        write_enable_uring(self.value)
        return self

    def __exit__(self, *exc):
        write_enable_uring(self.old)
        return False


def require_uring(case):
    if not os.path.exists(ENABLE_URING):
        case.skipTest("this kernel has no FUSE over io_uring (%s is missing)" % ENABLE_URING)


def possible_cpus():
    """The number of possible CPUs: the kernel's io_uring queues of a connection."""
    with open("/sys/devices/system/cpu/possible") as f:
        text = f.read().strip()
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def abort_connection(mnt):
    """Aborts the FUSE connection of mnt through a fusectl mounted in a private mount namespace
    of the calling (child) process, so nothing stays mounted."""
    conn = os.minor(os.stat(mnt).st_dev)
    check(libc.unshare(0x00020000))  # CLONE_NEWNS
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None))
    ctl = "/sys/fs/fuse/connections"
    sys_mount("fusectl", ctl, "fusectl")
    with open("%s/%d/abort" % (ctl, conn), "w") as f:
        f.write("1")
    return True


def ring_requests(log):
    """{queue: count} of the requests a --debug gofer served over io_uring."""
    counts = {}
    for line in log.splitlines():
        i = line.rfind("(ring ")
        if i >= 0:
            q = int(line[i + 6:].rstrip(")"))
            counts[q] = counts.get(q, 0) + 1
    return counts


class UringEnabled:
    """Mixin of a GoferCase: skips without FUSE over io_uring, else enables it for the test."""

    def setUp(self):
        require_uring(self)
        super().setUp()
        self.param = EnableUring("Y")
        self.param.__enter__()
        self.addCleanup(self.param.__exit__)


class IoUringTest(UringEnabled, GoferCase):
    """The io_uring transport: selection, per-CPU queues, shutdown."""

    def test_on_without_enable_uring_fails_naming_the_cause(self):
        write_enable_uring("N")
        fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        try:
            r = subprocess.run([BINARY, "--id", "u", "--io-uring=on", "--serve", "%d:%s" % (fd, self.tmp)],
                               pass_fds=[fd], capture_output=True, text=True, timeout=20)
        finally:
            os.close(fd)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("gofer u: --io-uring=on: the kernel does not offer FUSE over io_uring", r.stderr)
        self.assertIn(ENABLE_URING, r.stderr)

    def test_on_without_the_offer_at_init_fails_the_mount(self):
        # The kernel reads enable_uring when the mount sends INIT; the gofer's start-up check
        # reads it later: N at mount time, Y at start-up.
        write_enable_uring("N")
        g = self.serve(args=["--io-uring=on"], after_mount=lambda: write_enable_uring("Y"))
        self.assertEqual(g.wait(10), 1, g.log_text())
        self.assertIn("--io-uring=on: the kernel does not offer FUSE over io_uring", g.log_text())
        self.assertIn(in_child(lambda: os.listdir(g.mnt), timeout=10), ("ECONNREFUSED", "ENOTCONN"))

    def test_auto_uses_the_ring_when_offered_and_reads_otherwise(self):
        g = self.serve(args=["--io-uring=auto"])
        os.listdir(g.mnt)
        self.assertLogHas(g, "io_uring, %d queues, %d pinned" % (possible_cpus(), len(os.sched_getaffinity(0))))
        write_enable_uring("N")
        g2 = self.serve(args=["--io-uring=auto"])
        os.listdir(g2.mnt)
        self.assertLogHas(g2, "/dev/fuse reads")
        g3 = self.serve(args=["--io-uring=off"])
        write_enable_uring("Y")
        os.listdir(g3.mnt)
        self.assertLogHas(g3, "/dev/fuse reads")

    def test_requests_are_served_on_the_callers_cpu(self):
        g = self.serve(args=["--debug", "--io-uring=on", "--passthrough-depth", "0"])
        os.listdir(g.mnt)
        cpus = sorted(os.sched_getaffinity(0))
        for cpu in cpus:
            def work(cpu=cpu):
                os.sched_setaffinity(0, [cpu])
                for i in range(20):
                    p = os.path.join(g.mnt, "c%d-%d" % (cpu, i))
                    with open(p, "w") as f:
                        f.write("x" * 100)
                    with open(p) as f:
                        f.read()
                    os.unlink(p)
                return True
            before = ring_requests(g.log_text()).get(cpu, 0)
            self.assertEqual(in_child(work), True)
            self.assertTrue(eventually(lambda: ring_requests(g.log_text()).get(cpu, 0) - before >= 100, 5),
                            "cpu %d: %r" % (cpu, ring_requests(g.log_text())))
        self.assertEqual(os.listdir(g.mnt), [])

    def test_queues_of_cpus_outside_the_gofers_affinity_are_served(self):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            self.skipTest("needs two CPUs")
        mine = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpus[0]})  # the gofer inherits it: one pinned queue thread
        try:
            g = self.serve(args=["--debug", "--io-uring=on"])
        finally:
            os.sched_setaffinity(0, mine)
        os.listdir(g.mnt)
        self.assertLogHas(g, "io_uring, %d queues, 1 pinned" % possible_cpus())

        def work():
            os.sched_setaffinity(0, [cpus[1]])
            for i in range(20):
                with open(os.path.join(g.mnt, "f%d" % i), "w") as f:
                    f.write("y")
                os.unlink(os.path.join(g.mnt, "f%d" % i))
            return True
        self.assertEqual(in_child(work), True)
        self.assertTrue(eventually(lambda: ring_requests(g.log_text()).get(cpus[1], 0) >= 40, 5),
                        ring_requests(g.log_text()))

    def test_unmount_and_abort_end_the_gofer(self):
        g = self.serve(args=["--io-uring=on"])
        open(os.path.join(g.mnt, "f"), "w").close()
        sys_umount(g.mnt)
        g.mounted = []
        self.assertEqual(g.wait(10), 0, "exit 0 after unmount:\n" + g.log_text())
        self.assertLogHas(g, "connection ended")
        self.assertNotIn("did not end", g.log_text())
        g2 = self.serve(args=["--io-uring=on"])
        os.listdir(g2.mnt)
        self.assertEqual(in_child(lambda: abort_connection(g2.mnt)), True)
        self.assertEqual(g2.wait(10), 0, "exit 0 after abort:\n" + g2.log_text())
        self.assertEqual(in_child(lambda: os.listdir(g2.mnt), timeout=10), "ENOTCONN")

    def test_ring_threads_are_confined(self):
        g = self.serve(args=["--io-uring=on"])
        os.listdir(g.mnt)
        tids = os.listdir("/proc/%d/task" % g.proc.pid)
        # One /dev/fuse reader (FORGETs and INTERRUPTs) and a thread per possible CPU.
        self.assertGreaterEqual(len(tids), 1 + possible_cpus(), tids)
        for tid in tids:
            self.assertEqual(status_field(int(tid), "Seccomp"), "2", "thread " + tid)


# CORE_OPERATIONS are the file-semantics checks IoUringOperationsTest repeats over the ring.
CORE_OPERATIONS = [
    "test_lookup_and_getattr_match_backing", "test_namespace_errnos_match_plain_directory",
    "test_open_flags_trunc_append_excl", "test_symlinks_are_stored_not_followed", "test_hard_links",
    "test_rename_flags", "test_setattr_mode_owner_size_times", "test_xattrs", "test_fifo_and_unix_socket",
    "test_statfs_matches_backing", "test_seek_hole_fallocate_copy_range_tmpfile",
    "test_nonroot_caller_gets_the_same_errnos", "test_new_objects_belong_to_the_caller_and_follow_setgid_dirs",
    "test_umask_of_the_caller_is_applied", "test_unprivileged_write_clears_set_id_bits",
    "test_mmap_shared_writable", "test_large_directory_50000_entries",
]


class IoUringOperationsTest(UringEnabled, OperationsTest):
    """The core file-semantics checks again, every gofer with --io-uring=on (and once with
    READ/WRITE served too: --passthrough-depth 0 where a test does not choose)."""

    def serve(self, backing=None, args=(), **kwargs):
        args = list(args) + ["--io-uring=on"]
        if not any(a.startswith("--passthrough-depth") for a in args) and len(self.gofers) % 2 == 1:
            args += ["--passthrough-depth", "0"]
        return super().serve(backing, args=args, **kwargs)


# ---- runner ----

class LineResult(unittest.TestResult):
    """Prints `ok NAME time`, `FAIL NAME reason` or `skip NAME reason` per test."""

    def __init__(self, verbose):
        super().__init__()
        self.verbose = verbose
        self.start = 0.0

    def startTest(self, test):
        super().startTest(test)
        self.start = time.time()

    def addSuccess(self, test):
        super().addSuccess(test)
        print("ok   %-60s %.2fs" % (test._testMethodName, time.time() - self.start), flush=True)

    def _fail(self, test, err):
        msg = str(err[1]).strip().splitlines()
        print("FAIL %-60s %s" % (test._testMethodName, msg[0] if msg else err[0].__name__), flush=True)
        sys.stderr.write("".join(traceback.format_exception(*err)))
        for g in getattr(test, "gofers", []):
            sys.stderr.write("---- gofer log %s (tail) ----\n%s\n" % (g.id, g.log_text()[-3000:]))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("skip %-60s %s" % (test._testMethodName, reason), flush=True)


def main():
    global BINARY, IO_URING
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=DEFAULT_BINARY)
    ap.add_argument("-k", default="")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--io-uring", choices=["auto", "on", "off"])
    args = ap.parse_args()
    BINARY = os.path.abspath(args.binary)
    if os.geteuid() != 0:
        print("run as root")
        return 2
    if not os.path.exists(BINARY):
        print("no gofer binary at %s (make build)" % BINARY)
        return 2
    # SIGTERM/SIGHUP (a harness's timeout) unwind like Ctrl-C, so every tearDown still runs.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for case in (CommandLineTest, OperationsTest, ConfinementTest, PassthroughTest, ConformanceTest, MemoryTest,
                 IoUringTest, IoUringOperationsTest):
        for name in loader.getTestCaseNames(case):
            if case is IoUringOperationsTest and name not in CORE_OPERATIONS:
                continue
            if args.k in name:
                suite.addTest(case(name))
    result = LineResult(args.v)
    IO_URING = args.io_uring
    param = None
    if IO_URING == "on":
        if not os.path.exists(ENABLE_URING):
            print("--io-uring on: this kernel has no FUSE over io_uring (%s is missing)" % ENABLE_URING)
            return 2
        param = EnableUring("Y")
        param.__enter__()
    try:
        suite.run(result)
    except KeyboardInterrupt:
        print("interrupted")
        result.errors.append((None, "interrupted"))
    finally:
        if param is not None:
            param.__exit__()
    time.sleep(0.2)
    procs = [p for p in subprocess.run(["pgrep", "-af", ID_PREFIX], capture_output=True, text=True).stdout.splitlines()
             if "pgrep" not in p]
    mounts = [line.split()[4] for line in open("/proc/self/mountinfo")
              if os.path.basename(os.path.dirname(line.split()[4])).startswith(TMP_PREFIX)
              or os.path.basename(line.split()[4]).startswith(TMP_PREFIX)]
    failures = len(result.failures) + len(result.errors)
    if procs or mounts:
        failures += 1
        print("LEFTOVER gofers: %r\nLEFTOVER mounts: %r" % (procs, mounts))
    print("%d test(s), %d failure(s), %d skipped" % (result.testsRun, failures, len(result.skipped)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
