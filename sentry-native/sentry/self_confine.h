// The sentry's confinement of itself, entered once the spawner runs (spawner.h) and before it
// serves: what a compromised sentry could reach is then its own state and nothing else.
//   - a private mount namespace whose read-only root is an empty tmpfs holding only /proc
//     (subset=pid: process directories, nothing of /proc/sys) and the host's cgroup hierarchies
//     at their usual paths (the sentry makes, freezes and removes the containers' cgroups);
//   - the capabilities it uses, no more: CAP_SYS_PTRACE (tracing, reading a caller's memory,
//     its /proc/<pid>/ns files), CAP_KILL (signals to any uid), CAP_DAC_OVERRIDE and
//     CAP_DAC_READ_SEARCH (oom_score_adj and /proc files of other uids), CAP_FOWNER;
//   - no_new_privs, not dumpable;
//   - a seccomp filter allowing the system calls it makes (self_confine.cc), killing the
//     process on any other: no fork, exec, mount, setns, unshare, module or bpf call.
#pragma once

#include "status.h"

namespace self_confine {

// Enter confines the calling (single-threaded) sentry. log_only (--seccomp-log) logs calls
// outside the filter's list to the kernel log instead of killing, to find a missing one.
Status Enter(bool log_only);

}  // namespace self_confine
