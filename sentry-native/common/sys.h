// Thin errno-returning wrappers for the host calls the sentry makes outside the forked child,
// and ErrnoText, the Go-style (lower-case) text of an errno used in every error message.
#pragma once

#include <sys/types.h>

#include <string>

#include "result.h"
#include "unique_fd.h"

namespace sys {

// ErrnoText is strerror(e) with a lower-case first letter, as Go's syscall.Errno prints it.
std::string ErrnoText(int e);

// Open opens path with flags (O_CLOEXEC is always added).
Result<unique_fd> Open(const std::string& path, int flags, mode_t mode = 0);
// ReadFile reads a whole (small) file such as /proc/<pid>/status.
Result<std::string> ReadFile(const std::string& path);
// WriteFile writes data to an existing file (O_WRONLY, no create).
Result<Void> WriteFile(const std::string& path, const std::string& data);
// SetNonBlocking sets O_NONBLOCK on fd.
Result<Void> SetNonBlocking(int fd);
// SetCloexec sets FD_CLOEXEC on fd.
Result<Void> SetCloexec(int fd);

}  // namespace sys
