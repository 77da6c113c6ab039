// The decision on a trapped system call, shared by both platforms: the ptrace platform reads the
// call at a PTRACE_EVENT_SECCOMP stop, the unotify platform from a seccomp user notification, and
// both ask the same TrapDecider (the sentry's policy, Sentry::DecideTrap).
#pragma once

#include <functional>
#include <string>

#include "process_table.h"

// TrapVerdict is the decision on one trapped syscall.
struct TrapVerdict {
  bool allow = false;
  int error = 0;  // errno returned by a denied call
  // checked_mount: a mount(2) the unotify platform checks and performs itself (Trap decision
  // MOUNT_CHECKED); allow is false and error the errno of a platform that cannot (ptrace).
  bool checked_mount = false;
};

// TrapDecider judges a trapped syscall of a task (name "" when this libseccomp does not know the
// number).
using TrapDecider = std::function<TrapVerdict(const Task&, const std::string& syscall, long nr)>;
