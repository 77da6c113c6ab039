// Checked mount(2) for a privileged container on the unotify platform (Trap decision
// MOUNT_CHECKED): the sentry reads the trapped call's arguments from the caller's memory, checks
// them against a small policy, and performs the mount itself, in a helper that enters the
// caller's namespaces and root, with the checked copies of the strings. The call is never let run
// (CONTINUE): the caller could change its strings after the check.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <functional>
#include <string>

#include "unique_fd.h"

namespace checked_mount {

// Arg is one string argument read from the caller (null: a NULL pointer).
struct Arg {
  bool null = true;
  std::string value;
  const char* c_str() const { return null ? nullptr : value.c_str(); }
};

// Request is a judged mount, ready to be performed: the caller's /proc files (opened before the
// notification was checked, so they are the caller's), its effective capabilities, and the
// checked copies of its arguments.
struct Request {
  std::string cid;
  pid_t pid = 0;
  unique_fd mnt, pid_ns, net, ipc, root, cwd;
  uint64_t caps = 0;
  unsigned long flags = 0;
  Arg source, target, fstype, data;
};

// Performer carries a judged request out and returns the errno for the caller (0 = mounted).
using Performer = std::function<int(const Request&)>;

// Emulate judges mount(args[0..4]) for task pid of container cid, has perform carry it out,
// and returns the errno for the caller (0 = mounted). still_waiting tells whether the notification is still
// valid (SECCOMP_IOCTL_NOTIF_ID_VALID): it is asked after the caller's /proc files are opened
// and its memory read, so they belong to the task that made the call.
//
// Allowed: mounts of tmpfs, proc, sysfs, devpts and mqueue with only MS_RDONLY, MS_NOSUID,
// MS_NODEV, MS_NOEXEC, MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME (and MS_SILENT);
// MS_BIND or MS_BIND|MS_REC of a source that is not a block device. The caller needs
// CAP_SYS_ADMIN in its effective set. Everything else is EPERM.
int Emulate(const std::string& cid, pid_t pid, const uint64_t args[6], const std::function<bool()>& still_waiting,
            const Performer& perform);

// Perform forks a helper into the caller's PID namespace (so a proc mount shows the caller's
// processes) that joins its other namespaces, root, working directory and capabilities and
// mounts; it waits for the helper (bounded) and returns its errno. The sentry cannot fork: the
// spawner runs this (spawner.h).
int Perform(const Request& r);

}  // namespace checked_mount
