// runsc_ts_native: the few system calls the shim needs and Node lacks (socketpair, sendmsg with
// SCM_RIGHTS, mount/umount2, child subreaper, a listening socket libuv will not unlink), giving
// idle memory back, and forking the warm shim. Mechanism only; policy lives in TypeScript.
#include <napi.h>
#include <uv.h>
#include <v8.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

// ThrowErrno raises a JS Error carrying code (e.g. "EPERM"), errno and syscall, like Node's own.
void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& detail = "") {
  std::string msg = std::string(syscall) + ": " + strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  const char* name = strerrorname_np(err);
  e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.ThrowAsJavaScriptException();
}

// SocketPair returns two connected AF_UNIX SOCK_STREAM fds, both close-on-exec.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ThrowErrno(env, errno, "socketpair");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, sv[0]));
  out.Set(1u, Napi::Number::New(env, sv[1]));
  return out;
}

// WaitWritable blocks until fd can take more data (the socket may be non-blocking under libuv).
bool WaitWritable(int fd) {
  struct pollfd p = {fd, POLLOUT, 0};
  for (;;) {
    int r = poll(&p, 1, 5000);
    if (r > 0) return true;
    if (r == 0) { errno = ETIMEDOUT; return false; }
    if (errno != EINTR) return false;
  }
}

// SendFrame writes all of buf to fd with sendmsg, attaching fds (SCM_RIGHTS) to the first byte.
Napi::Value SendFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "sendFrame(fd, buffer, fds?)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> buf = info[1].As<Napi::Buffer<uint8_t>>();
  std::vector<int> fds;
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array a = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) fds.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  }
  if (fds.size() > 64) {
    Napi::RangeError::New(env, "too many fds").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t off = 0;
  bool fdsSent = fds.empty();
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (fds.empty() ? 1 : fds.size())));
  while (off < buf.Length() || !fdsSent) {
    struct iovec iov = {buf.Data() + off, buf.Length() - off};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fdsSent) {
      msg.msg_control = control.data();
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitWritable(fd)) continue;
      ThrowErrno(env, errno, "sendmsg");
      return env.Undefined();
    }
    fdsSent = true;
    off += static_cast<size_t>(n);
  }
  return env.Undefined();
}

// Mount calls mount(2): mount(source, target, fstype, flags, data).
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) {
    Napi::TypeError::New(env, "mount(source, target, fstype, flags, data)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string source = info[0].As<Napi::String>().Utf8Value();
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string fstype = info[2].As<Napi::String>().Utf8Value();
  unsigned long flags = static_cast<unsigned long>(info[3].As<Napi::Number>().Int64Value());
  std::string data = info[4].As<Napi::String>().Utf8Value();
  if (mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(), flags,
            data.empty() ? nullptr : data.c_str()) != 0) {
    ThrowErrno(env, errno, "mount", target);
  }
  return env.Undefined();
}

// Umount calls umount2(target, flags).
Napi::Value Umount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = info[0].As<Napi::String>().Utf8Value();
  int flags = info.Length() > 1 ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (umount2(target.c_str(), flags) != 0) ThrowErrno(env, errno, "umount2", target);
  return env.Undefined();
}

// SetChildSubreaper makes this process the reaper of its orphaned descendants.
Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) ThrowErrno(env, errno, "prctl");
  return env.Undefined();
}

// ReclaimMemory gives memory an idle shim no longer uses back to the system: V8's low-memory
// collection (full GCs that also shrink the young generation to its minimum and release pooled
// pages, which no JS-visible call does) and then glibc's trim of free heap pages. It blocks the
// event loop for a few milliseconds, so the shim calls it only when idle.
Napi::Value ReclaimMemory(const Napi::CallbackInfo& info) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  malloc_trim(0);
  return info.Env().Undefined();
}

// ListenUnix binds and listens on a unix socket path and returns the fd (close-on-exec). A net.Server
// given the fd serves it like its own, but libuv does not know the path, so closing the server
// (in a forked copy, say) does not unlink the socket from under its owner.
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    ThrowErrno(env, ENAMETOOLONG, "bind", path);
    return env.Undefined();
  }
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "socket");
    return env.Undefined();
  }
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 128) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "bind", path);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// InheritAllMappings undoes V8's MADV_DONTFORK on its heap regions (an optimisation for
// fork+exec), so that a forked copy of this process has the whole heap.
void InheritAllMappings() {
  FILE* maps = fopen("/proc/self/maps", "re");
  if (maps == nullptr) return;
  char line[512];
  unsigned long start, end;
  while (fgets(line, sizeof line, maps) != nullptr) {
    if (sscanf(line, "%lx-%lx", &start, &end) == 2) {
      madvise(reinterpret_cast<void*>(start), end - start, MADV_DOFORK);
    }
  }
  fclose(maps);
}

