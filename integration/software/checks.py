# checks: the python program of software.test.ts (run with `python3 -c`). Each check prints one
# line that the test compares exactly; any exception ends the run with a traceback and status 1.
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading


def threads():
    # The barrier holds all four alive at once, so their kernel thread ids must differ.
    barrier = threading.Barrier(4)
    lock = threading.Lock()
    ids = set()
    total = [0]

    def work():
        barrier.wait(timeout=30)
        for _ in range(1000):
            with lock:
                total[0] += 1
        with lock:
            ids.add(threading.get_native_id())

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("threads 4 native ids", len(ids), "total", total[0])


def processes():
    r = subprocess.run(["sh", "-c", "echo $((6 * 7)); echo err >&2; exit 3"], capture_output=True, text=True)
    print("subprocess stdout", r.stdout.strip(), "stderr", r.stderr.strip(), "status", r.returncode)
    print("busybox", subprocess.check_output(["/bin/busybox", "echo", "hi"], text=True).strip())


def signals():
    got = []
    signal.signal(signal.SIGUSR1, lambda sig, frame: got.append(signal.Signals(sig).name))
    os.kill(os.getpid(), signal.SIGUSR1)
    # A blocked signal stays pending until sigwait takes it.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    os.kill(os.getpid(), signal.SIGUSR2)
    pending = sorted(signal.Signals(s).name for s in signal.sigpending())
    taken = signal.Signals(signal.sigwait([signal.SIGUSR2])).name
    print("signal handler", got, "pending", pending, "sigwait", taken)


def pipes():
    r, w = os.pipe()
    sys.stdout.flush()  # the child must not print our buffered lines again
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, b"from the child")
        os._exit(7)
    os.close(w)
    data = b""
    while chunk := os.read(r, 100):
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    print("pipe", data, "then eof; child status", os.waitstatus_to_exitcode(status))


def sockets():
    a, b = socket.socketpair()
    a.sendall(b"ping")
    got = b.recv(4)
    b.sendall(b"pong")
    back = a.recv(4)
    # Pass a pipe's write end over the socketpair and write through the received copy.
    r, w = os.pipe()
    socket.send_fds(a, [b"fd"], [w])
    _, fds, _, _ = socket.recv_fds(b, 2, 1)
    os.close(w)
    os.write(fds[0], b"via a passed fd")
    os.close(fds[0])
    print("socketpair", got, back, os.read(r, 100))
    for s in (a, b):
        s.close()
    os.close(r)


def encodings():
    obj = {"name": "runsc-ts", "n": [1, 2.5, None, True], "text": "\u00e9\u2713"}
    s = json.dumps(obj, sort_keys=True)
    print("json", s, "round trip", json.loads(s) == obj)
    print("sha256", hashlib.sha256(b"runsc-ts\n" * 1000).hexdigest())


def files():
    data = bytes(range(256)) * 400
    with tempfile.NamedTemporaryFile(prefix="software-") as f:
        f.write(data)
        f.flush()
        size = os.stat(f.name).st_size
        with open(f.name, "rb") as again:
            same = again.read() == data
        where = os.path.dirname(f.name)
    print("tempfile in", where, "size", size, "same", same, "removed", not os.path.exists(f.name))


threads()
processes()
signals()
pipes()
sockets()
encodings()
files()
print("done")
