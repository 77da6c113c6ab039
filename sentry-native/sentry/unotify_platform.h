// The unotify platform's trap path: the container's filter sends the trapped set to a seccomp
// user-notification listener (SCMP_ACT_NOTIFY) instead of a ptrace stop. Each filter load (a
// container's init, each exec'd process) makes one listener, which the set-up child passes to the
// sentry before it execs; the process's descendants inherit the filter, so one listener serves a
// whole process subtree. The sentry watches every listener in its event loop and answers each
// notification with the decision the ptrace path makes (the same TrapDecider). Processes stay
// ptrace-seized (Tracer) for everything else: process tracking, fork/exec events, pause, strace.
// A checked mount or unmount (Trap decision MOUNT_CHECKED) is answered with the result of the
// sentry's own emulation (checked_mount.h), never continued.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <map>
#include <string>

#include "event_loop.h"
#include "process_table.h"
#include "result.h"
#include "traps.h"
#include "unique_fd.h"

// Notifier answers the notifications of every listener of the sandbox.
class Notifier {
 public:
  struct Hooks {
    // decide judges a trapped syscall (the ptrace platform asks the same function).
    TrapDecider decide;
    // checked carries out a checked mount or unmount (the ptrace platform asks the same).
    CheckedMounter checked;
  };

  Notifier(EventLoop* loop, ProcessTable* table, Hooks hooks) : loop_(loop), table_(table), hooks_(std::move(hooks)) {}
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Unavailable says why this kernel cannot run the platform ("" when it can): it needs
  // SECCOMP_RET_USER_NOTIF and SECCOMP_USER_NOTIF_FLAG_CONTINUE (Linux 5.5).
  static std::string Unavailable();

  // Watch answers, from now on, the notifications of listener fd, made by a filter a process of
  // container cid loaded. The listener is closed once no task uses its filter any more (the
  // kernel reports EPOLLHUP) or at Forget.
  Result<Void> Watch(const std::string& cid, unique_fd fd);
  // Forget closes every listener of container cid (call it once its tasks are gone).
  void Forget(const std::string& cid);
  // count is the number of open listeners.
  size_t count() const { return listeners_.size(); }

 private:
  struct Listener {
    std::string cid;
    unique_fd fd;
    uint64_t watch = 0;
  };
  void OnEvent(uint64_t key, uint32_t events);
  void Answer(uint64_t key, Listener& l);
  void Close(uint64_t key);

  EventLoop* loop_;
  ProcessTable* table_;
  Hooks hooks_;
  std::map<uint64_t, Listener> listeners_;  // by key (our own numbering, not the watch id)
  uint64_t next_key_ = 1;
  bool sync_wake_up_ = true;  // false once the kernel refused SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
};
