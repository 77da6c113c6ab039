// The control API methods (protos/sentry/control.proto): each decodes its request, checks the
// container and process state, and answers at once or keeps the stream for a deferred reply.
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log.h"
#include "messages.h"
#include "procfs.h"
#include "sentry.h"
#include "setup_channel.h"
#include "sys.h"

namespace {

const char kService[] = "runsc_ts.sentry.v1.Sentry";

Status NotFoundContainer(const std::string& id) { return Status(kNotFound, "container " + id + " not found"); }

const char* PhaseName(const Proc& p) {
  if (p.exited) return "stopped";
  switch (p.phase) {
    case Proc::Phase::kSetup: return "creating";
    case Proc::Phase::kCreated: return "created";
    case Proc::Phase::kStarting: return "starting";
    case Proc::Phase::kRunning: return "running";
  }
  return "unknown";
}

Status ValidateProcess(const msg::Process& p) {
  if (p.args.empty()) return Status(kInvalidArgument, "process args must not be empty");
  if (!p.cwd.empty() && p.cwd[0] != '/') return Status(kInvalidArgument, "cwd \"" + p.cwd + "\" is not an absolute path");
  return Status();
}

}  // namespace

void Sentry::Dispatch(uint32_t stream, const std::string& service, const std::string& method,
                      const std::string& payload) {
  logging::Debug("control: stream %u: %s", stream, method.c_str());
  if (service != kService) {
    control_->ReplyError(stream, Status(kUnimplemented, "service " + service));
    return;
  }
  if (method == "CreateContainer") return CreateContainer(stream, payload);
  if (method == "StartContainer") return StartContainer(stream, payload);
  if (method == "Exec") return Exec(stream, payload);
  if (method == "Signal") return Signal(stream, payload);
  if (method == "Wait") return Wait(stream, payload);
  if (method == "Processes") return Processes(stream, payload);
  if (method == "ResizePty") return ResizePty(stream, payload);
  if (method == "CloseStdin") return CloseStdin(stream, payload);
  if (method == "DestroyContainer") return DestroyContainer(stream, payload);
  if (method == "GoferDied") return GoferDied(stream, payload);
  if (method == "Pause") return Pause(stream, payload);
  if (method == "Resume") return Resume(stream, payload);
  if (method == "Shutdown") return Shutdown(stream);
  control_->ReplyError(stream, Status(kUnimplemented, "method " + method));
}

// kMaxRootLayers bounds a root overlay's image layers (overlayfs takes up to 500 lower layers;
// images have tens at most).
constexpr uint32_t kMaxRootLayers = 128;

// RootOverlayError says what is wrong with a spec's root overlay ("" = nothing).
static std::string RootOverlayError(const msg::ContainerSpec& spec) {
  const msg::RootOverlay& ro = spec.root_overlay;
  bool snapshot = !ro.upperdir.empty() || !ro.workdir.empty();
  if ((spec.overlay_size > 0 || snapshot) && !spec.root_fuse) return "a root overlay needs the root served by a gofer";
  if (!snapshot) return "";
  if (spec.overlay_size > 0) return "a root overlay has either a memory upper layer or the snapshot's, not both";
  if (ro.lower_layers < 1 || ro.lower_layers > kMaxRootLayers)
    return "the root overlay wants 1 to " + std::to_string(kMaxRootLayers) + " image layers, not " + std::to_string(ro.lower_layers);
  if (ro.upperdir.empty() || ro.upperdir[0] != '/' || ro.workdir.empty() || ro.workdir[0] != '/')
    return "the root overlay's upperdir and workdir must be absolute paths";
  // Mount options are a comma-separated list: neither path may hold a comma or an escape.
  if (ro.upperdir.find_first_of(",\\") != std::string::npos || ro.workdir.find_first_of(",\\") != std::string::npos ||
      ro.options.find('\\') != std::string::npos)
    return "the root overlay's directories or options hold a comma or backslash";
  return "";
}

