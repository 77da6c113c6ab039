// Process lifecycle on the sentry's side: fork a child into RunChild, then follow its setup
// channel (ready -> seize -> answer; start byte -> exec result) without ever blocking.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child_setup.h"
#include "log.h"
#include "procfs.h"
#include "sentry.h"
#include "setup_channel.h"
#include "sys.h"

Status Sentry::Spawn(Container* c, std::unique_ptr<Proc> proc, unique_fd stdio[3], const std::string& exec_payload) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return Status(kInternal, "creating the setup channel: " + sys::ErrnoText(errno));
  unique_fd parent_end(sv[0]);
  unique_fd child_end(sv[1]);

  ChildPlan plan;
  plan.is_exec = !proc->is_init;
  plan.spec = &c->spec;
  plan.process = &proc->spec;
  plan.cgroups = &c->cgroup_leaves;
  plan.new_pid_ns = proc->is_init && c->pid_mode == Container::PidMode::kOwn;
  plan.channel = child_end.get();
  for (int i = 0; i < 3; i++) plan.stdio[i] = stdio[i].get();
  if (plan.is_exec) {
    plan.mnt_ns = c->mnt_ns.get();
    plan.net_ns = c->net_ns.get();
  } else {
    for (const unique_fd& fd : c->fuse_fds) plan.fuse_fds.push_back(fd.get());
  }
  if (plan.new_pid_ns) {
    // The hand-over names the init with SCM_CREDENTIALS, delivered only with SO_PASSCRED.
    int one = 1;
    if (setsockopt(parent_end.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
      return Status(kInternal, "setting up the setup channel: " + sys::ErrnoText(errno));
  }

  pid_t pid = 0;
  Status forked = ForkChild(c, plan, exec_payload, &pid);
  child_end.reset();

  if (!forked.ok()) return forked;

  proc->pid = pid;
  proc->awaiting_handoff = plan.new_pid_ns;
  (void)sys::SetNonBlocking(parent_end.get());
  proc->channel = std::move(parent_end);
  if (proc->spec.stdio.terminal) {
    // The sentry copies between these and the pty master (stderr goes to the terminal too).
    proc->tty_in = std::move(stdio[0]);
    proc->tty_out = std::move(stdio[1]);
  }
  for (int i = 0; i < 3; i++) stdio[i].reset();
  children_[pid] = c->id;
  if (proc->is_init) {
    c->init_pid = pid;
    if (c->pid_mode == Container::PidMode::kSandboxRoot) sandbox_root_forked_ = true;
  }
  logging::Debug("container %s: forked %s process %d%s", c->id.c_str(), proc->is_init ? "init" : "exec", pid,
                 plan.new_pid_ns ? " (it clones the init into a new PID namespace)" : "");
  Proc* p = proc.get();
  c->procs[pid] = std::move(proc);
  WatchChannel(c, p);
  return Status();
}

// ForkChild has the spawner clone a child running RunChild(plan) into the PID namespace c's
// processes live in; the child is ours (CLONE_PARENT).
Status Sentry::ForkChild(Container* c, const ChildPlan& plan, const std::string& exec_payload, pid_t* pid) {
  ForkRequest r;
  r.create_payload = c->create_payload;
  r.exec_payload = exec_payload;
  r.plan = &plan;
  // A namespace nested in the sandbox's is below the spawner's too: it clones into it.
  if (c->pid_ns && !plan.new_pid_ns) r.pid_ns = c->pid_ns.get();
  return spawner_.Fork(r, pid);
}

// WatchChannel (re)registers p's setup channel with the loop, keyed by p's current pid.
void Sentry::WatchChannel(Container* c, Proc* p) {
  if (p->channel_watch) loop_.Remove(p->channel_watch);
  p->channel_watch = 0;
  std::string cid = c->id;
  pid_t pid = p->pid;
  auto watch = loop_.Add(p->channel.get(), EPOLLIN, [this, cid, pid](uint32_t) { OnChannel(cid, pid); });
  if (watch.ok()) p->channel_watch = watch.value();
  else logging::Error("container %s: watching the setup channel: %s", cid.c_str(), strerror(watch.error()));
}

void Sentry::OnChannel(const std::string& cid, pid_t pid) {
  for (;;) {
    Container* c = FindContainer(cid);
    if (!c) return;
    auto it = c->procs.find(pid);
    if (it == c->procs.end()) return;
    Proc* p = it->second.get();
    if (!p->channel) return;

    char buf[setup_channel::kMaxMessage];
    union {
      char space[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(struct ucred))];
      struct cmsghdr align;
    } control;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof(control.space);
    ssize_t n = recvmsg(p->channel.get(), &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    std::vector<unique_fd> fds;
    pid_t sender = 0;  // with SO_PASSCRED: the pid named by the sender, in our namespace
    if (n >= 0) {
      for (struct cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET) continue;
        if (cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
          struct ucred cred;
          memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
          sender = cred.pid;
          continue;
        }
        if (cm->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
          int fd;
          memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
          fds.emplace_back(fd);
        }
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // EOF (or an error, treated alike)
      OnChannelEof(c, p);
      return;
    }
    switch (buf[0]) {
      case setup_channel::kHandoff:
        OnHandoff(c, p, sender);
        pid = sender;  // the record is keyed by the init from now on (or is gone)
        break;
      case setup_channel::kMaster:
        if (!fds.empty() && p->spec.stdio.terminal && !p->tty) {
          p->tty = std::make_unique<Tty>(&loop_, std::move(fds[0]), std::move(p->tty_in), std::move(p->tty_out));
          p->tty->Start();
        }
        break;
      case setup_channel::kReady:
        OnReady(c, p);
        break;
      case setup_channel::kListener:
        if (!OnListener(c, p, fds.empty() ? unique_fd() : std::move(fds[0]))) return;
        break;
      case setup_channel::kError: {
        int code = n > 1 ? static_cast<int>(static_cast<unsigned char>(buf[1])) : static_cast<int>(kUnknown);
        std::string text = n > 2 ? std::string(buf + 2, static_cast<size_t>(n - 2)) : "setup failed";
        OnSetupError(c, p, Status(code == 0 ? kUnknown : code, text));
        return;
      }
      default:
        logging::Error("container %s: process %d: unexpected setup message %d", cid.c_str(), pid, buf[0]);
        break;
    }
  }
}

// OnHandoff re-keys a container's init record from the intermediate child to the init it cloned
// into the container's own PID namespace (a child of ours: CLONE_PARENT). The intermediate stays
// in children_ until it is reaped; its exit is then no process's. Both name the init: the second
// message is a repeat.
void Sentry::OnHandoff(Container* c, Proc* p, pid_t init) {
  if (!p->awaiting_handoff && init == p->pid && init > 0) return;
  if (!p->awaiting_handoff || init <= 0)
    return FailProc(c, p, Status(kInternal, "setting up container " + c->id + ": unexpected hand-over message"));
  pid_t from = p->pid;
  auto node = c->procs.extract(from);
  node.key() = init;
  c->procs.insert(std::move(node));
  p->pid = init;
  p->awaiting_handoff = false;
  c->init_pid = init;
  children_[init] = c->id;
  WatchChannel(c, p);
  logging::Debug("container %s: init %d cloned into its own PID namespace by %d", c->id.c_str(), init, from);
  if (c->kill_newcomers) kill(init, SIGKILL);
}

// DrainHandoffs reads the channels of inits still awaiting their hand-over: an exit of a pid we
// do not know may be that of an init whose hand-over is queued there.
void Sentry::DrainHandoffs() {
  std::vector<std::pair<std::string, pid_t>> waiting;
  for (auto& ckv : containers_)
    for (auto& pkv : ckv.second->procs)
      if (pkv.second->awaiting_handoff && pkv.second->channel) waiting.emplace_back(ckv.first, pkv.first);
  for (auto& w : waiting) OnChannel(w.first, w.second);
}

void Sentry::OnReady(Container* c, Proc* p) {
  if (p->phase != Proc::Phase::kSetup) return;
  std::string proc_dir = "/proc/" + std::to_string(p->pid);
  if (p->is_init) {
    auto mnt = sys::Open(proc_dir + "/ns/mnt", O_RDONLY);
    auto net = sys::Open(proc_dir + "/ns/net", O_RDONLY);
    if (!mnt.ok() || !net.ok()) {
      int e = !mnt.ok() ? mnt.error() : net.error();
      return FailProc(c, p, Status(kInternal, "opening the namespaces of the container init: " + sys::ErrnoText(e)));
    }
    c->mnt_ns = std::move(mnt.value());
    struct stat st;
    if (fstat(c->mnt_ns.get(), &st) == 0) c->mnt_ns_inode = static_cast<unsigned long>(st.st_ino);
    c->net_ns = std::move(net.value());
    if (c->pid_mode == Container::PidMode::kOwn) {  // Exec forks into it
      auto pidns = sys::Open(proc_dir + "/ns/pid", O_RDONLY);
      if (!pidns.ok())
        return FailProc(c, p, Status(kInternal, "opening the PID namespace of the container init: " +
                                                     sys::ErrnoText(pidns.error())));
      c->pid_ns = std::move(pidns.value());
    }
  }
  if (p->spec.has_oom_score_adj) {
    auto w = sys::WriteFile(proc_dir + "/oom_score_adj", std::to_string(p->spec.oom_score_adj));
    if (!w.ok()) return FailProc(c, p, Status(kUnknown, "setting oom_score_adj: " + sys::ErrnoText(w.error())));
  }
  auto seized = tracer_.Seize(p->pid);
  if (!seized.ok()) return FailProc(c, p, Status(kInternal, "ptrace: seizing the process: " + sys::ErrnoText(seized.error())));
  Task& t = table_.Add(p->pid);
  t.tgid = p->pid;
  t.assigned = true;
  t.container_id = c->id;
  t.exec_id = p->exec_id;
  p->sandbox_pid = procfs::SandboxPid(p->pid);
  if (p->is_init) {
    p->phase = Proc::Phase::kCreated;
    logging::Info("container %s: created, init pid %d (sandbox pid %u)", c->id.c_str(), p->pid, p->sandbox_pid);
    ReplyPending(p, Status(), msg::EncodePidResponse(static_cast<uint32_t>(p->pid), p->sandbox_pid));
    return;
  }
  p->phase = Proc::Phase::kStarting;
  char start = setup_channel::kStart;
  if (send(p->channel.get(), &start, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
    return FailProc(c, p, Status(kInternal, "starting the exec'd process: " + sys::ErrnoText(errno)));
}

// OnListener watches the seccomp listener a process's filter made (platform unotify), which its
// descendants share. A process whose listener did not arrive or cannot be watched is killed (its
// trapped calls would fail with ENOSYS instead of being decided); false then.
bool Sentry::OnListener(Container* c, Proc* p, unique_fd listener) {
  Status failed;
  if (!listener) {
    failed = Status(kInternal, "the seccomp listener did not arrive with its message");
  } else {
    auto watched = notifier_.Watch(c->id, std::move(listener));
    if (watched.ok()) return true;
    failed = Status(kInternal, "watching the seccomp listener: " + sys::ErrnoText(watched.error()));
  }
  logging::Error("container %s: process %d: %s", c->id.c_str(), p->pid, failed.message.c_str());
  if (!p->exited && children_.count(p->pid)) kill(p->pid, SIGKILL);  // past the start byte: it would exec
  FailProc(c, p, failed);
  return false;
}

void Sentry::OnSetupError(Container* c, Proc* p, const Status& status) {
  logging::Info("container %s: process %d failed: %s", c->id.c_str(), p->pid, status.message.c_str());
  FailProc(c, p, status);
}

void Sentry::OnChannelEof(Container* c, Proc* p) {
  switch (p->phase) {
    case Proc::Phase::kSetup:
      return FailProc(c, p, Status(kUnknown, p->is_init ? "container init exited during setup"
                                                        : "exec'd process exited during setup"));
    case Proc::Phase::kCreated:
      CloseChannel(p);  // died while waiting for Start; its exit is handled as any other
      return;
    case Proc::Phase::kStarting:
      // The channel is CLOEXEC: EOF without an error means execve succeeded.
      p->phase = Proc::Phase::kRunning;
      CloseChannel(p);
      logging::Debug("container %s: process %d exec'd", c->id.c_str(), p->pid);
      ReplyPending(p, Status(), p->is_init ? std::string()
                                           : msg::EncodePidResponse(static_cast<uint32_t>(p->pid), p->sandbox_pid));
      return;
    case Proc::Phase::kRunning:
      CloseChannel(p);
      return;
  }
}

void Sentry::CloseChannel(Proc* p) {
  if (p->channel_watch) loop_.Remove(p->channel_watch);
  p->channel_watch = 0;
  p->channel.reset();
}

void Sentry::ReplyPending(Proc* p, const Status& status, const std::string& payload) {
  if (!p->has_pending) return;
  p->has_pending = false;
  if (status.ok()) control_->Reply(p->pending_stream, payload);
  else control_->ReplyError(p->pending_stream, status);
}

// FailProc answers the pending request with status and ends the process. A failed create drops
// the container; a failed exec drops the exec record; an init whose exec failed stays (its
// exit is recorded like any other).
void Sentry::FailProc(Container* c, Proc* p, const Status& status) {
  ReplyPending(p, status, "");
  CloseChannel(p);
  // In setup the child is ours alone (not traced yet): make sure it is gone. After the start
  // byte it exits by itself with 127. (A pid no longer in children_ was reaped: never signal it.)
  if (!p->exited && p->phase == Proc::Phase::kSetup && children_.count(p->pid)) kill(p->pid, SIGKILL);
  if (p->is_init && (p->phase == Proc::Phase::kSetup || p->phase == Proc::Phase::kCreated)) {
    if (!c->destroying) {
      notifier_.Forget(c->id);
      dead_gofers_.Forget(c->id);
      containers_.erase(c->id);
      return;
    }
  } else if (!p->is_init) {
    c->procs.erase(p->pid);
  }
}
