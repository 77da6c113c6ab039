// Sentry: the event loop, reaping, exits, kill-all/freeze and trap decisions (see sentry.h).
#include "sentry.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "log.h"
#include "messages.h"
#include "procfs.h"
#include "sys.h"

namespace {

// kCgroupRetryMs is how often a cgroup removal is retried while its last processes leave.
constexpr int kCgroupRetryMs = 20;

}  // namespace

Sentry::Sentry(std::string sandbox_id, unique_fd control, unique_fd sigchld, Spawner spawner)
    : sandbox_id_(std::move(sandbox_id)),
      control_fd_(std::move(control)),
      sigchld_(std::move(sigchld)),
      spawner_(std::move(spawner)),
      tracer_(&table_, Tracer::Hooks{
                           [this](const Task& t) {
                             Container* c = ContainerOfTask(t);
                             return c != nullptr && (c->freezing || c->paused);
                           },
                           [this](Task& t) { AssignUnknown(t); },
                           [this](Task& t) {
                             Container* c = ContainerOfTask(t);
                             if (c && c->kill_newcomers) kill(t.tid, SIGKILL);
                           },
                           [](Task& t) { logging::Debug("ptrace: %d exec'd (%s)", t.tid, t.container_id.c_str()); },
                           [this](const Task& t, const std::string& name, long nr, const uint64_t args[6]) {
                             return DecideTrap(t, name, nr, args);
                           },
                           [this](const std::string& cid, pid_t pid, long nr, const uint64_t args[6],
                                  const std::function<bool()>& still_waiting) {
                             return CheckedMount(cid, pid, nr, args, still_waiting);
                           },
                           [this](const Task& t) -> const strace::Settings* {
                             Container* c = ContainerOfTask(t);
                             return c && c->strace.on ? &c->strace : nullptr;
                           },
                       }),
      notifier_(&loop_, &table_, Notifier::Hooks{
                                     [this](const Task& t, const std::string& name, long nr, const uint64_t args[6]) {
                             return DecideTrap(t, name, nr, args);
                           },
                                     [this](const std::string& cid, pid_t pid, long nr, const uint64_t args[6],
                                            const std::function<bool()>& still_waiting) {
                                       return CheckedMount(cid, pid, nr, args, still_waiting);
                                     },
                                 }),
      unotify_unavailable_(Notifier::Unavailable()) {}

int Sentry::Run() {
  auto init = loop_.Init();
  if (!init.ok()) {
    logging::Error("epoll_create1: %s", strerror(init.error()));
    return 1;
  }
  control_ = std::make_unique<ControlConnection>(
      &loop_, std::move(control_fd_),
      [this](uint32_t stream, const std::string& service, const std::string& method, const std::string& payload) {
        Dispatch(stream, service, method, payload);
      },
      [this] { OnControlEof(); });
  auto started = control_->Start();
  if (!started.ok()) {
    logging::Error("control socket: %s", strerror(started.error()));
    return 1;
  }
  auto watch = loop_.Add(sigchld_.get(), EPOLLIN, [this](uint32_t) { OnSigchld(); });
  if (!watch.ok()) {
    logging::Error("signalfd: %s", strerror(watch.error()));
    return 1;
  }
  logging::Info("sandbox %s: serving", sandbox_id_.c_str());
  if (unotify_unavailable_.empty()) logging::Debug("platform unotify: available");
  else logging::Debug("platform unotify: unavailable: %s", unotify_unavailable_.c_str());
  while (!stop_) {
    int timeout = -1;
    if (exit_deadline_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*exit_deadline_ - Clock::now()).count();
      if (left <= 0) break;
      timeout = static_cast<int>(left);
    }
    if (cgroups_.pending() && (timeout < 0 || timeout > kCgroupRetryMs)) timeout = kCgroupRetryMs;
    loop_.RunOnce(drain_again_ ? 0 : timeout);
    if (drain_again_) DrainWaitStatuses();
    if (cgroups_.pending()) cgroups_.Sweep();
  }
  control_->FlushBlocking();
  // Whatever containers are left release their cgroups; their processes are gone by now unless
  // the exit deadline passed (they then die with us, and their cgroups stay).
  containers_.clear();
  cgroups_.Finish(std::chrono::seconds(1));
  logging::Info("sandbox %s: exiting", sandbox_id_.c_str());
  return 0;
}

void Sentry::OnSigchld() {
  struct signalfd_siginfo info[16];
  while (read(sigchld_.get(), info, sizeof(info)) > 0) {
  }
  DrainWaitStatuses();
}

