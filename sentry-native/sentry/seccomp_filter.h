// The container's seccomp filter, built with libseccomp from the OCI rules and the sandbox traps.
// A trapped call goes to the sentry as SCMP_ACT_TRACE (platform ptrace: a PTRACE_EVENT_SECCOMP
// stop) or SCMP_ACT_NOTIFY (platform unotify: a notification on the filter's listener fd).
// Install runs in the forked child.
#pragma once

#include <stdint.h>

#include <string>

#include "messages.h"

namespace seccomp_filter {

// kTrapData is the SECCOMP_RET_DATA of every trap rule (platform ptrace).
constexpr int kTrapData = 1;
// kStraceData is the SECCOMP_RET_DATA of the rules that only send a call to strace (the call is
// let run; the sentry logs its entry and exit).
constexpr int kStraceData = 2;

// TrapsNotify says whether the filter for sc sends trapped calls to a listener: platform unotify
// without strace (strace follows calls through ptrace stops, so under strace the traps stay on
// the ptrace path and are logged like every other call).
bool TrapsNotify(const msg::Seccomp& sc);

// Install builds and loads the filter for spec (no-op when there is neither a Seccomp message
// nor a trap nor strace); false with *err set on failure. When the trapped calls go to a listener
// (TrapsNotify, and there is a trap), *listener is its fd (CLOEXEC), else -1.
bool Install(const msg::ContainerSpec& spec, int* listener, std::string* err);

// SyscallName is the name of syscall nr of arch (an AUDIT_ARCH_* value), "" when this libseccomp
// does not know it.
std::string SyscallName(uint32_t arch, long nr);

}  // namespace seccomp_filter
