// The gofer's own seccomp filter: only the system calls file serving needs.
#pragma once

#include <string>

namespace gofer {

// InstallSeccomp loads the filter into the calling thread (threads started later inherit it).
// Unlisted calls kill the process; with log_only they are allowed and logged by the kernel,
// so that a missing entry shows up in the kernel log instead (--debug).
bool InstallSeccomp(bool log_only, std::string* err);

}  // namespace gofer
