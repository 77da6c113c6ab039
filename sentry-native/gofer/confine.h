// Confinement of the gofer at start-up: a private mount namespace whose root holds only the
// served paths, a raised fd limit, the minimum capabilities and no new privileges.
#pragma once

#include <string>
#include <vector>

#include "unique_fd.h"

namespace gofer {

// RaiseFdLimit raises RLIMIT_NOFILE as far as the kernel allows: every node the kernel holds
// is one O_PATH fd here, and a 50,000-entry directory listed with attributes is 50,000 nodes.
bool RaiseFdLimit(std::string* err);

// PrivateRoot is what EnterPrivateRoot leaves behind.
struct PrivateRoot {
  // roots[i] is an O_PATH fd of served path i, reopened inside the new root.
  std::vector<unique_fd> roots;
  // proc_fd is /proc/self/fd of a proc instance that is no longer mounted anywhere; the
  // gofer reopens its O_PATH fds through it (open("N") follows the fd's magic link).
  unique_fd proc_fd;
};

// EnterPrivateRoot unshares the mount namespace and pivots into a small tmpfs that holds each
// host path (bind-mounted recursively, so submounts keep working) as /0, /1, ...;
// is_dir[i] says whether path i is a directory or a regular file, read_only[i] whether its bind
// is made read-only (with everything below it).
bool EnterPrivateRoot(const std::vector<std::string>& paths, const std::vector<bool>& is_dir,
                      const std::vector<bool>& read_only, PrivateRoot* out, std::string* err);

// DropPrivileges sets no_new_privs, makes the process non-dumpable and keeps only the
// capabilities file serving needs (CAP_SYS_ADMIN only when keep_sys_admin), in every set and
// the bounding set.
bool DropPrivileges(bool keep_sys_admin, std::string* err);

}  // namespace gofer
