// The container's seccomp filter, built with libseccomp from the OCI rules and the sandbox traps
// (SCMP_ACT_TRACE, decided by the sentry's tracer). Runs in the forked child.
#pragma once

#include <string>

#include "messages.h"

namespace seccomp_filter {

// kTrapData is the SECCOMP_RET_DATA of every trap rule.
constexpr int kTrapData = 1;
// kStraceData is the SECCOMP_RET_DATA of the rules that only send a call to strace (the call is
// let run; the sentry logs its entry and exit).
constexpr int kStraceData = 2;

// Install builds and loads the filter for spec (no-op when there is neither a Seccomp message
// nor a trap nor strace); false with *err set on failure.
bool Install(const msg::ContainerSpec& spec, std::string* err);

}  // namespace seccomp_filter
