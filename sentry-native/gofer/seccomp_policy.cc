// The gofer's own seccomp filter (see seccomp_policy.h).
#include "seccomp_policy.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>

#include "fuse_proto.h"
#include "sys.h"

namespace gofer {
namespace {

// kAllowed lists what serving needs, by purpose. Calls libseccomp 2.5 may not know by name
// (fchmodat2, the *xattrat family) are added by number below.
const char* const kAllowed[] = {
    // /dev/fuse requests and replies, file data.
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "lseek", "copy_file_range", "fallocate", "fsync", "fdatasync", "ftruncate",
    // Names and attributes, always relative to a node's fd.
    "openat", "close", "fstat", "newfstatat", "statx", "fstatfs", "getdents64", "readlinkat", "mkdirat",
    "mknodat", "symlinkat", "linkat", "unlinkat", "renameat2", "fchownat", "fchmodat", "fchmod", "utimensat",
    "fcntl", "fgetxattr", "fsetxattr", "flistxattr", "fremovexattr",
    // Memory and threads (glibc's malloc, pthread_create, std::mutex).
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list",
    "rseq", "sched_yield", "exit", "exit_group", "gettid", "getpid", "rt_sigprocmask", "rt_sigreturn",
    "rt_sigaction", "sigaltstack", "tgkill", "restart_syscall", "clock_gettime", "clock_nanosleep",
    "nanosleep", "getrandom",
    // FUSE over io_uring (uring_queue.cc): each queue thread's ring.
    "io_uring_setup", "io_uring_enter",
};

constexpr int kFchmodat2 = 452;
constexpr int kXattrat[] = {463, 464, 465, 466};  // set, get, list, remove

std::string RcText(int rc) { return sys::ErrnoText(-rc); }

}  // namespace

bool InstallSeccomp(bool log_only, std::string* err) {
  scmp_filter_ctx ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) {
    *err = "seccomp_init failed";
    return false;
  }
  auto fail = [&](const std::string& what, int rc) {
    *err = what + ": " + RcText(rc);
    seccomp_release(ctx);
    return false;
  };
  for (const char* name : kAllowed) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc < 0) return fail(std::string("allowing ") + name, rc);
  }
  for (int nr : kXattrat) {
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc < 0) return fail("allowing syscall " + std::to_string(nr), rc);
  }
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, kFchmodat2, 0);
  if (rc < 0) return fail("allowing fchmodat2", rc);
  // ioctl: only the passthrough backing-file calls on /dev/fuse.
  for (unsigned long req : {fuse::kDevIocBackingOpen, fuse::kDevIocBackingClose}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, req));
    if (rc < 0) return fail("allowing ioctl", rc);
  }
  // sched_setaffinity: an io_uring queue thread pins itself (pid 0), never anything else.
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_setaffinity), 1, SCMP_A0(SCMP_CMP_EQ, 0));
  if (rc < 0) return fail("allowing sched_setaffinity", rc);
  // clone3 hides its flags in memory: answer ENOSYS so glibc falls back to clone, whose
  // flags we can see; clone may only make threads (CLONE_THREAD), never processes.
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc < 0) return fail("refusing clone3", rc);
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  if (rc < 0) return fail("allowing clone", rc);
  rc = seccomp_load(ctx);
  if (rc < 0) return fail("loading the seccomp filter", rc);
  seccomp_release(ctx);
  return true;
}

}  // namespace gofer
