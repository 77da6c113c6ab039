// procfs: what the sentry reads from /proc: about a host pid (sandbox pid, parent, command) and
// its own mount table.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <string>
#include <vector>

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

// MountInfo is one line of /proc/self/mountinfo (paths left escaped as the kernel writes them).
struct MountInfo {
  std::string mount_point;
  std::string fstype;    // empty if the line has no "- fstype" part
  std::string optional;  // optional fields, each followed by a space, e.g. "shared:5 master:1 "
};

// ReadMountInfo parses /proc/self/mountinfo, skipping lines with fewer than seven fields; empty
// if it cannot be read (no error is raised: it also runs in forked children before exec).
std::vector<MountInfo> ReadMountInfo();

}  // namespace procfs
