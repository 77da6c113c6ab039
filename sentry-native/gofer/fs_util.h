// Host-side helpers of the operations: names, reopening O_PATH fds, ownership of new objects,
// device numbers. Every name is one component resolved relative to a node's fd.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string_view>

#include "node_table.h"
#include "result.h"
#include "unique_fd.h"

namespace gofer {

// ValidName says whether name is one path component the gofer may resolve: not empty, not
// "." or "..", no '/'. The kernel never sends others; this guards against that changing.
bool ValidName(std::string_view name);

// FdName writes fd's decimal number to out (the name of its magic link under proc_fd).
void FdName(int fd, char out[16]);

// StatFd stats what an fd (O_PATH included) refers to, without following a symlink.
Result<struct stat> StatFd(int fd);

// Reopen opens node n with flags: a directory through openat(fd, "."), anything else through
// proc_fd's magic link of its O_PATH fd (the inode itself, whatever its current name).
Result<unique_fd> Reopen(int proc_fd, const Node& n, int flags);

// OpenChild opens name in dir as O_PATH without following a symlink.
Result<unique_fd> OpenChild(int dir_fd, const char* name);

// Chmod sets fd's permission bits (fd may be O_PATH).
int Chmod(int proc_fd, int fd, mode_t mode);

// SetOwner gives a new object (fd, which may be O_PATH; st its attributes right after
// creation by the gofer) the caller's uid, and the caller's gid unless the parent directory
// is set-group-ID (then the object keeps the directory's group, as the kernel does). chown
// clears S_ISUID/S_ISGID of non-directories, so those bits are put back. Returns 0 or errno.
int SetOwner(int proc_fd, int fd, const struct stat& st, int parent_fd, uid_t uid, gid_t gid);

// KillSuidgid clears S_ISUID, and S_ISGID if the group may execute, as the kernel does when an
// unprivileged caller writes or truncates (fd may be O_PATH). Returns 0 or errno.
int KillSuidgid(int proc_fd, int fd);

// DecodeDev turns the protocol's 32-bit device number into a dev_t.
dev_t DecodeDev(uint32_t rdev);

}  // namespace gofer
