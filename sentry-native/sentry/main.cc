// runsc-ts-sentry: flags, the spawner (which makes the sandbox namespaces: PID, IPC, UTS), the
// sentry's confinement of itself, SIGCHLD via signalfd, and then the Sentry's event loop.
// Usage: runsc-ts-sentry --control-fd N [--id SANDBOX_ID] [--debug] [--seccomp-log]
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include <string>

#include "log.h"
#include "mount_guard.h"
#include "self_confine.h"
#include "sentry.h"
#include "spawner.h"
#include "unique_fd.h"

namespace {

struct Flags {
  int control_fd = -1;
  std::string id = "sandbox";
  bool debug = false;
  bool seccomp_log = false;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--debug") {
      f->debug = true;
    } else if (a == "--seccomp-log") {
      f->seccomp_log = true;
    } else if ((a == "--control-fd" || a == "--id") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--id") f->id = v;
      else f->control_fd = atoi(v.c_str());
    } else if (a.rfind("--control-fd=", 0) == 0) {
      f->control_fd = atoi(a.c_str() + 13);
    } else if (a.rfind("--id=", 0) == 0) {
      f->id = a.substr(5);
    } else {
      return false;
    }
  }
  return f->control_fd >= 0;
}

}  // namespace

// kNeverGranted are the capabilities no sandboxed process is given, so the sentry gives them up
// at start (bounding, permitted, effective, inheritable sets): what they authorize is denied to
// the containers anyway (module loading, reboot and kexec, setting clocks, process accounting,
// iopl/ioperm, bpf, perf_event_open; docs/SYSCALLS.md) or reaches the host itself (its kernel
// log, audit rules, LSM policy, wake-up alarms and suspend blocking, checkpoint/restore of pids).
// A container spec that asks for them gets the rest (docs/SYSCALLS.md).
constexpr int kNeverGranted[] = {
    16 /* SYS_MODULE */,   17 /* SYS_RAWIO */, 20 /* SYS_PACCT */,      22 /* SYS_BOOT */,
    25 /* SYS_TIME */,     30 /* AUDIT_CONTROL */, 32 /* MAC_OVERRIDE */, 33 /* MAC_ADMIN */,
    34 /* SYSLOG */,       35 /* WAKE_ALARM */, 36 /* BLOCK_SUSPEND */,  37 /* AUDIT_READ */,
    38 /* PERFMON */,      39 /* BPF */,       40 /* CHECKPOINT_RESTORE */};

// DropNeverGranted removes kNeverGranted from every capability set of the sentry.
bool DropNeverGranted() {
  uint64_t drop = 0;
  for (int cap : kNeverGranted) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return false;  // EINVAL: unknown to this kernel
    drop |= 1ULL << cap;
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) < 0) return false;
  for (int i = 0; i < 2; i++) {
    uint32_t keep = ~static_cast<uint32_t>(drop >> (32 * i));
    data[i].effective &= keep;
    data[i].permitted &= keep;
    data[i].inheritable &= keep;
  }
  return syscall(SYS_capset, &header, data) == 0;
}

// RunFromReadOnlyView makes the sentry's executable read-only wherever it can be reached from a
// container (runc's CVE-2019-5736): a container process that opens /proc/<pid>/exe of a
// process the spawner cloned (an exec'd process or a checked mount's helper, for the moment
// before its exec) gets the sentry's binary. The sentry re-executes itself through a read-only
// bind mount of that binary, in a mount namespace of its own (a slave of the host's, so later
// bundles still appear); every process it forks or the spawner clones inherits that executable,
// so opening it for writing is EROFS, also through an fd kept after the sandbox ends. It returns
// "" when the executable already is on a read-only mount (after that re-exec, or as installed);
// otherwise it re-executes and returns only to say why it could not.
std::string RunFromReadOnlyView(char** argv) {
  struct statvfs vfs;
  if (statvfs("/proc/self/exe", &vfs) < 0) return std::string("statvfs /proc/self/exe: ") + strerror(errno);
  if (vfs.f_flag & ST_RDONLY) return "";
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(path) - 1) return "reading /proc/self/exe";
  path[n] = '\0';
  if (unshare(CLONE_NEWNS) < 0) return std::string("unshare(CLONE_NEWNS): ") + strerror(errno);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
    return std::string("making / a slave: ") + strerror(errno);
  int e = mount_guard::MakeReadOnly(path);
  if (e != 0) return std::string("making ") + path + " read-only: " + strerror(e);
  execv(path, argv);
  return std::string("re-executing ") + path + ": " + strerror(errno);
}

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    fprintf(stderr, "usage: runsc-ts-sentry --control-fd N [--id SANDBOX_ID] [--debug] [--seccomp-log]\n");
    return 2;
  }
  logging::Init("runsc-ts-sentry", flags.debug);
  std::string view = RunFromReadOnlyView(argv);
  if (!view.empty()) {
    logging::Error("running from a read-only view of the sentry's binary: %s", view.c_str());
    return 1;
  }

  // Die with the shim; adopt orphans of our own children (processes outside the sandbox's
  // PID namespace never are, but setup children that lose their parent are).
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    logging::Error("prctl: %s", strerror(errno));
    return 1;
  }
  if (!DropNeverGranted()) {
    logging::Error("dropping capabilities: %s", strerror(errno));
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);  // children reset it before exec
  // The spawner creates the sandbox's namespaces and, from now on, every process in them.
  Spawner spawner;
  Status started = spawner.Start();
  if (!started.ok()) {
    logging::Error("%s", started.message.c_str());
    return 1;
  }

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, nullptr) < 0) {
    logging::Error("sigprocmask: %s", strerror(errno));
    return 1;
  }
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    logging::Error("signalfd: %s", strerror(errno));
    return 1;
  }
  Sentry sentry(flags.id, unique_fd(flags.control_fd), unique_fd(sfd), std::move(spawner));
  Status confined = self_confine::Enter(flags.seccomp_log);
  if (!confined.ok()) {
    logging::Error("%s", confined.message.c_str());
    return 1;
  }
  return sentry.Run();
}
