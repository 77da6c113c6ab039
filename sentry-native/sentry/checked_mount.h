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

namespace checked_mount {

// Emulate judges and performs mount(args[0..4]) for task pid of container cid and returns the
// errno for the caller (0 = mounted). still_waiting tells whether the notification is still
// valid (SECCOMP_IOCTL_NOTIF_ID_VALID): it is asked after the caller's /proc files are opened
// and its memory read, so they belong to the task that made the call.
//
// Allowed: mounts of tmpfs, proc, sysfs, devpts and mqueue with only MS_RDONLY, MS_NOSUID,
// MS_NODEV, MS_NOEXEC, MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME (and MS_SILENT);
// MS_BIND or MS_BIND|MS_REC of a source that is not a block device. The caller needs
// CAP_SYS_ADMIN in its effective set. Everything else is EPERM.
int Emulate(const std::string& cid, pid_t pid, const uint64_t args[6], const std::function<bool()>& still_waiting);

}  // namespace checked_mount
