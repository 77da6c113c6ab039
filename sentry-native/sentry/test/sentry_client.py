# A minimal client of the sentry control API for tests: ttrpc framing over a socketpair, fds as
# SCM_RIGHTS, and hand-encoded protobuf messages of protos/sentry/control.proto.
import array
import os
import socket
import struct
import subprocess
import threading
import time

SERVICE = "runsc_ts.sentry.v1.Sentry"

# mount(2) flags
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_STRICTATIME = 4096, 16384, 1 << 24
MS_PRIVATE, MS_SLAVE = 1 << 18, 1 << 19

SCMP_ACT_ALLOW = 0x7FFF0000

# Seccomp.Platform: how the filter hands a trapped call to the sentry.
PLATFORM_PTRACE, PLATFORM_UNOTIFY = 0, 1


def SCMP_ACT_ERRNO(e):
    return 0x00050000 | (e & 0xFFFF)


# ---- protobuf wire encoding ----

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def f_varint(n, v):
    if not v:
        return b""
    return varint(n << 3) + varint(int(v))


def f_bytes(n, b, always=False):
    if isinstance(b, str):
        b = b.encode()
    if not b and not always:
        return b""
    return varint((n << 3) | 2) + varint(len(b)) + b


def f_msg(n, b):
    return f_bytes(n, b, always=True)