// TakeFuseFds takes the gofers' /dev/fuse fds that follow the stdio fds: the root's when
// root_fuse (one, or one per image layer with a root overlay), then one per fuse mount. On
// error the queued fds are closed: they belong to this request.
Status Sentry::TakeFuseFds(const msg::ContainerSpec& spec, std::vector<unique_fd>* out) {
  std::string overlay = RootOverlayError(spec);
  size_t wanted = !spec.root_fuse ? 0 : spec.root_overlay.upperdir.empty() ? 1 : spec.root_overlay.lower_layers;
  for (const msg::Mount& m : spec.mounts) wanted += m.fuse ? 1 : 0;
  size_t queued = control_->QueuedFds();
  Status err;
  if (!overlay.empty()) {
    err = Status(kInvalidArgument, overlay);
  } else if (queued < wanted) {
    err = Status(kInvalidArgument, "the spec names " + std::to_string(wanted) + " gofer mounts but " +
                                       std::to_string(queued) + " /dev/fuse fds were received");
  }
  if (!err.ok()) {
    for (size_t i = 0; i < queued; i++) control_->TakeFd();
    return err;
  }
  for (size_t i = 0; i < wanted; i++) out->push_back(control_->TakeFd());
  return Status();
}

bool Sentry::TakeStdio(const msg::Stdio& stdio, unique_fd out[3], Status* err) {
  bool want[3] = {stdio.has_stdin, stdio.has_stdout, stdio.has_stderr};
  size_t wanted = static_cast<size_t>(want[0]) + want[1] + want[2];
  size_t queued = control_->QueuedFds();
  if (queued < wanted) {
    for (size_t i = 0; i < queued; i++) control_->TakeFd();  // closed: they belong to this request
    *err = Status(kInvalidArgument, "request declares " + std::to_string(wanted) + " stdio fds but " +
                                        std::to_string(queued) + " were received");
    return false;
  }
  for (int i = 0; i < 3; i++)
    if (want[i]) out[i] = control_->TakeFd();
  return true;
}