void Sentry::DrainWaitStatuses() {
  drain_again_ = false;
  // Bounded, so a fork storm cannot starve the control socket; the rest runs next round.
  for (int i = 0; i < 512; i++) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, __WALL | WNOHANG);
    if (pid <= 0) break;
    if (WIFSTOPPED(status)) {
      tracer_.HandleStop(pid, status);
    } else if (WIFEXITED(status) || WIFSIGNALED(status)) {
      OnExit(pid, status);
    }
    if (i == 511) drain_again_ = true;
  }
  CheckFreezes();
  CheckDestroys();
  if (cgroups_.pending()) cgroups_.Sweep();  // a reaped process may have been the last in one
  MaybeExit();
}

Container* Sentry::FindContainer(const std::string& id) {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : it->second.get();
}

Container* Sentry::ContainerOfTask(const Task& t) {
  if (!t.assigned) return nullptr;
  return FindContainer(t.container_id);
}

void Sentry::OnExit(pid_t pid, int status) {
  if (pid == spawner_.pid()) return spawner_.Exited(status);
  std::string cid;
  if (Task* t = table_.Find(pid)) {
    if (t->assigned) cid = t->container_id;
    tracer_.Forget(pid);
  }
  auto child = children_.find(pid);
  if (child == children_.end() && cid.empty()) {
    // Perhaps the init of a container's own PID namespace, whose hand-over is still queued.
    DrainHandoffs();
    child = children_.find(pid);
  }
  if (child != children_.end()) {
    cid = child->second;
    children_.erase(child);
  }
  Container* c = FindContainer(cid);
  if (!c) return;
  auto it = c->procs.find(pid);
  if (it == c->procs.end()) return;  // an ordinary process of the container
  Proc* p = it->second.get();
  if (p->awaiting_handoff) {
    // The intermediate that clones the init exited. It names the init before it exits, so the
    // hand-over is on the channel unless it failed (or was killed) first.
    OnChannel(cid, pid);
    c = FindContainer(cid);
    if (!c) return;
    it = c->procs.find(pid);
    if (it == c->procs.end()) return;  // handed over: the intermediate was no process of the container
    p = it->second.get();
    if (p->awaiting_handoff) {
      p->exited = true;
      p->exit_published = true;  // its pid was never announced: nobody waits for it
      FailProc(c, p, Status(kUnknown, "container init exited during setup"));
      return;
    }
  }
  if (p->exited) return;
  p->exited = true;
  p->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  clock_gettime(CLOCK_REALTIME, &p->exited_at);
  logging::Debug("container %s: process %d exited with status %d", cid.c_str(), pid, p->exit_status);
  // Whatever the child said before dying is queued on the channel: read it before judging.
  if (p->channel) OnChannel(cid, pid);
  c = FindContainer(cid);
  if (!c || c->procs.find(pid) == c->procs.end()) return;  // a failed setup dropped the record
  p = c->procs[pid].get();
  if (p->tty) {
    p->tty->ProcessExited([this, cid, pid] { PublishExit(cid, pid); });
  } else {
    PublishExit(cid, pid);
  }
}

void Sentry::PublishExit(const std::string& cid, pid_t pid) {
  Container* c = FindContainer(cid);
  if (!c) return;
  Proc* p = c->FindProc(pid);
  if (!p || p->exit_published) return;
  p->exit_published = true;
  std::string payload = msg::EncodeWaitResponse(static_cast<uint32_t>(p->exit_status), p->exited_at.tv_sec,
                                                static_cast<int32_t>(p->exited_at.tv_nsec));
  for (uint32_t stream : p->waiters) control_->Reply(stream, payload);
  p->waiters.clear();
  CheckDestroys();
  MaybeExit();
}

void Sentry::KillAll(Container* c) {
  c->kill_newcomers = true;
  for (pid_t tid : table_.LeadersOf(c->id)) kill(tid, SIGKILL);
  for (auto& kv : c->procs)  // also processes still in setup (never a pid we reaped)
    if (!kv.second->exited && children_.count(kv.first)) kill(kv.first, SIGKILL);
}

bool Sentry::Alive(Container* c) {
  if (table_.CountOf(c->id) > 0) return true;
  for (auto& kv : c->procs) {
    Proc* p = kv.second.get();
    if (children_.count(kv.first)) return true;
    if (p->exited && !p->exit_published) return true;  // terminal output still draining
  }
  return false;
}

