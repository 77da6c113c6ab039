#!/usr/bin/env python3
# Compares the gofer's two transports on small-file work (run as root): the same fsbench binary
# (integration/probe/fsbench.c, the one make bench runs in containers) on a plain host directory,
# on a gofer mount served through /dev/fuse reads and on one served over io_uring. The configs
# take turns within each round, so a noisy neighbour or a frequency change hits them all alike.
#   python3 sentry-native/gofer/test/transport_bench.py [--binary PATH] [--rounds N] [--files N]
#                                                       [--reads N] [--dir DIR]
# Prints a table of medians; the fuse module's enable_uring is set for the run and put back.
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gofer_test as gt  # noqa: E402  (the suite's Gofer, mounts and cleanup)

FSBENCH_SRC = os.path.join(gt.REPO, "integration", "probe", "fsbench.c")


def run(exe, *args):
    r = subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("fsbench %s: %s" % (" ".join(map(str, args)), r.stderr.strip()))
    return float(r.stdout.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=gt.DEFAULT_BINARY)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--files", type=int, default=10000, help="files created and deleted per measurement")
    ap.add_argument("--reads", type=int, default=20000, help="open+read+close per measurement")
    ap.add_argument("--dir", default=None, help="where the host directories go (default: the temp dir)")
    args = ap.parse_args()
    gt.BINARY = os.path.abspath(args.binary)
    if os.geteuid() != 0:
        print("run as root")
        return 2
    if not os.path.exists(gt.ENABLE_URING):
        print("this kernel has no FUSE over io_uring (%s is missing)" % gt.ENABLE_URING)
        return 2
    tmp = tempfile.mkdtemp(prefix=gt.TMP_PREFIX, dir=args.dir)
    os.chmod(tmp, 0o755)
    gofers = []
    try:
        with gt.EnableUring("Y"):
            exe = os.path.join(tmp, "fsbench")
            subprocess.run(["gcc", "-static", "-O2", FSBENCH_SRC, "-o", exe], check=True)
            roots = {"host": os.path.join(tmp, "host")}
            os.mkdir(roots["host"])
            for name, mode in (("dev-read", "off"), ("io_uring", "on")):
                back, mnt = os.path.join(tmp, "back-" + name), os.path.join(tmp, "mnt-" + name)
                os.mkdir(back)
                os.mkdir(mnt)
                g = gt.Gofer([(back, mnt, "40000")], args=["--io-uring=" + mode], id_suffix="bench-" + mode,
                             log_path=os.path.join(tmp, name + ".log"))
                gofers.append(g)
                roots[name] = mnt
            results = {name: {"createdelete": [], "smallread": []} for name in roots}
            for _ in range(args.rounds):
                for name, root in roots.items():
                    results[name]["createdelete"].append(
                        run(exe, "createdelete", os.path.join(root, "many"), args.files))
                    results[name]["smallread"].append(run(exe, "smallread", os.path.join(root, "small"), args.reads))
            print("%-10s %22s %22s" % ("", "create+delete µs/file", "open+read+close µs"))
            host = results["host"]
            for name in roots:
                cd = statistics.median(results[name]["createdelete"])
                sr = statistics.median(results[name]["smallread"]) / 1000
                cd_host = statistics.median(host["createdelete"])
                sr_host = statistics.median(host["smallread"]) / 1000
                print("%-10s %12.1f (%5.1f×)   %12.2f (%5.1f×)" % (name, cd, cd / cd_host, sr, sr / sr_host))
    finally:
        for g in reversed(gofers):
            g.close()
        for m in sorted(gt.mounts_under(tmp), key=len, reverse=True):
            gt.sys_umount(m)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