void Sentry::CreateContainer(uint32_t stream, const std::string& payload) {
  msg::CreateContainerRequest req;
  if (!msg::Decode(payload, &req)) {
    control_->ReplyError(stream, Status(kInvalidArgument, "malformed CreateContainerRequest"));
    return;
  }
  unique_fd stdio[3];
  Status err;
  if (!TakeStdio(req.process.stdio, stdio, &err)) return control_->ReplyError(stream, err);
  const std::string& id = req.container_id;
  if (id.empty()) return control_->ReplyError(stream, Status(kInvalidArgument, "container id must not be empty"));
  if (shutting_down_) return control_->ReplyError(stream, Status(kFailedPrecondition, "the sentry is shutting down"));
  if (FindContainer(id)) return control_->ReplyError(stream, Status(kAlreadyExists, "container " + id + " already exists"));
  if (req.spec.rootfs.empty() || req.spec.rootfs[0] != '/')
    return control_->ReplyError(stream, Status(kInvalidArgument, "rootfs \"" + req.spec.rootfs + "\" is not an absolute path"));
  Status valid = ValidateProcess(req.process);
  if (!valid.ok()) return control_->ReplyError(stream, valid);
  for (const msg::Namespace& ns : req.spec.namespaces) {
    if (ns.type == "user")
      return control_->ReplyError(stream, Status(kInvalidArgument, "user namespaces are not supported yet"));
    if (ns.type != "pid" && ns.type != "network" && ns.type != "ipc" && ns.type != "uts" && ns.type != "mount" &&
        ns.type != "cgroup" && ns.type != "time")
      return control_->ReplyError(stream, Status(kInvalidArgument, "unknown namespace type \"" + ns.type + "\""));
  }

  for (const std::string& name : req.spec.seccomp.strace_syscalls) {
    if (seccomp_syscall_resolve_name(name.c_str()) < 0)
      return control_->ReplyError(stream, Status(kInvalidArgument, "creating container " + id +
                                                                       ": strace-syscalls: unknown syscall \"" + name + "\""));
  }

  const msg::Seccomp& sc = req.spec.seccomp;
  if (sc.platform != msg::kPlatformPtrace && sc.platform != msg::kPlatformUnotify)
    return control_->ReplyError(stream, Status(kInvalidArgument, "creating container " + id + ": unknown platform " +
                                                                     std::to_string(sc.platform)));
  if (sc.platform == msg::kPlatformUnotify && !unotify_unavailable_.empty())
    return control_->ReplyError(stream, Status(kFailedPrecondition, "creating container " + id + ": platform unotify: " +
                                                                        unotify_unavailable_ + " (platform ptrace works here)"));

  std::vector<unique_fd> fuse_fds;
  Status fuse = TakeFuseFds(req.spec, &fuse_fds);
  if (!fuse.ok()) return control_->ReplyError(stream, Status(fuse.code, "creating container " + id + ": " + fuse.message));

  auto c = std::make_unique<Container>();
  c->id = id;
  c->create_payload = payload;
  c->fuse_fds = std::move(fuse_fds);
  for (const msg::Trap& t : req.spec.seccomp.traps) c->traps[t.name] = t;
  c->strace.on = req.spec.seccomp.strace;
  c->strace.names.insert(req.spec.seccomp.strace_syscalls.begin(), req.spec.seccomp.strace_syscalls.end());
  if (req.spec.seccomp.strace_log_size != 0) c->strace.log_size = req.spec.seccomp.strace_log_size;
  c->spec = std::move(req.spec);
  Status pidns = ChoosePidNamespace(c.get());
  if (!pidns.ok()) return control_->ReplyError(stream, Status(pidns.code, "creating container " + id + ": " + pidns.message));
  // Dropping c on any failure from here on removes the cgroup directories made for it.
  Status cg = cgroups_.Create(c->spec.cgroup_path, &c->cgroup_leaves, &c->cgroups);
  if (!cg.ok()) return control_->ReplyError(stream, Status(cg.code, "creating container " + id + ": " + cg.message));
  auto proc = std::make_unique<Proc>();
  proc->is_init = true;
  proc->spec = std::move(req.process);
  proc->has_pending = true;
  proc->pending_stream = stream;
  Container* raw = c.get();
  containers_[id] = std::move(c);
  Status spawned = Spawn(raw, std::move(proc), stdio, "");
  if (!spawned.ok()) {
    containers_.erase(id);
    control_->ReplyError(stream, Status(spawned.code, "creating container " + id + ": " + spawned.message));
  }
}

// ChoosePidNamespace decides where a container's processes live (see Container::PidMode). The
// first container makes the sandbox's PID 1. A later one follows its spec's "pid" entry: none,
// or a path naming the sandbox's namespace (CRI's shareProcessNamespace) = the sandbox's; no path
// = a new namespace of its own; a path naming a namespace nested in the sandbox's = that one.
Status Sentry::ChoosePidNamespace(Container* c) {
  if (!sandbox_root_forked_) {
    c->pid_mode = Container::PidMode::kSandboxRoot;
    return Status();
  }
  const msg::Namespace* entry = nullptr;
  for (const msg::Namespace& ns : c->spec.namespaces)
    if (ns.type == "pid") entry = &ns;
  if (!entry) {
    c->pid_mode = Container::PidMode::kSandbox;
    return Status();
  }
  if (entry->path.empty()) {
    c->pid_mode = Container::PidMode::kOwn;
    return Status();
  }
  const std::string& path = entry->path;
  auto fd = sys::Open(path, O_RDONLY);
  if (!fd.ok()) return Status(kInvalidArgument, "opening PID namespace " + path + ": " + sys::ErrnoText(fd.error()));
  if (ioctl(fd->get(), NS_GET_NSTYPE) != CLONE_NEWPID)
    return Status(kInvalidArgument, "namespace " + path + " is not a PID namespace");
  struct stat sandbox;
  if (stat(spawner_.SandboxPidNamespace().c_str(), &sandbox) < 0)
    return Status(kInternal, "reading the sandbox's PID namespace: " + sys::ErrnoText(errno));
  // Walk up from the named namespace until the sandbox's (the kernel nests at most 32 deep).
  unique_fd parent;
  int at = fd->get();
  for (int depth = 0;; depth++) {
    struct stat st;
    if (fstat(at, &st) < 0) return Status(kInternal, "reading PID namespace " + path + ": " + sys::ErrnoText(errno));
    if (st.st_dev == sandbox.st_dev && st.st_ino == sandbox.st_ino) {
      if (depth == 0) {
        c->pid_mode = Container::PidMode::kSandbox;
      } else {
        c->pid_mode = Container::PidMode::kJoined;
        c->pid_ns = std::move(fd.value());
      }
      return Status();
    }
    int up = ioctl(at, NS_GET_PARENT);
    if (up < 0 || depth >= 32)
      return Status(kInvalidArgument, "PID namespace " + path + " is neither the sandbox's nor inside it");
    parent.reset(up);
    at = parent.get();
  }
}

