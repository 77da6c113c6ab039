// The decision on a trapped system call, shared by both platforms: the ptrace platform reads the
// call at a PTRACE_EVENT_SECCOMP stop, the unotify platform from a seccomp user notification, and
// both ask the same TrapDecider (the sentry's policy, Sentry::DecideTrap).
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <functional>
#include <string>

#include "process_table.h"

// TrapVerdict is the decision on one trapped syscall.
struct TrapVerdict {
  bool allow = false;
  int error = 0;  // errno returned by a denied call
  // checked_mount: a mount(2) or umount2(2) the sentry checks and performs itself (Trap
  // decision MOUNT_CHECKED, checked_mount.h); allow is false.
  bool checked_mount = false;
};

// CheckedMounter carries out a checked mount(2) or umount2(2) (nr) of task pid of container cid
// and returns the errno for the caller; still_waiting says whether the call is still pending.
using CheckedMounter = std::function<int(const std::string& cid, pid_t pid, long nr, const uint64_t args[6],
                                         const std::function<bool()>& still_waiting)>;

// TrapDecider judges a trapped syscall of a task (name "" when this libseccomp does not know the
// number) with its six register arguments.
using TrapDecider = std::function<TrapVerdict(const Task&, const std::string& syscall, long nr, const uint64_t args[6])>;
