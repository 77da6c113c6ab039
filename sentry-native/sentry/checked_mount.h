// Checked mount(2) and umount2(2) for a privileged container (Trap decision MOUNT_CHECKED), on
// both platforms: the sentry reads the trapped call's arguments from the caller's memory, checks
// them against a small policy, and has the spawner perform the call in a helper that enters the
// caller's namespaces and root, with the checked copies of the strings. The call itself is never
// let run (CONTINUE): the caller could change its strings after the check. A container may
// unmount only what it mounted this way (each mount's unique id is kept for the container).
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace checked_mount {

// Arg is one string argument read from the caller (null: a NULL pointer).
struct Arg {
  bool null = true;
  std::string value;
  const char* c_str() const { return null ? nullptr : value.c_str(); }
};

// ProcFloor is what the container's own /proc has masked and read-only (the spec's maskedPaths
// and readonlyPaths under /proc/, relative to it): a proc the container mounts gets the same.
struct ProcFloor {
  std::vector<std::string> masked, readonly;
};

// Request is a judged mount or unmount, ready to be performed: the caller's /proc files (opened
// before the notification was checked, so they are the caller's), its effective capabilities,
// and the checked copies of its arguments.
struct Request {
  std::string cid;
  pid_t pid = 0;
  unique_fd mnt, pid_ns, net, ipc, root, cwd;
  uint64_t caps = 0;
  bool unmount = false;            // umount2(target, flags); else mount(source, target, ...)
  unsigned long flags = 0;
  Arg source, target, fstype, data;
  std::vector<uint64_t> allowed;   // unmount: the ids of the container's checked mounts
  ProcFloor proc;                  // a proc mount: what to mask and make read-only in it
};

// Performer carries a judged request out and returns the errno for the caller (0 = done); on
// success *mnt_id is the unique id of the mount made or removed (0 if it could not be told).
using Performer = std::function<int(const Request&, uint64_t* mnt_id)>;

// Emulate judges mount(args[0..4]) or umount2(args[0..1]) (nr) for task pid of container cid,
// has perform carry it out, and returns the errno for the caller (0 = done). mounts holds the
// container's checked mounts: a mount adds its id, an unmount needs one and removes it.
// still_waiting tells whether the notification is still
// valid (SECCOMP_IOCTL_NOTIF_ID_VALID): it is asked after the caller's /proc files are opened
// and its memory read, so they belong to the task that made the call.
//
// Allowed: mounts of tmpfs, proc, sysfs, devpts and mqueue with only MS_RDONLY, MS_NOSUID,
// MS_NODEV, MS_NOEXEC, MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME (and MS_SILENT);
// MS_BIND or MS_BIND|MS_REC of a source that is not a block device (always cloned with what is
// mounted below it, so a bind of /proc keeps its masks). A sysfs is made read-only; a proc gets
// proc_floor before the container can see it. Unmounts: flags among
// MNT_FORCE, MNT_DETACH, UMOUNT_NOFOLLOW, of a mount the container made this way (the target's
// last component is never followed). The caller needs CAP_SYS_ADMIN in its effective set.
// Everything else is EPERM (unknown umount2 flags EINVAL, as the kernel).
int Emulate(const std::string& cid, pid_t pid, long nr, const uint64_t args[6],
            const std::function<bool()>& still_waiting, const Performer& perform, std::set<uint64_t>* mounts,
            const ProcFloor& proc_floor);

// Perform forks a helper into the caller's PID namespace (so a proc mount shows the caller's
// processes) that joins its other namespaces, root, working directory and capabilities and
// mounts; it waits for the helper (bounded) and returns its errno. The sentry cannot fork: the
// spawner runs this (spawner.h).
int Perform(const Request& r, uint64_t* mnt_id);

}  // namespace checked_mount
