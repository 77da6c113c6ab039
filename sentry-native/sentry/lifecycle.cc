// Process lifecycle on the sentry's side: fork a child into RunChild, then follow its setup
// channel (ready -> seize -> answer; start byte -> exec result) without ever blocking.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

Status Sentry::Spawn(Container* c, std::unique_ptr<Proc> proc, unique_fd stdio[3]) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return Status(kInternal, "creating the setup channel: " + sys::ErrnoText(errno));
  unique_fd parent_end(sv[0]);
  unique_fd child_end(sv[1]);

  ChildPlan plan;
  plan.is_exec = !proc->is_init;
  plan.spec = &c->spec;
  plan.process = &proc->spec;
  plan.channel = child_end.get();
  for (int i = 0; i < 3; i++) plan.stdio[i] = stdio[i].get();
  if (plan.is_exec) {
    plan.mnt_ns = c->mnt_ns.get();
    plan.net_ns = c->net_ns.get();
  }

  // Signals stay blocked in the child until just before execve (it resets the handlers).
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid == 0) RunChild(plan);
  int fork_errno = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  child_end.reset();
  if (pid < 0) {
    std::string text = "fork: " + sys::ErrnoText(fork_errno);
    if (fork_errno == ENOMEM) text += " (has the sandbox's init exited?)";
    return Status(kInternal, text);
  }

  proc->pid = pid;
  (void)sys::SetNonBlocking(parent_end.get());
  proc->channel = std::move(parent_end);
  std::string cid = c->id;
  auto watch = loop_.Add(proc->channel.get(), EPOLLIN, [this, cid, pid](uint32_t) { OnChannel(cid, pid); });
  if (watch.ok()) proc->channel_watch = watch.value();
  else logging::Error("container %s: watching the setup channel: %s", cid.c_str(), strerror(watch.error()));
  if (proc->spec.stdio.terminal) {
    // The sentry copies between these and the pty master (stderr goes to the terminal too).
    proc->tty_in = std::move(stdio[0]);
    proc->tty_out = std::move(stdio[1]);
  }
  for (int i = 0; i < 3; i++) stdio[i].reset();
  children_[pid] = cid;
  if (proc->is_init) c->init_pid = pid;
  logging::Debug("container %s: forked %s process %d", cid.c_str(), proc->is_init ? "init" : "exec", pid);
  c->procs[pid] = std::move(proc);
  return Status();
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
      char space[CMSG_SPACE(sizeof(int) * 4)];
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
    if (n >= 0) {
      for (struct cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
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
      case setup_channel::kMaster:
        if (!fds.empty() && p->spec.stdio.terminal && !p->tty) {
          p->tty = std::make_unique<Tty>(&loop_, std::move(fds[0]), std::move(p->tty_in), std::move(p->tty_out));
          p->tty->Start();
        }
        break;
      case setup_channel::kReady:
        OnReady(c, p);
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
  // byte it exits by itself with 127.
  if (!p->exited && p->phase == Proc::Phase::kSetup) kill(p->pid, SIGKILL);
  if (p->is_init && (p->phase == Proc::Phase::kSetup || p->phase == Proc::Phase::kCreated)) {
    if (!c->destroying) {
      containers_.erase(c->id);
      return;
    }
  } else if (!p->is_init) {
    c->procs.erase(p->pid);
  }
}
