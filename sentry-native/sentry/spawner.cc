// The spawner process and the sentry's handle on it (see spawner.h).
#include "spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "messages.h"
#include "sys.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

namespace {

constexpr char kHello = 'H';
constexpr char kFork = 'F';
constexpr char kMount = 'M';
constexpr char kReply = 'R';

// kMaxFds bounds the fds of one packet (the kernel's SCM_MAX_FD).
constexpr size_t kMaxFds = 253;
// kSocketBuffer is the send buffer each side asks for: a request carries a whole container spec.
constexpr int kSocketBuffer = 16 << 20;

// ---- wire format: little-endian integers, length-prefixed strings ----

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), sizeof(v)); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), sizeof(v)); }
void PutString(std::string* out, const std::string& s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reader takes a packet apart; any read past its end makes ok() false.
class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  uint8_t U8() { return static_cast<uint8_t>(Take(1)[0]); }
  uint32_t U32() {
    uint32_t v = 0;
    memcpy(&v, Take(sizeof(v)).data(), sizeof(v));
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    memcpy(&v, Take(sizeof(v)).data(), sizeof(v));
    return v;
  }
  std::string String() { return Take(U32()); }
  bool ok() const { return ok_; }

 private:
  std::string Take(size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return std::string(n > 8 ? 8 : n, '\0');
    }
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  const std::string& data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Send sends one packet with fds (negative entries are skipped by the caller).
bool Send(int sock, const std::string& data, const std::vector<int>& fds) {
  struct iovec iov = {const_cast<char*>(data.data()), data.size()};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  std::string control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
    mh.msg_control = control.data();
    mh.msg_controllen = control.size();
    struct cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(data.size());
}

// Receive waits for one packet; false at EOF or on an error (errno set, 0 at EOF).
bool Receive(int sock, std::string* data, std::vector<unique_fd>* fds) {
  ssize_t size;
  do {
    size = recv(sock, nullptr, 0, MSG_PEEK | MSG_TRUNC);
  } while (size < 0 && errno == EINTR);
  if (size <= 0) {
    if (size == 0) errno = 0;
    return false;
  }
  data->resize(static_cast<size_t>(size));
  std::string control(CMSG_SPACE(sizeof(int) * kMaxFds), '\0');
  struct iovec iov = {data->data(), data->size()};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control.data();
  mh.msg_controllen = control.size();
  ssize_t n;
  do {
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    if (n == 0) errno = 0;
    return false;
  }
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      fds->emplace_back(fd);
    }
  }
  data->resize(static_cast<size_t>(n));
  return true;
}

std::string Reply(int32_t value, const std::string& text, uint64_t extra = 0) {
  std::string out(1, kReply);
  PutU32(&out, static_cast<uint32_t>(value));
  PutString(&out, text);
  PutU64(&out, extra);
  return out;
}

// ---- the spawner process ----

// fork request flags
constexpr uint8_t kIsExec = 1 << 0;
constexpr uint8_t kNewPidNs = 1 << 1;
constexpr uint8_t kHasStdio0 = 1 << 2;  // << i for stdio i
constexpr uint8_t kHasMntNs = 1 << 5;
constexpr uint8_t kHasNetNs = 1 << 6;
constexpr uint8_t kHasPidNs = 1 << 7;

