# pty_checks: the terminal program of software.test.ts (run with `python3 -c`). It opens a pty
# pair through /dev/ptmx and prints what passes between master and slave in cooked and raw
# modes, the window size, and what a pty.fork child sees; every read has a timeout.
import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import tty


def read_exactly(fd, n):
    data = b""
    while len(data) < n:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            raise TimeoutError(f"read {data!r} of {n} bytes")
        data += os.read(fd, n - len(data))
    return data


master, slave = os.openpty()
print("openpty", re.sub(r"\d+$", "N", os.ttyname(slave)), "isatty", os.isatty(slave))

# Cooked: output processing turns \n into \r\n; input comes a line at a time, echoed.
os.write(slave, b"cooked\n")
print("slave to master", read_exactly(master, 8))
os.write(master, b"typed line\n")
print("master to slave", read_exactly(slave, 11), "echo", read_exactly(master, 12))

# Raw: every byte passes unchanged, ^C ^D ^Z are plain data, nothing is echoed.
tty.setraw(slave)
lflag = termios.tcgetattr(slave)[3]
print("raw icanon", bool(lflag & termios.ICANON), "echo", bool(lflag & termios.ECHO), "isig", bool(lflag & termios.ISIG))
payload = bytes(range(256))
os.write(slave, payload)
print("raw slave to master all 256 bytes", read_exactly(master, 256) == payload)
os.write(master, b"\x03\x04\x1a\n")
print("raw master to slave", read_exactly(slave, 4), "echoed", select.select([master], [], [], 0.2)[0] != [])

fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 99, 0, 0))
rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(master, termios.TIOCGWINSZ, bytes(8)))
print("winsize through the master", rows, cols)
os.close(slave)
os.close(master)

# pty.fork: the child leads a new session whose controlling terminal is the pty.
sys.stdout.flush()
pid, fd = pty.fork()
if pid == 0:
    os.close(os.open("/dev/tty", os.O_RDWR))
    print("child isatty", os.isatty(0), "session leader", os.getsid(0) == os.getpid(), "foreground", os.tcgetpgrp(0) == os.getpgrp())
    sys.stdout.flush()
    os._exit(3)
out = b""
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:  # EIO: the child's side is closed
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
print("pty.fork child wrote", out, "status", os.waitstatus_to_exitcode(status))
