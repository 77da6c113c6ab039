// runsc-ts-gofer: one per container, serves host directories (or single files) to the
// sandbox over already-open /dev/fuse fds. Start-up confines the process (private root with
// only the served paths, few capabilities, seccomp); then it serves until every connection
// has ended (unmount) and exits 0.
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "confine.h"
#include "connection.h"
#include "log.h"
#include "options.h"
#include "seccomp_policy.h"
#include "sys.h"

namespace gofer {
namespace {

// Setup holds the state start-up builds for serving.
struct Setup {
  Config cfg;
  PrivateRoot root;
  std::vector<std::unique_ptr<Connection>> conns;
};

// CloseOtherFds closes every fd but stdio and keep: an fd inherited by accident (a host
// directory, say) would reach past the private root the gofer is about to enter.
bool CloseOtherFds(const std::set<int>& keep, std::string* err) {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) {
    *err = "listing /proc/self/fd: " + sys::ErrnoText(errno);
    return false;
  }
  std::vector<int> close_these;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd > STDERR_FILENO && fd != dirfd(d) && keep.count(fd) == 0) close_these.push_back(fd);
  }
  closedir(d);
  for (int fd : close_these) close(fd);
  return true;
}

// CheckFuseFd makes sure fd is an open /dev/fuse in blocking mode that will not leak on exec.
bool CheckFuseFd(int fd, std::string* err) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = "--serve fd " + std::to_string(fd) + ": " + sys::ErrnoText(errno);
    return false;
  }
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 || minor(st.st_rdev) != 229) {
    *err = "--serve fd " + std::to_string(fd) + ": not /dev/fuse";
    return false;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_NONBLOCK && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) || !sys::SetCloexec(fd).ok()) {
    *err = "--serve fd " + std::to_string(fd) + ": setting flags: " + sys::ErrnoText(errno);
    return false;
  }
  return true;
}