// CloneChild clones the child for plan into pid_ns (-1: the spawner's pid_for_children, the
// sandbox's) as a child of the sentry; the child runs RunChild and never returns.
int32_t CloneChild(const ChildPlan& plan, int pid_ns, std::string* text) {
  unique_fd back;
  if (pid_ns >= 0) {
    auto current = sys::Open("/proc/self/ns/pid_for_children", O_RDONLY);
    if (!current.ok()) {
      *text = "opening the sandbox's PID namespace: " + sys::ErrnoText(current.error());
      return -current.error();
    }
    back = std::move(current.value());
    if (setns(pid_ns, CLONE_NEWPID) < 0) {
      int e = errno;
      *text = "entering the container's PID namespace: " + sys::ErrnoText(e);
      return -e;
    }
  }
  // Signals stay blocked in the child until just before execve (it resets the handlers).
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  // CLONE_PARENT: the sentry is the parent, so it reaps (and may wait for) the child as before.
  long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid == 0) RunChild(plan);
  int clone_errno = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (back && setns(back.get(), CLONE_NEWPID) < 0) {
    // Every later child would land in the wrong namespace: the sentry sees the spawner die.
    logging::Error("spawner: returning to the sandbox's PID namespace: %s", strerror(errno));
    abort();
  }
  if (pid < 0) {
    *text = "clone: " + sys::ErrnoText(clone_errno);
    if (clone_errno == ENOMEM)
      *text += back ? " (has the init of the container's PID namespace exited?)" : " (has the sandbox's init exited?)";
    return -clone_errno;
  }
  return static_cast<int32_t>(pid);
}

std::string ServeFork(Reader& in, std::vector<unique_fd>& fds) {
  uint8_t flags = in.U8();
  std::string create_payload = in.String();
  std::string exec_payload = in.String();
  std::vector<CgroupLeaf> leaves;
  uint32_t count = in.U32();
  for (uint32_t i = 0; i < count && in.ok() && i < 1024; i++) {
    CgroupLeaf leaf;
    leaf.path = in.String();
    leaf.required = in.U8() != 0;
    leaves.push_back(leaf);
  }
  uint32_t fuse_count = in.U32();
  msg::CreateContainerRequest create;
  msg::ExecRequest exec;
  bool is_exec = (flags & kIsExec) != 0;
  if (!in.ok() || !msg::Decode(create_payload, &create) || (is_exec && !msg::Decode(exec_payload, &exec)))
    return Reply(-EINVAL, "spawner: malformed fork request");

  ChildPlan plan;
  plan.is_exec = is_exec;
  plan.spec = &create.spec;
  plan.process = is_exec ? &exec.process : &create.process;
  plan.cgroups = &leaves;
  plan.new_pid_ns = (flags & kNewPidNs) != 0;
  size_t next = 0;
  auto take = [&]() { return next < fds.size() ? fds[next++].get() : -1; };
  plan.channel = take();
  for (int i = 0; i < 3; i++)
    if (flags & (kHasStdio0 << i)) plan.stdio[i] = take();
  if (flags & kHasMntNs) plan.mnt_ns = take();
  if (flags & kHasNetNs) plan.net_ns = take();
  int pid_ns = (flags & kHasPidNs) ? take() : -1;
  for (uint32_t i = 0; i < fuse_count; i++) plan.fuse_fds.push_back(take());
  if (next != fds.size() || plan.channel < 0) return Reply(-EINVAL, "spawner: fork request with the wrong fds");
  std::string text;
  int32_t pid = CloneChild(plan, pid_ns, &text);
  return Reply(pid, text);
}

std::string ServeMount(Reader& in, std::vector<unique_fd>& fds) {
  checked_mount::Request r;
  r.cid = in.String();
  r.pid = static_cast<pid_t>(in.U32());
  r.caps = in.U64();
  r.unmount = in.U8() != 0;
  r.flags = static_cast<unsigned long>(in.U64());
  for (checked_mount::Arg* a : {&r.source, &r.target, &r.fstype, &r.data}) {
    a->null = in.U8() != 0;
    a->value = in.String();
  }
  uint32_t allowed = in.U32();
  for (uint32_t i = 0; i < allowed && in.ok(); i++) r.allowed.push_back(in.U64());
  for (std::vector<std::string>* list : {&r.proc.masked, &r.proc.readonly}) {
    uint32_t n = in.U32();
    for (uint32_t i = 0; i < n && in.ok(); i++) list->push_back(in.String());
  }
  if (!in.ok() || fds.size() != 6) return Reply(-EINVAL, "spawner: malformed mount request");
  r.mnt = std::move(fds[0]);
  r.pid_ns = std::move(fds[1]);
  r.net = std::move(fds[2]);
  r.ipc = std::move(fds[3]);
  r.root = std::move(fds[4]);
  r.cwd = std::move(fds[5]);
  uint64_t id = 0;
  int err = checked_mount::Perform(r, &id);
  return Reply(err, "", id);
}

