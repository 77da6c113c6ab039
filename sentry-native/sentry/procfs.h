// procfs: what the sentry reads about a host pid from /proc (sandbox pid, parent, command).
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <string>

namespace procfs {

// SandboxPid is the pid in the sandbox's PID namespace, the one just below the sentry's own (the
// NSpid value at that level, whatever namespaces are nested further in); 0 if unknown.
uint32_t SandboxPid(pid_t pid);
// ParentPid is the host ppid from /proc/<pid>/stat; 0 if unknown.
pid_t ParentPid(pid_t pid);
// Comm is /proc/<pid>/comm without the newline.
std::string Comm(pid_t pid);
// StatusField reads the number of "Name:" in /proc/<pid>/status (Tgid, PPid, ...); -1 if unknown.
long StatusField(pid_t pid, const char* name);
// MountNamespace is the inode of /proc/<pid>/ns/mnt; 0 if unknown.
unsigned long MountNamespace(pid_t pid);

}  // namespace procfs