def decode(data):
    """Returns {field: [values]}; varints as int, length-delimited as bytes."""
    out = {}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        n, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(data, i)
        elif wt == 2:
            ln, i = _read_varint(data, i)
            v = data[i:i + ln]
            i += ln
        elif wt == 1:
            v = data[i:i + 8]
            i += 8
        elif wt == 5:
            v = data[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type %d" % wt)
        out.setdefault(n, []).append(v)
    return out


def _read_varint(data, i):
    shift = v = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7


def first(d, n, default=0):
    return d.get(n, [default])[0]


# ---- control.proto messages ----

def stdio_msg(stdin=False, stdout=False, stderr=False, terminal=False, width=0, height=0):
    return (f_varint(1, stdin) + f_varint(2, stdout) + f_varint(3, stderr) + f_varint(4, terminal)
            + f_varint(5, width) + f_varint(6, height))


def caps_msg(bits):
    return b"".join(f_varint(i, bits) for i in range(1, 6))


def process_msg(args, env=("PATH=/bin:/usr/bin",), cwd="/", uid=0, gid=0, caps=None, stdio=b"",
                no_new_privileges=False, additional_gids=(), rlimits=(), oom_score_adj=None, umask=None):
    b = b"".join(f_bytes(1, a, always=True) for a in args)
    b += b"".join(f_bytes(2, e) for e in env)
    b += f_bytes(3, cwd) + f_varint(4, uid) + f_varint(5, gid)
    if additional_gids:
        b += f_bytes(6, b"".join(varint(g) for g in additional_gids))
    if caps is not None:
        b += f_msg(7, caps_msg(caps))
    for resource, soft, hard in rlimits:
        b += f_msg(8, f_varint(1, resource) + f_varint(2, soft) + f_varint(3, hard))
    b += f_varint(9, no_new_privileges)
    if oom_score_adj is not None:
        b += f_varint(10, True) + f_varint(11, oom_score_adj)
    if umask is not None:
        b += f_varint(12, True) + f_varint(13, umask)
    b += f_msg(14, stdio)
    return b


def mount_msg(dest, typ, source, flags=0, data="", propagation=0):
    return (f_bytes(1, dest) + f_bytes(2, typ) + f_bytes(3, source) + f_varint(4, flags)
            + f_bytes(5, data) + f_varint(6, propagation))


def trap_msg(name, decision=0, errno_value=0, allow_if=()):
    """allow_if: patterns, each a list of (index, mask, value) MASKED_EQ argument checks."""
    b = f_bytes(1, name) + f_varint(2, decision) + f_varint(3, errno_value)
    for pattern in allow_if:
        args = b"".join(f_msg(1, f_varint(1, i) + f_varint(2, mask) + f_varint(3, value) + f_varint(4, 7))
                        for i, mask, value in pattern)
        b += f_msg(4, args)
    return b


def seccomp_msg(default_action=SCMP_ACT_ALLOW, architectures=("x86_64",), rules=(), traps=(), log_traps=False,
                strace=False, strace_syscalls=(), strace_log_size=0, platform=PLATFORM_PTRACE):
    b = f_varint(1, default_action)
    b += b"".join(f_bytes(2, a) for a in architectures)
    for names, action in rules:
        r = b"".join(f_bytes(1, n) for n in names) + f_varint(2, action)
        b += f_msg(3, r)
    b += b"".join(f_msg(4, t) for t in traps)
    b += f_varint(5, log_traps)
    b += f_varint(6, strace)
    b += b"".join(f_bytes(7, n) for n in strace_syscalls)
    b += f_varint(8, strace_log_size)
    b += f_varint(9, platform)
    return b


def default_mounts():
    return [
        mount_msg("/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC),
        mount_msg("/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
        mount_msg("/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"),
        mount_msg("/sys", "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY),
    ]


def spec_msg(rootfs, hostname="", mounts=None, seccomp=None, namespaces=(), masked=(), readonly=(),
             rootfs_readonly=False, sysctl=None, cgroup_path="", devices=()):
    b = f_bytes(1, rootfs) + f_varint(2, rootfs_readonly) + f_bytes(3, hostname)
    for m in (default_mounts() if mounts is None else mounts):
        b += f_msg(4, m)
    b += b"".join(f_bytes(5, p) for p in masked)
    b += b"".join(f_bytes(6, p) for p in readonly)
    for path, typ, major, minor, mode, uid, gid in devices:
        b += f_msg(7, f_bytes(1, path) + f_varint(2, ord(typ)) + f_varint(3, major) + f_varint(4, minor)
                   + f_varint(5, mode) + f_varint(6, uid) + f_varint(7, gid))
    for typ, path in namespaces:
        b += f_msg(8, f_bytes(1, typ) + f_bytes(2, path))
    for k, v in (sysctl or {}).items():
        b += f_msg(10, f_bytes(1, k) + f_bytes(2, v))
    if seccomp is not None:
        b += f_msg(11, seccomp)
    b += f_bytes(12, cgroup_path)
    return b


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__("code %d: %s" % (code, message))
        self.code = code
        self.message = message


class Sentry:
    """Spawns runsc-ts-sentry on a socketpair and speaks the control API to it."""

    def __init__(self, binary, sandbox_id="test", debug=True, log_path=None):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.log = open(log_path, "ab") if log_path else None
        args = [binary, "--control-fd", str(theirs.fileno()), "--id", sandbox_id]
        if debug:
            args.append("--debug")
        self.proc = subprocess.Popen(args, pass_fds=[theirs.fileno()], stderr=self.log or None,
                                     stdin=subprocess.DEVNULL)
        theirs.close()
        self.next_stream = 1
        self.replies = {}
        self.cond = threading.Condition()
        self.eof = False
        self.send_lock = threading.Lock()
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    def _read_loop(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.cond:
                    self.eof = True
                    self.cond.notify_all()
                return
            buf += data
            while len(buf) >= 10:
                length, stream, typ, _flags = struct.unpack(">IIBB", buf[:10])
                if len(buf) < 10 + length:
                    break
                body, buf = buf[10:10 + length], buf[10 + length:]
                if typ != 2:
                    continue
                resp = decode(body)
                status = decode(first(resp, 1, b"")) if 1 in resp else {}
                code = first(status, 1, 0)
                message = first(status, 2, b"").decode()
                payload = first(resp, 2, b"")
                with self.cond:
                    self.replies[stream] = (code, message, payload)
                    self.cond.notify_all()

    def send(self, method, payload, fds=()):
        """Sends a request and returns its stream id (for a deferred reply)."""
        req = f_bytes(1, SERVICE) + f_bytes(2, method) + f_bytes(3, payload)
        with self.send_lock:
            stream = self.next_stream
            self.next_stream += 2
            frame = struct.pack(">IIBB", len(req), stream, 1, 0) + req
            if fds:
                self.sock.sendmsg([frame], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            else:
                self.sock.sendall(frame)
        return stream

    def result(self, stream, timeout=20):
        deadline = time.time() + timeout
        with self.cond:
            while stream not in self.replies:
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError("no reply on stream %d" % stream)
                if self.eof:
                    raise EOFError("sentry closed the connection")
                self.cond.wait(left)
            code, message, payload = self.replies.pop(stream)
        if code != 0:
            raise RpcError(code, message)
        return decode(payload)

    def has_result(self, stream):
        with self.cond:
            return stream in self.replies

    def call(self, method, payload, fds=(), timeout=20):
        return self.result(self.send(method, payload, fds), timeout)

    # ---- methods ----

    def create(self, cid, spec, process, fds=()):
        r = self.call("CreateContainer", f_bytes(1, cid) + f_msg(2, spec) + f_msg(3, process), fds)
        return first(r, 1), first(r, 2)

    def start(self, cid):
        self.call("StartContainer", f_bytes(1, cid))

    def exec(self, cid, exec_id, process, fds=()):
        r = self.call("Exec", f_bytes(1, cid) + f_bytes(2, exec_id) + f_msg(3, process), fds)
        return first(r, 1), first(r, 2)

    def signal(self, cid, sig, pid=0, all=False, timeout=20):
        self.call("Signal", f_bytes(1, cid) + f_varint(2, pid) + f_varint(3, sig) + f_varint(4, 1 if all else 0),
                  timeout=timeout)

    def wait_send(self, cid, pid):
        return self.send("Wait", f_bytes(1, cid) + f_varint(2, pid))

    def wait(self, cid, pid, timeout=20):
        r = self.result(self.wait_send(cid, pid), timeout)
        return first(r, 1)

    def processes(self, cid):
        r = self.call("Processes", f_bytes(1, cid))
        out = []
        for p in r.get(1, []):
            d = decode(p)
            out.append({"pid": first(d, 1), "ppid": first(d, 2), "sandbox_pid": first(d, 3),
                        "sandbox_ppid": first(d, 4), "exec_id": first(d, 5, b"").decode(),
                        "cmd": first(d, 6, b"").decode()})
        return out

    def resize(self, cid, pid, width, height):
        self.call("ResizePty", f_bytes(1, cid) + f_varint(2, pid) + f_varint(3, width) + f_varint(4, height))

    def close_stdin(self, cid, pid):
        self.call("CloseStdin", f_bytes(1, cid) + f_varint(2, pid))

    def destroy(self, cid, timeout=20):
        self.call("DestroyContainer", f_bytes(1, cid), timeout=timeout)

    def pause(self, cid, timeout=20):
        self.call("Pause", f_bytes(1, cid), timeout=timeout)

    def resume(self, cid):
        self.call("Resume", f_bytes(1, cid))

    def shutdown(self):
        self.call("Shutdown", b"")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.log:
            self.log.close()