// Serve is the spawner's main: it makes the sandbox's namespaces, says hello, and answers
// requests until the sentry's end closes.
[[noreturn]] void Serve(int sock, pid_t sentry) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != sentry) _exit(1);
  (void)prctl(PR_SET_NAME, "runsc-ts-spawn", 0, 0, 0);
  // Its clones are in a container's PID namespace before they exec: not dumpable, their /proc
  // files (exe, mem, fds) are the sentry's alone (a container process needs CAP_SYS_PTRACE).
  // Their exec makes the container's process dumpable again.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) _exit(1);
  // Nothing of the sentry's but the socket and stderr (its log).
  int keep = fcntl(sock, F_DUPFD_CLOEXEC, 3);
  if (keep != 3) {
    if (keep < 0 || dup3(keep, 3, O_CLOEXEC) < 0) _exit(1);
    close(keep);
  }
  sock = 3;
  syscall(SYS_close_range, 4, ~0U, 0);
  // Our own children (the clones) go into the new PID namespace: the first container's init
  // is its PID 1. The spawner itself stays outside.
  std::string hello(1, kHello);
  if (unshare(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
    hello += "creating the sandbox namespaces: " + sys::ErrnoText(errno);
  if (!Send(sock, hello, {}) || hello.size() > 1) _exit(1);
  for (;;) {
    std::string data;
    std::vector<unique_fd> fds;
    if (!Receive(sock, &data, &fds)) _exit(errno == 0 ? 0 : 1);
    Reader in(data);
    char kind = static_cast<char>(in.U8());
    std::string reply = kind == kFork    ? ServeFork(in, fds)
                        : kind == kMount ? ServeMount(in, fds)
                                         : Reply(-EINVAL, "spawner: unknown request");
    fds.clear();  // the clone has its own copies
    if (!Send(sock, reply, {})) _exit(1);
  }
}

}  // namespace