// GhostCondvars finds the condition variables this process's other threads are blocked on (the
// futex word of a waiting thread, from /proc/self/task/<tid>/syscall, lies inside the glibc
// pthread_cond_t: __g_signals[0] at offset 40 or __g_signals[1] at 44). In a forked copy those
// threads do not exist, yet the condvar still counts them as waiters, and once the copy has
// signalled it as often as there were waiters, glibc's signal waits for them forever. Node's
// platform signals its worker queue's condvar whenever V8 posts a job, which a full GC does even
// with --single-threaded. The copy re-initialises them (ResetCondvars): it has no waiters.
std::vector<pthread_cond_t*> GhostCondvars() {
  std::vector<pthread_cond_t*> out;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return out;
  pid_t self = gettid();
  while (struct dirent* e = readdir(tasks)) {
    pid_t tid = atoi(e->d_name);
    if (tid <= 0 || tid == self) continue;
    std::string path = "/proc/self/task/" + std::to_string(tid) + "/syscall";
    FILE* f = fopen(path.c_str(), "re");
    if (f == nullptr) continue;
    long nr = -1;
    unsigned long addr = 0, op = 0;
    int n = fscanf(f, "%ld %lx %lx", &nr, &addr, &op);
    fclose(f);
    if (n != 3 || nr != SYS_futex) continue;
    int cmd = static_cast<int>(op) & FUTEX_CMD_MASK;
    if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET) continue;
    unsigned long base = addr - (addr % 8 == 0 ? 40 : 44);
    auto* cond = reinterpret_cast<pthread_cond_t*>(base);
    // A condvar with waiters has them counted in __wrefs (offset 36) in units of 8.
    unsigned int wrefs;
    memcpy(&wrefs, reinterpret_cast<char*>(base) + 36, sizeof wrefs);
    if ((wrefs >> 3) == 0) continue;
    bool seen = false;
    for (pthread_cond_t* c : out) seen = seen || c == cond;
    if (!seen) out.push_back(cond);
  }
  closedir(tasks);
  return out;
}

// ResetCondvars gives each condvar a fresh state (no waiters), in a copy that has no other threads.
void ResetCondvars(const std::vector<pthread_cond_t*>& conds) {
  for (pthread_cond_t* c : conds) pthread_cond_init(c, nullptr);
}

// ForkShim forks this (warm, idle) shim so that the copy can serve a new sandbox while sharing,
// copy-on-write, every page the two do not change. The copy is detached the way a daemon is (a
// new session, then a second fork whose middle process exits at once), so it is nobody's child to
// reap, and its libuv loop is re-created (uv_loop_fork: a new epoll set, signal pipe and async
// handles). Returns {pid, child}: the copy's pid, and whether this is the copy.
//
// Only a process started with V8's --single-threaded may call it: the copy has one thread, so V8
// must hand no work to the platform's worker threads, which are gone (the little it still posts,
// a job per full GC, the main thread runs itself when it joins the job; the posted task waits in
// the queue forever). Condvars the missing threads waited on are reset (GhostCondvars). The copy
// must leave with ExitNow: Node's normal exit waits for the worker threads.
Napi::Value ForkShim(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ThrowErrno(env, EINVAL, "fork", "no event loop");
    return env.Undefined();
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    ThrowErrno(env, errno, "pipe2");
    return env.Undefined();
  }
  InheritAllMappings();
  std::vector<pthread_cond_t*> ghosts = GhostCondvars();
  pid_t middle = fork();
  if (middle < 0) {
    int err = errno;
    close(pipefd[0]);
    close(pipefd[1]);
    ThrowErrno(env, err, "fork");
    return env.Undefined();
  }
  if (middle == 0) {
    close(pipefd[0]);
    setsid();
    pid_t copy = fork();
    if (copy != 0) {
      // The middle process: report the copy's pid (or -errno) and leave without running any of
      // Node's exit code.
      int32_t report = copy > 0 ? copy : -errno;
      ssize_t n = write(pipefd[1], &report, sizeof report);
      _exit(n == sizeof report ? 0 : 1);
    }
    close(pipefd[1]);
    ResetCondvars(ghosts);
    int rc = uv_loop_fork(loop);
    if (rc != 0) {
      fprintf(stderr, "uv_loop_fork: %s\n", uv_strerror(rc));
      _exit(1);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("pid", Napi::Number::New(env, getpid()));
    out.Set("child", Napi::Boolean::New(env, true));
    return out;
  }
  close(pipefd[1]);
  int32_t report = 0;
  ssize_t n;
  do {
    n = read(pipefd[0], &report, sizeof report);
  } while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  int status;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof report || report <= 0) {
    ThrowErrno(env, n == sizeof report ? -report : EPIPE, "fork", "second fork");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, report));
  out.Set("child", Napi::Boolean::New(env, false));
  return out;
}

// ExitNow ends the process at once with code (_exit): no exit handlers, no platform shutdown.
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  _exit(code);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("socketPair", Napi::Function::New(env, SocketPair));
  exports.Set("sendFrame", Napi::Function::New(env, SendFrame));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
  exports.Set("reclaimMemory", Napi::Function::New(env, ReclaimMemory));
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix));
  exports.Set("forkShim", Napi::Function::New(env, ForkShim));
  exports.Set("exitNow", Napi::Function::New(env, ExitNow));
  return exports;
}

}  // namespace

NODE_API_MODULE(runsc_ts_native, Init)