// CheckFreezes completes Signal{ALL} and Pause requests: once every task of the container is
// held in a ptrace-stop (or waits in vfork for a held child, so it cannot run either), no process
// can fork any more; Pauses are answered, the signal goes to every process, and then everything
// is resumed unless the container is paused. A paused container's vfork parents are interrupted
// too, so one whose child dies (SIGKILL) is held as soon as it returns from vfork.
void Sentry::CheckFreezes() {
  for (auto& kv : containers_) {
    Container* c = kv.second.get();
    if (!c->freezing && !c->paused) continue;
    bool frozen = true;
    for (pid_t tid : table_.TasksOf(c->id)) {
      Task* t = table_.Find(tid);
      if (t->stopped) continue;
      Task* vchild = table_.Find(t->vfork_child);
      bool vfork_held = vchild && vchild->stopped;
      if (!vfork_held || c->paused) tracer_.Interrupt(*t);  // newcomers too
      if (!vfork_held) frozen = false;
    }
    if (!frozen) continue;
    if (!c->pause_waiters.empty()) {
      logging::Debug("container %s: paused (%zu tasks held)", c->id.c_str(), table_.CountOf(c->id));
      for (uint32_t stream : c->pause_waiters) control_->Reply(stream, "");
      c->pause_waiters.clear();
    }
    if (!c->freezing) continue;
    std::vector<pid_t> leaders = table_.LeadersOf(c->id);
    while (!c->pending_signals.empty()) {
      PendingSignal ps = c->pending_signals.front();
      c->pending_signals.pop_front();
      logging::Debug("container %s: all %zu processes stopped; sending signal %d", c->id.c_str(), leaders.size(),
                     ps.signal);
      for (pid_t pid : leaders) kill(pid, ps.signal);
      control_->Reply(ps.stream, "");
    }
    c->freezing = false;
    for (pid_t tid : table_.TasksOf(c->id)) tracer_.MaybeResume(*table_.Find(tid));  // held if paused
  }
}

void Sentry::CheckDestroys() {
  std::vector<std::string> done;
  for (auto& kv : containers_) {
    Container* c = kv.second.get();
    if (!c->destroying) continue;
    // Defensive: a task the table still holds but the kernel no longer knows (its exit was
    // reaped) would keep the destroy waiting forever.
    for (pid_t tid : table_.TasksOf(c->id)) {
      if (access(("/proc/" + std::to_string(tid)).c_str(), F_OK) < 0 && errno == ENOENT) {
        logging::Error("container %s: task %d vanished without an exit; forgetting it", c->id.c_str(), tid);
        tracer_.Forget(tid);
      }
    }
    if (Alive(c)) {
      if (logging::DebugEnabled()) {
        std::string left;
        for (pid_t tid : table_.TasksOf(c->id)) {
          Task* t = table_.Find(tid);
          left += " " + std::to_string(tid) + (t->stopped ? "(stopped)" : "") + (t->awaiting_initial_stop ? "(new)" : "");
        }
        logging::Debug("container %s: destroy waits for tasks:%s", c->id.c_str(), left.c_str());
      }
      continue;
    }
    done.push_back(kv.first);
  }
  for (const std::string& id : done) {
    Container* c = FindContainer(id);
    for (auto& kv : c->procs) CloseChannel(kv.second.get());
    notifier_.Forget(id);  // every task that could use its listeners is gone
    dead_gofers_.Forget(id);
    std::vector<uint32_t> waiters = std::move(c->destroy_waiters);
    for (uint32_t stream : c->pause_waiters) control_->Reply(stream, "");  // nothing left to run
    containers_.erase(id);  // removes its cgroups too, before the answer
    logging::Info("container %s: destroyed", id.c_str());
    for (uint32_t stream : waiters) control_->Reply(stream, "");
  }
}

void Sentry::MaybeExit() {
  if (!shutting_down_ || stop_) return;
  if (!table_.empty() || !children_.empty()) return;
  stop_ = true;
}

namespace {

// ArgsMatch says whether a trapped call's arguments match one allow_if pattern (control.proto
// TrapAllow: EQ and MASKED_EQ; any other op never matches).
bool ArgsMatch(const msg::TrapAllow& pattern, const uint64_t args[6]) {
  constexpr uint32_t kEq = 4, kMaskedEq = 7;
  for (const msg::SeccompArg& a : pattern.args) {
    if (a.index > 5) return false;
    uint64_t v = args[a.index];
    if (a.op == kEq ? v != a.value : a.op == kMaskedEq ? (v & a.value) != a.value_two : true) return false;
  }
  return true;
}

}  // namespace