void Sentry::StartContainer(uint32_t stream, const std::string& payload) {
  msg::StartContainerRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed StartContainerRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  Proc* p = c->Init();
  if (!p || p->exited || p->phase != Proc::Phase::kCreated || c->destroying)
    return control_->ReplyError(stream, Status(kFailedPrecondition, std::string("cannot start container in ") +
                                                                      (p ? PhaseName(*p) : "unknown") + " state"));
  char start = setup_channel::kStart;
  if (send(p->channel.get(), &start, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
    return control_->ReplyError(stream, Status(kInternal, "starting container " + c->id + ": " + sys::ErrnoText(errno)));
  p->phase = Proc::Phase::kStarting;
  p->has_pending = true;
  p->pending_stream = stream;
}

void Sentry::Exec(uint32_t stream, const std::string& payload) {
  msg::ExecRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed ExecRequest"));
  unique_fd stdio[3];
  Status err;
  if (!TakeStdio(req.process.stdio, stdio, &err)) return control_->ReplyError(stream, err);
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  if (c->paused) return control_->ReplyError(stream, Status(kFailedPrecondition, "container " + c->id + " is paused"));
  if (req.exec_id.empty()) return control_->ReplyError(stream, Status(kInvalidArgument, "exec id must not be empty"));
  Status valid = ValidateProcess(req.process);
  if (!valid.ok()) return control_->ReplyError(stream, valid);
  for (auto& kv : c->procs)
    if (kv.second->exec_id == req.exec_id && !kv.second->exited)
      return control_->ReplyError(stream, Status(kAlreadyExists, "exec " + req.exec_id + " already exists"));
  Proc* init = c->Init();
  if (!init || init->exited || init->phase != Proc::Phase::kRunning || c->destroying || !c->mnt_ns)
    return control_->ReplyError(stream, Status(kFailedPrecondition, "cannot exec in a container in " +
                                                                      std::string(init ? PhaseName(*init) : "unknown") + " state"));
  auto proc = std::make_unique<Proc>();
  proc->exec_id = req.exec_id;
  proc->spec = std::move(req.process);
  proc->has_pending = true;
  proc->pending_stream = stream;
  Status spawned = Spawn(c, std::move(proc), stdio, payload);
  if (!spawned.ok())
    control_->ReplyError(stream, Status(spawned.code, "exec " + req.exec_id + ": " + spawned.message));
}

void Sentry::Signal(uint32_t stream, const std::string& payload) {
  msg::SignalRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed SignalRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  int sig = static_cast<int>(req.signal);
  if (sig < 0 || sig >= NSIG) return control_->ReplyError(stream, Status(kInvalidArgument, "invalid signal " + std::to_string(sig)));

  if (req.mode == msg::kSignalAll) {
    if (sig == SIGKILL) {
      // Killed tasks cannot fork; tasks forked before the kill are killed as they arrive.
      KillAll(c);
      control_->Reply(stream, "");
      return;
    }
    c->pending_signals.push_back(PendingSignal{sig, stream});
    c->freezing = true;
    for (pid_t tid : table_.TasksOf(c->id)) tracer_.Interrupt(*table_.Find(tid));
    CheckFreezes();
    return;
  }
  if (req.mode != msg::kSignalProcess)
    return control_->ReplyError(stream, Status(kInvalidArgument, "invalid signal mode " + std::to_string(req.mode)));

  pid_t pid = req.pid == 0 ? c->init_pid : static_cast<pid_t>(req.pid);
  Proc* p = c->FindProc(pid);
  if (p) {
    if (p->exited) return control_->ReplyError(stream, Status(kNotFound, "process already finished"));
  } else {
    Task* t = table_.Find(pid);
    if (!t || !t->assigned || t->container_id != c->id || t->tid != t->tgid)
      return control_->ReplyError(stream, Status(kNotFound, "process " + std::to_string(pid) + " not found"));
  }
  if (kill(pid, sig) < 0) {
    if (errno == ESRCH) return control_->ReplyError(stream, Status(kNotFound, "process already finished"));
    return control_->ReplyError(stream, Status(kUnknown, "kill " + std::to_string(pid) + ": " + sys::ErrnoText(errno)));
  }
  control_->Reply(stream, "");
}

void Sentry::Wait(uint32_t stream, const std::string& payload) {
  msg::WaitRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed WaitRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  Proc* p = c->FindProc(static_cast<pid_t>(req.pid));
  if (!p) return control_->ReplyError(stream, Status(kNotFound, "process " + std::to_string(req.pid) + " not found"));
  if (p->exit_published) {
    control_->Reply(stream, msg::EncodeWaitResponse(static_cast<uint32_t>(p->exit_status), p->exited_at.tv_sec,
                                                    static_cast<int32_t>(p->exited_at.tv_nsec)));
    return;
  }
  p->waiters.push_back(stream);
}

void Sentry::Processes(uint32_t stream, const std::string& payload) {
  msg::ProcessesRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed ProcessesRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  std::vector<msg::ProcessInfo> out;
  for (pid_t pid : table_.LeadersOf(c->id)) {
    Task* t = table_.Find(pid);
    msg::ProcessInfo info;
    info.pid = static_cast<uint32_t>(pid);
    info.sandbox_pid = procfs::SandboxPid(pid);
    if (info.sandbox_pid == 0) continue;  // gone in the meantime
    pid_t ppid = procfs::ParentPid(pid);
    if (ppid > 0 && table_.Find(ppid)) {
      info.ppid = static_cast<uint32_t>(ppid);
      info.sandbox_ppid = procfs::SandboxPid(ppid);
    }
    info.exec_id = t->exec_id;
    info.cmd = procfs::Comm(pid);
    out.push_back(std::move(info));
  }
  control_->Reply(stream, msg::EncodeProcessesResponse(out));
}

void Sentry::ResizePty(uint32_t stream, const std::string& payload) {
  msg::ResizePtyRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed ResizePtyRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  Proc* p = c->FindProc(static_cast<pid_t>(req.pid));
  if (!p) return control_->ReplyError(stream, Status(kNotFound, "process " + std::to_string(req.pid) + " not found"));
  if (p->tty && !p->exited) {
    int e = p->tty->Resize(req.width, req.height);
    if (e != 0) return control_->ReplyError(stream, Status(kUnknown, "resizing the terminal: " + sys::ErrnoText(e)));
  }
  control_->Reply(stream, "");
}

void Sentry::CloseStdin(uint32_t stream, const std::string& payload) {
  msg::CloseStdinRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed CloseStdinRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  Proc* p = c->FindProc(static_cast<pid_t>(req.pid));
  if (!p) return control_->ReplyError(stream, Status(kNotFound, "process " + std::to_string(req.pid) + " not found"));
  if (p->tty) p->tty->CloseStdin();
  control_->Reply(stream, "");
}

void Sentry::DestroyContainer(uint32_t stream, const std::string& payload) {
  msg::DestroyContainerRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed DestroyContainerRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->Reply(stream, "");  // idempotent
  c->destroying = true;
  c->destroy_waiters.push_back(stream);
  for (auto& kv : c->procs) {
    Proc* p = kv.second.get();
    if (p->has_pending && p->phase == Proc::Phase::kSetup)
      ReplyPending(p, Status(kFailedPrecondition, "container " + c->id + " was destroyed during setup"), "");
    if (p->phase == Proc::Phase::kStarting) ReplyPending(p, Status(kFailedPrecondition, "container " + c->id + " was destroyed"), "");
  }
  KillAll(c);
  CheckDestroys();
}

// GoferDied: the container's gofer is gone, so the sentry answers its FUSE connections (EIO), or,
// where they were served over io_uring, lets the kernel end them (its copies were the last).
void Sentry::GoferDied(uint32_t stream, const std::string& payload) {
  msg::GoferDiedRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed GoferDiedRequest"));
  Container* c = FindContainer(req.container_id);
  if (c && !c->fuse_fds.empty() && !req.io_uring) dead_gofers_.Answer(c->id, std::move(c->fuse_fds));
  if (c) c->fuse_fds.clear();
  control_->Reply(stream, "");
}

// Pause holds every task of the container in a ptrace stop (the hold hook keeps each one that
// stops, newcomers included) and answers from CheckFreezes once all are held. No signal is sent,
// so a process's own group-stop (SIGSTOP by the user) is kept as it was and comes back on Resume.
void Sentry::Pause(uint32_t stream, const std::string& payload) {
  msg::PauseRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed PauseRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  Proc* init = c->Init();
  if (c->destroying || !init || (!init->exited && init->phase != Proc::Phase::kRunning)) {
    std::string state = c->destroying ? "destroying" : init ? PhaseName(*init) : "unknown";
    return control_->ReplyError(stream, Status(kFailedPrecondition, "cannot pause a container in " + state + " state"));
  }
  if (!c->paused) logging::Debug("container %s: pausing", c->id.c_str());
  c->paused = true;
  c->pause_waiters.push_back(stream);
  for (pid_t tid : table_.TasksOf(c->id)) tracer_.Interrupt(*table_.Find(tid));
  CheckFreezes();
}

// Resume lets every held task go on as it was (MaybeResume uses the action its stop recorded);
// a Signal{ALL} still freezing the container resumes them itself when it is done.
void Sentry::Resume(uint32_t stream, const std::string& payload) {
  msg::ResumeRequest req;
  if (!msg::Decode(payload, &req)) return control_->ReplyError(stream, Status(kInvalidArgument, "malformed ResumeRequest"));
  Container* c = FindContainer(req.container_id);
  if (!c) return control_->ReplyError(stream, NotFoundContainer(req.container_id));
  if (c->paused) logging::Debug("container %s: resuming", c->id.c_str());
  c->paused = false;
  for (uint32_t waiter : c->pause_waiters)
    control_->ReplyError(waiter, Status(kFailedPrecondition, "container " + c->id + " was resumed before every task was held"));
  c->pause_waiters.clear();
  if (!c->freezing)
    for (pid_t tid : table_.TasksOf(c->id)) tracer_.MaybeResume(*table_.Find(tid));
  control_->Reply(stream, "");
}

void Sentry::Shutdown(uint32_t stream) {
  logging::Info("sandbox %s: shutdown requested", sandbox_id_.c_str());
  shutting_down_ = true;
  for (auto& kv : containers_) KillAll(kv.second.get());
  control_->Reply(stream, "");
  // A task stuck in the kernel must not keep us forever; the rest dies with us (EXITKILL).
  if (!exit_deadline_) exit_deadline_ = Clock::now() + std::chrono::seconds(10);
  MaybeExit();
}
