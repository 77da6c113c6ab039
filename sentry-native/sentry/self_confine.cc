// The sentry's confinement of itself (see self_confine.h).
#include "self_confine.h"

#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "privileges.h"
#include "procfs.h"
#include "sys.h"

namespace self_confine {
namespace {

// kAllowed lists the system calls of the confined sentry, by purpose.
const char* const kAllowed[] = {
    // The event loop: the control socket, setup channels, the spawner, signalfd, listeners.
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "read", "write", "readv", "writev",
    "recvmsg", "sendmsg", "recvfrom", "sendto", "socketpair", "setsockopt", "getsockopt", "close",
    "fcntl", "ioctl", "dup", "dup3", "poll", "ppoll", "pipe2",
    // Tracing and deciding the containers' processes, reaping and signalling them.
    "ptrace", "pread64", "wait4", "waitid", "kill", "tgkill", "tkill", "process_vm_readv", "pidfd_open",
    "pidfd_send_signal",
    // /proc of the containers' processes and the cgroup hierarchies.
    "openat", "newfstatat", "fstat", "statx", "lseek", "getdents64", "mkdirat", "mkdir", "unlinkat",
    "rmdir", "faccessat", "faccessat2", "access", "readlinkat",
    // Memory, time, signals and exits of a single-threaded C++ program.
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "rt_sigprocmask",
    "rt_sigreturn", "rt_sigaction", "sigaltstack", "restart_syscall", "clock_gettime",
    "clock_nanosleep", "nanosleep", "gettimeofday", "getpid", "gettid", "getrandom", "uname",
    "sched_yield", "exit", "exit_group",
};

std::string Fail(const std::string& step, int e) { return step + ": " + sys::ErrnoText(e); }

// EnterPrivateRoot moves the sentry into its own mount namespace with a root that holds /proc
// and the cgroup hierarchies only.
bool EnterPrivateRoot(std::string* err) {
  std::vector<std::string> cgroups;
  for (const procfs::MountInfo& m : procfs::ReadMountInfo())
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") cgroups.push_back(m.mount_point);
  if (unshare(CLONE_NEWNS) != 0) {
    *err = Fail("unsharing the mount namespace", errno);
    return false;
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    *err = Fail("making / recursively private", errno);
    return false;
  }
  const char* base = privileges::MountBase();
  if (base == nullptr) {
    *err = "finding a directory to mount the sentry's root on: none of /tmp, /mnt, /run, /var/tmp";
    return false;
  }
  if (mount("runsc-ts-sentry", base, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,nr_inodes=256,mode=0755") != 0) {
    *err = Fail(std::string("mounting a tmpfs on ") + base, errno);
    return false;
  }
  std::string root = base;
  if (mkdir((root + "/proc").c_str(), 0555) != 0 ||
      (mount("proc", (root + "/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid") != 0 &&
       mount("proc", (root + "/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)) {
    *err = Fail("mounting /proc in the sentry's root", errno);
    return false;
  }
  for (const std::string& mp : cgroups) {
    // Each mount point's directories, then the hierarchy itself, at the same path.
    std::string at = root;
    size_t i = 1;
    while (i <= mp.size()) {
      size_t j = mp.find('/', i);
      if (j == std::string::npos) j = mp.size();
      at += "/" + mp.substr(i, j - i);
      if (mkdir(at.c_str(), 0755) != 0 && errno != EEXIST) {
        *err = Fail("creating " + mp + " in the sentry's root", errno);
        return false;
      }
      i = j + 1;
    }
    if (mount(mp.c_str(), at.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      *err = Fail("bind-mounting " + mp + " into the sentry's root", errno);
      return false;
    }
  }
  if (!privileges::PivotInto(root, err)) return false;
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    *err = Fail("making the sentry's root read-only", errno);
    return false;
  }
  return true;
}

bool InstallFilter(bool log_only, std::string* err) {
  scmp_filter_ctx ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) {
    *err = "seccomp_init failed";
    return false;
  }
  for (const char* name : kAllowed) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc < 0) {
      *err = std::string("allowing ") + name + ": " + sys::ErrnoText(-rc);
      seccomp_release(ctx);
      return false;
    }
  }
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc < 0) {
    *err = Fail("loading the sentry's seccomp filter", -rc);
    return false;
  }
  return true;
}

}  // namespace

Status Enter(bool log_only) {
  std::string err;
  if (!EnterPrivateRoot(&err)) return Status(kInternal, "confining the sentry: " + err);
  uint64_t keep = (1ull << CAP_SYS_PTRACE) | (1ull << CAP_KILL) | (1ull << CAP_DAC_OVERRIDE) |
                  (1ull << CAP_DAC_READ_SEARCH) | (1ull << CAP_FOWNER);
  if (!privileges::KeepCapabilities(keep, &err)) return Status(kInternal, "confining the sentry: " + err);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return Status(kInternal, "confining the sentry: " + Fail("setting no_new_privs", errno));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return Status(kInternal, "confining the sentry: " + Fail("clearing the dumpable flag", errno));
  if (!InstallFilter(log_only, &err)) return Status(kInternal, "confining the sentry: " + err);
  return Status();
}

}  // namespace self_confine