TrapVerdict Sentry::DecideTrap(const Task& t, const std::string& name, long nr, const uint64_t args[6]) {
  TrapVerdict v;
  v.allow = false;
  v.error = ENOSYS;
  Container* c = ContainerOfTask(t);
  bool log_traps = false;
  if (c && !name.empty()) {
    log_traps = c->spec.seccomp.log_traps;
    auto it = c->traps.find(name);
    if (it != c->traps.end()) {
      const msg::Trap& trap = it->second;
      v.allow = trap.decision == msg::kTrapAllow ||
                (trap.decision == msg::kTrapDeny &&
                 std::any_of(trap.allow_if.begin(), trap.allow_if.end(),
                             [args](const msg::TrapAllow& p) { return ArgsMatch(p, args); }));
      v.error = it->second.errno_value != 0 ? static_cast<int>(it->second.errno_value) : EPERM;
      // Only mount(2) and umount2(2) have a checked emulation; elsewhere the decision is a denial.
      v.checked_mount = it->second.decision == msg::kTrapMountChecked && (name == "mount" || name == "umount2");
    }
  }
  const char* verdict = v.allow ? "allowed" : v.checked_mount ? "checked" : "denied";
  if (log_traps) {
    logging::Info("trap: container %s pid %d syscall %s (%ld): %s", t.container_id.c_str(), t.tid,
                  name.empty() ? "?" : name.c_str(), nr, verdict);
  } else {
    logging::Debug("trap: container %s pid %d syscall %s (%ld): %s", t.container_id.c_str(), t.tid,
                   name.empty() ? "?" : name.c_str(), nr, verdict);
  }
  return v;
}

int Sentry::CheckedMount(const std::string& cid, pid_t pid, long nr, const uint64_t args[6],
                         const std::function<bool()>& still_waiting) {
  Container* c = FindContainer(cid);
  if (!c) return EPERM;
  // A proc it mounts gets what its own /proc has masked and read-only.
  checked_mount::ProcFloor floor;
  for (const auto& [paths, out] : {std::pair{&c->spec.masked_paths, &floor.masked}, std::pair{&c->spec.readonly_paths, &floor.readonly}}) {
    for (const std::string& p : *paths) {
      if (p.rfind("/proc/", 0) == 0 && p.size() > 6 && p.find("/..") == std::string::npos) out->push_back(p.substr(6));
    }
  }
  return checked_mount::Emulate(
      cid, pid, nr, args, still_waiting,
      [this](const checked_mount::Request& r, uint64_t* id) { return spawner_.Mount(r, id); }, &c->checked_mounts,
      floor);
}

// AssignUnknown places a task whose initial stop came before its parent's fork event. A thread
// belongs with its leader; a process with its parent when both share a mount namespace. The
// parent may also have been killed before it could report the fork (the child is then
// reparented): the mount namespace, one per container, still tells the container.
void Sentry::AssignUnknown(Task& t) {
  long tgid = procfs::StatusField(t.tid, "Tgid");
  if (tgid > 0) t.tgid = static_cast<pid_t>(tgid);
  unsigned long ns = procfs::MountNamespace(t.tid);
  Task* parent = nullptr;
  if (t.tgid != t.tid) {
    parent = table_.Find(t.tgid);
  } else {
    long ppid = procfs::StatusField(t.tid, "PPid");
    parent = ppid > 0 ? table_.Find(static_cast<pid_t>(ppid)) : nullptr;
    if (parent && (ns == 0 || procfs::MountNamespace(parent->tid) != ns)) parent = nullptr;
  }
  if (parent && parent->assigned) {
    t.assigned = true;
    t.container_id = parent->container_id;
    t.exec_id = parent->exec_id;
    return;
  }
  for (auto& kv : containers_) {
    if (ns != 0 && kv.second->mnt_ns_inode == ns) {
      t.assigned = true;
      t.container_id = kv.first;
      return;
    }
  }
  logging::Debug("ptrace: task %d: container not known yet (waiting for its parent's event)", t.tid);
}

void Sentry::OnControlEof() {
  logging::Info("sandbox %s: control connection closed; killing every process", sandbox_id_.c_str());
  for (auto& kv : containers_) KillAll(kv.second.get());
  // Reap what we killed (bounded): anything left dies with us anyway (PTRACE_O_EXITKILL, and
  // setup children by PR_SET_PDEATHSIG), but would stay a zombie until the host's init reaps it.
  shutting_down_ = true;
  exit_deadline_ = Clock::now() + std::chrono::seconds(2);
  MaybeExit();
}