// CheckPath opens a served path to report a missing one before anything else happens, and
// says whether it is a directory (else a regular file: a one-file file system).
bool CheckPath(const std::string& path, bool* is_dir, std::string* err) {
  auto fd = sys::Open(path, O_PATH);
  if (!fd.ok()) {
    *err = "opening " + path + ": " + sys::ErrnoText(fd.error());
    return false;
  }
  struct stat st;
  if (fstat(fd->get(), &st) != 0) {
    *err = "stat " + path + ": " + sys::ErrnoText(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    *err = "serving " + path + ": not a directory or regular file";
    return false;
  }
  *is_dir = S_ISDIR(st.st_mode);
  return true;
}

// kEnableUring is the fuse module parameter without which the kernel never offers io_uring.
constexpr char kEnableUring[] = "/sys/module/fuse/parameters/enable_uring";

// PossibleCpus counts the possible CPUs (the kernel's io_uring queues), from sysfs while it
// is still in reach: "0-3", "0,2-5".
int PossibleCpus() {
  auto text = sys::ReadFile("/sys/devices/system/cpu/possible");
  int count = 0;
  if (text.ok()) {
    for (const char* p = text->c_str(); *p != '\0' && *p != '\n';) {
      char* end;
      long lo = strtol(p, &end, 10), hi = lo;
      if (end == p) break;
      if (*end == '-') hi = strtol(end + 1, &end, 10);
      count += static_cast<int>(hi - lo + 1);
      p = *end == ',' ? end + 1 : end;
    }
  }
  return count > 0 ? count : std::max(1, get_nprocs_conf());
}

// OwnCpus lists the CPUs the gofer may run on (its affinity: online CPUs of its cpuset), below
// cpus.
std::vector<int> OwnCpus(int cpus) {
  std::vector<int> out;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return out;
  for (int cpu = 0; cpu < cpus && cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  }
  return out;
}

// CheckIoUring makes --io-uring=on fail at start-up, naming the cause, when the kernel is sure
// not to offer the transport (INIT has the last word).
bool CheckIoUring(const Options& opts, std::string* err) {
  if (opts.io_uring != IoUringMode::kOn) return true;
  auto v = sys::ReadFile(kEnableUring);
  if (!v.ok()) {
    *err = std::string("--io-uring=on: reading ") + kEnableUring + ": " + sys::ErrnoText(v.error()) +
           " (FUSE over io_uring needs Linux 6.14 or later with CONFIG_FUSE_IO_URING)";
    return false;
  }
  if (v->empty() || (*v)[0] != 'Y') {
    *err = std::string("--io-uring=on: the kernel does not offer FUSE over io_uring: ") + kEnableUring +
           " is N (echo Y > it, or boot with fuse.enable_uring=1)";
    return false;
  }
  return true;
}

// NodeBudget is each connection's share of the fd limit for node fds.
size_t NodeBudget(size_t connections) {
  struct rlimit rl;
  rlim_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
  if (limit == RLIM_INFINITY || limit > (1u << 30)) limit = 1u << 30;
  return static_cast<size_t>(limit) / connections;
}

bool Prepare(const Options& opts, Setup* s, std::string* err) {
  std::set<int> keep;
  for (const Served& sv : opts.served) keep.insert(sv.fuse_fd);
  if (!CloseOtherFds(keep, err)) return false;
  std::vector<std::string> paths;
  std::vector<bool> is_dir;
  std::vector<bool> read_only;
  for (const Served& sv : opts.served) {
    read_only.push_back(sv.read_only);
    if (!CheckFuseFd(sv.fuse_fd, err)) return false;
    bool dir;
    if (!CheckPath(sv.host_path, &dir, err)) return false;
    paths.push_back(sv.host_path);
    is_dir.push_back(dir);
  }
  if (!CheckIoUring(opts, err)) return false;
  s->cfg.cpus = PossibleCpus();
  s->cfg.own_cpus = OwnCpus(s->cfg.cpus);
  if (!RaiseFdLimit(err)) return false;
  s->cfg.max_nodes = NodeBudget(opts.served.size());
  // Modes of new files are computed from each request's mode and umask, never ours.
  umask(0);
  if (!EnterPrivateRoot(paths, is_dir, read_only, &s->root, err)) return false;
  if (!DropPrivileges(opts.passthrough_depth > 0, err)) return false;
  if (!InstallSeccomp(opts.debug, err)) return false;
  // Hand back what set-up (libseccomp's filter generation above all) allocated and freed.
  malloc_trim(0);
  s->cfg.id = opts.id;
  s->cfg.mode = opts.mode;
  s->cfg.passthrough_depth = opts.passthrough_depth;
  s->cfg.threads = opts.threads;
  s->cfg.debug = opts.debug;
  s->cfg.io_uring = opts.io_uring;
  s->cfg.proc_fd = s->root.proc_fd.get();
  for (size_t i = 0; i < opts.served.size(); i++) {
    struct stat st;
    if (fstat(s->root.roots[i].get(), &st) != 0) {
      *err = "stat /" + std::to_string(i) + ": " + sys::ErrnoText(errno);
      return false;
    }
    Config cfg = s->cfg;
    if (opts.served[i].shared) cfg.mode = Mode::kShared;
    // Every root connection (the root, or each image layer of it) may hold a mount point.
    if (!opts.served[i].shared) cfg.pins = opts.pins;
    s->conns.push_back(std::make_unique<Connection>(cfg, opts.served[i].fuse_fd, paths[i],
                                                    std::move(s->root.roots[i]), st));
  }
  return true;
}

void* ServeMain(void* arg) {
  static_cast<Connection*>(arg)->Serve();
  return nullptr;
}

// ServeAll serves every connection, one thread each (the first on the calling thread), and
// returns when all have ended.
void ServeAll(Setup& s) {
  std::vector<pthread_t> threads;
  for (size_t i = 1; i < s.conns.size(); i++) {
    pthread_t t;
    if (pthread_create(&t, nullptr, ServeMain, s.conns[i].get()) != 0) {
      logging::Error("gofer %s: starting a thread for %s", s.cfg.id.c_str(), s.conns[i]->host_path.c_str());
      continue;
    }
    threads.push_back(t);
  }
  s.conns[0]->Serve();
  for (pthread_t t : threads) pthread_join(t, nullptr);
}

}  // namespace
}  // namespace gofer

int main(int argc, char** argv) {
  using namespace gofer;
  logging::Init("runsc-ts-gofer", false);
  Options opts;
  std::string err;
  if (!ParseOptions(argc, argv, &opts, &err)) {
    fprintf(stderr, "runsc-ts-gofer: %s\n%s", err.c_str(), kUsage);
    return 2;
  }
  logging::Init("runsc-ts-gofer", opts.debug);
  if (opts.log_fd >= 0 && opts.log_fd != STDERR_FILENO) {
    if (dup2(opts.log_fd, STDERR_FILENO) < 0) {
      fprintf(stderr, "runsc-ts-gofer: gofer %s: --log-fd %d: %s\n", opts.id.c_str(), opts.log_fd,
              sys::ErrnoText(errno).c_str());
      return 1;
    }
    close(opts.log_fd);
  }
  // One malloc arena: the gofer allocates little, and every extra arena costs resident pages.
  mallopt(M_ARENA_MAX, 1);
  Setup setup;
  if (!Prepare(opts, &setup, &err)) {
    logging::Error("gofer %s: %s", opts.id.c_str(), err.c_str());
    return 1;
  }
  ServeAll(setup);
  return 0;
}
