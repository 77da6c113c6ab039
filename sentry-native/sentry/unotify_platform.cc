// The unotify platform: seccomp user notifications received and answered with raw ioctls (see
// unotify_platform.h). The only file that speaks to a seccomp listener.
#include "unotify_platform.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <iterator>

#include "checked_mount.h"
#include "log.h"
#include "seccomp_filter.h"
#include "sys.h"

// Linux 6.6: the listener wakes the task it answers, and the task the listener, on the waker's
// CPU (WF_CURRENT_CPU), with no migration or idle CPU in between. Older headers lack them.
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

std::string Notifier::Unavailable() {
  uint32_t action = SECCOMP_RET_USER_NOTIF;
  if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
    return "this kernel has no seccomp user notification (SECCOMP_RET_USER_NOTIF: " + sys::ErrnoText(errno) + ")";
  // SECCOMP_USER_NOTIF_FLAG_CONTINUE (an allowed call runs) cannot be probed without a filter.
  struct utsname u;
  int major = 0, minor = 0;
  if (uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 && (major < 5 || (major == 5 && minor < 5)))
    return std::string("seccomp user notification needs Linux 5.5 or later (SECCOMP_USER_NOTIF_FLAG_CONTINUE); this is ") +
           u.release;
  return "";
}

Notifier::~Notifier() {
  for (auto& kv : listeners_) loop_->Remove(kv.second.watch);
}

Result<Void> Notifier::Watch(const std::string& cid, unique_fd fd) {
  if (sync_wake_up_ && ioctl(fd.get(), SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0) {
    if (errno == EINVAL) {
      sync_wake_up_ = false;  // before Linux 6.6: the ordinary wake-up, for this and every later one
      logging::Debug("unotify: no synchronous wake-up on this kernel (SECCOMP_IOCTL_NOTIF_SET_FLAGS: EINVAL)");
    } else {
      logging::Error("unotify: SECCOMP_IOCTL_NOTIF_SET_FLAGS: %s", strerror(errno));
    }
  }
  uint64_t key = next_key_++;
  auto watch = loop_->Add(fd.get(), EPOLLIN, [this, key](uint32_t events) { OnEvent(key, events); });
  if (!watch.ok()) return Result<Void>::Error(watch.error());
  Listener& l = listeners_[key];
  l.cid = cid;
  l.fd = std::move(fd);
  l.watch = watch.value();
  logging::Debug("unotify: container %s: watching listener %d (%zu open)", cid.c_str(), l.fd.get(), listeners_.size());
  return Void{};
}

void Notifier::Forget(const std::string& cid) {
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    auto next = std::next(it);
    if (it->second.cid == cid) Close(it->first);
    it = next;
  }
}

void Notifier::Close(uint64_t key) {
  auto it = listeners_.find(key);
  if (it == listeners_.end()) return;
  loop_->Remove(it->second.watch);
  logging::Debug("unotify: container %s: listener %d closed", it->second.cid.c_str(), it->second.fd.get());
  listeners_.erase(it);
}

void Notifier::OnEvent(uint64_t key, uint32_t events) {
  auto it = listeners_.find(key);
  if (it == listeners_.end()) return;
  // Readable = a notification waits: RECV then cannot block (the kernel counts one per
  // notification, and one a withdrawn notification left behind, which RECV answers with ENOENT).
  // EPOLLHUP alone = no task uses the filter any more (the last one was reaped).
  if (events & EPOLLIN) {
    Answer(key, it->second);
  } else if (events & (EPOLLHUP | EPOLLERR)) {
    Close(key);
  }
}

// Answer receives one notification and sends the decision: the call's errno, or
// SECCOMP_USER_NOTIF_FLAG_CONTINUE to let it run. Only the syscall number is judged for CONTINUE,
// never an argument, so it has no time-of-check-to-time-of-use gap. A checked mount is judged on
// its arguments, so it is never continued: the sentry performs it (checked_mount.h) and answers
// with its result.
void Notifier::Answer(uint64_t key, Listener& l) {
  struct seccomp_notif req;
  memset(&req, 0, sizeof(req));  // the kernel refuses a buffer that is not zeroed
  if (ioctl(l.fd.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
    // ENOENT: the task was interrupted by a signal (or died) after the wake-up; its call is
    // restarted with a new notification, or is gone.
    if (errno == ENOENT) logging::Debug("unotify: container %s: a notification was withdrawn", l.cid.c_str());
    if (errno == ENOENT || errno == EINTR) return;
    logging::Error("unotify: container %s: SECCOMP_IOCTL_NOTIF_RECV: %s; closing the listener (trapped calls now fail "
                   "with ENOSYS)", l.cid.c_str(), strerror(errno));
    return Close(key);
  }
  // req.pid is the task's pid in the receiver's (our) PID namespace: the host pid the process
  // table uses, whatever namespace the container nests. Every descendant of the process that
  // loaded the filter belongs to the listener's container, so that is the fallback.
  Task* t = req.pid > 0 ? table_->Find(static_cast<pid_t>(req.pid)) : nullptr;
  Task stranger;
  if (!t || !t->assigned) {
    stranger.tid = stranger.tgid = static_cast<pid_t>(req.pid);
    stranger.assigned = true;
    stranger.container_id = l.cid;
    t = &stranger;
  }
  long nr = static_cast<long>(req.data.nr);
  uint64_t args[6];
  for (int i = 0; i < 6; i++) args[i] = req.data.args[i];
  TrapVerdict verdict = hooks_.decide(*t, seccomp_filter::SyscallName(req.data.arch, nr), nr, args);
  struct seccomp_notif_resp resp;
  memset(&resp, 0, sizeof(resp));
  resp.id = req.id;
  if (verdict.allow) {
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  } else if (verdict.checked_mount && req.data.arch == AUDIT_ARCH_X86_64 && (nr == SYS_mount || nr == SYS_umount2)) {
    int fd = l.fd.get();
    uint64_t id = req.id;
    int err = hooks_.checked(l.cid, static_cast<pid_t>(req.pid), nr, args,
                             [fd, &id] { return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0; });
    resp.val = 0;
    resp.error = err == 0 ? 0 : -err;
  } else {
    resp.error = -(verdict.error != 0 ? verdict.error : EPERM);
  }
  if (ioctl(l.fd.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0) return;
  if (errno == ENOENT)  // interrupted (or killed) since RECV: a restarted call comes back anew
    logging::Debug("unotify: container %s: task %u left its call before the answer", l.cid.c_str(), req.pid);
  else
    logging::Error("unotify: container %s: task %u: SECCOMP_IOCTL_NOTIF_SEND: %s", l.cid.c_str(), req.pid, strerror(errno));
}