Status Spawner::Start() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return Status(kInternal, "spawner: socketpair: " + sys::ErrnoText(errno));
  unique_fd mine(sv[0]), theirs(sv[1]);
  for (int fd : {sv[0], sv[1]}) {
    int size = kSocketBuffer;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
      (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
  pid_t sentry = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status(kInternal, "spawner: fork: " + sys::ErrnoText(errno));
  if (pid == 0) {
    mine.reset();
    Serve(theirs.get(), sentry);
  }
  theirs.reset();
  pid_ = pid;
  sock_ = std::move(mine);
  std::string hello;
  std::vector<unique_fd> fds;
  if (!Receive(sock_.get(), &hello, &fds) || hello.empty() || hello[0] != kHello)
    return Status(kInternal, "spawner: no hello (it exited)");
  if (hello.size() > 1) return Status(kInternal, "spawner: " + hello.substr(1));
  return Status();
}

void Spawner::Exited(int status) {
  dead_ = WIFSIGNALED(status) ? "the spawner was killed by signal " + std::to_string(WTERMSIG(status))
                              : "the spawner exited with status " + std::to_string(WEXITSTATUS(status));
  logging::Error("%s: no process can be created in this sandbox any more", dead_.c_str());
  sock_.reset();
}

Status Spawner::Call(const std::string& request, const std::vector<int>& fds, int32_t* value, std::string* text,
                     uint64_t* extra) {
  if (!sock_) return Status(kUnavailable, dead_.empty() ? "the spawner is not running" : dead_);
  if (!Send(sock_.get(), request, fds)) {
    if (errno == EMSGSIZE) return Status(kInvalidArgument, "the request is too large for the spawner");
    return Status(kUnavailable, "sending to the spawner: " + sys::ErrnoText(errno));
  }
  std::string reply;
  std::vector<unique_fd> none;
  if (!Receive(sock_.get(), &reply, &none))
    return Status(kUnavailable, "the spawner did not answer: " + (errno == 0 ? std::string("it exited") : sys::ErrnoText(errno)));
  Reader in(reply);
  char kind = static_cast<char>(in.U8());
  *value = static_cast<int32_t>(in.U32());
  *text = in.String();
  uint64_t more = in.U64();
  if (extra) *extra = more;
  if (!in.ok() || kind != kReply) return Status(kInternal, "malformed answer from the spawner");
  return Status();
}

Status Spawner::Fork(const ForkRequest& r, pid_t* pid) {
  const ChildPlan& plan = *r.plan;
  uint8_t flags = 0;
  std::vector<int> fds = {plan.channel};
  if (plan.is_exec) flags |= kIsExec;
  if (plan.new_pid_ns) flags |= kNewPidNs;
  for (int i = 0; i < 3; i++) {
    if (plan.stdio[i] < 0) continue;
    flags |= kHasStdio0 << i;
    fds.push_back(plan.stdio[i]);
  }
  if (plan.mnt_ns >= 0) flags |= kHasMntNs, fds.push_back(plan.mnt_ns);
  if (plan.net_ns >= 0) flags |= kHasNetNs, fds.push_back(plan.net_ns);
  if (r.pid_ns >= 0) flags |= kHasPidNs, fds.push_back(r.pid_ns);
  for (int fd : plan.fuse_fds) fds.push_back(fd);
  if (fds.size() > kMaxFds) return Status(kInvalidArgument, "too many file descriptors for one process");

  std::string request(1, kFork);
  request.push_back(static_cast<char>(flags));
  PutString(&request, r.create_payload);
  PutString(&request, r.exec_payload);
  uint32_t count = plan.cgroups ? static_cast<uint32_t>(plan.cgroups->size()) : 0;
  PutU32(&request, count);
  for (uint32_t i = 0; i < count; i++) {
    PutString(&request, (*plan.cgroups)[i].path);
    request.push_back((*plan.cgroups)[i].required ? 1 : 0);
  }
  PutU32(&request, static_cast<uint32_t>(plan.fuse_fds.size()));

  int32_t value = 0;
  std::string text;
  Status called = Call(request, fds, &value, &text);
  if (!called.ok()) return called;
  if (value <= 0) return Status(kInternal, text.empty() ? "clone: " + sys::ErrnoText(-value) : text);
  *pid = static_cast<pid_t>(value);
  return Status();
}

int Spawner::Mount(const checked_mount::Request& r, uint64_t* mnt_id) {
  std::string request(1, kMount);
  PutString(&request, r.cid);
  PutU32(&request, static_cast<uint32_t>(r.pid));
  PutU64(&request, r.caps);
  request.push_back(r.unmount ? 1 : 0);
  PutU64(&request, r.flags);
  for (const checked_mount::Arg* a : {&r.source, &r.target, &r.fstype, &r.data}) {
    request.push_back(a->null ? 1 : 0);
    PutString(&request, a->value);
  }
  PutU32(&request, static_cast<uint32_t>(r.allowed.size()));
  for (uint64_t id : r.allowed) PutU64(&request, id);
  for (const std::vector<std::string>* list : {&r.proc.masked, &r.proc.readonly}) {
    PutU32(&request, static_cast<uint32_t>(list->size()));
    for (const std::string& p : *list) PutString(&request, p);
  }
  int32_t value = 0;
  std::string text;
  Status called = Call(request, {r.mnt.get(), r.pid_ns.get(), r.net.get(), r.ipc.get(), r.root.get(), r.cwd.get()},
                       &value, &text, mnt_id);
  if (!called.ok()) {
    logging::Error("checked mount: container %s task %d: %s", r.cid.c_str(), r.pid, called.message.c_str());
    return EPERM;
  }
  return value;
}
