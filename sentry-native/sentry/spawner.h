// The spawner: the one unconfined part of the sentry. The sentry confines itself (its own seccomp
// filter, an empty root with only /proc and the cgroup hierarchies, a handful of capabilities;
// confine.h) and then cannot fork, enter namespaces or see the host's files, all of which a new
// container process needs before it execs. So, before it confines itself, the sentry forks the
// spawner, which keeps the sentry's original view and capabilities and does exactly two things
// on request:
//   fork   clone a child (CLONE_PARENT: a child of the sentry, which reaps and traces it as
//          before) that runs RunChild(plan) for a container init or exec'd process;
//   mount  run a checked mount's helper (checked_mount::Perform).
// The spawner made the sandbox's PID, IPC and UTS namespaces (pid_for_children: the sandbox's),
// so its clones land there while it stays outside, invisible to the containers like the sentry.
//
// Protocol: one SOCK_SEQPACKET socketpair; the sentry sends a request and waits for its reply
// (both are quick: a clone, or a mount bounded by checked_mount's helper timeout). First packet
// from the spawner: 'H' hello (with the reason if it could not make the namespaces). Requests: 'F' fork, 'M'
// mount (or unmount); replies: 'R' <int32 pid or -errno> <text> <uint64 mount id>.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "checked_mount.h"
#include "child_setup.h"
#include "result.h"
#include "status.h"
#include "unique_fd.h"

// ForkRequest is a ChildPlan in the form it crosses to the spawner: the container's Create
// request (its spec; for an init, its process too) and an exec's Exec request travel as the
// control API payloads they arrived in, so the spawner decodes them into the same structures.
struct ForkRequest {
  std::string create_payload;   // the container's CreateContainerRequest
  std::string exec_payload;     // exec: the ExecRequest ("" for an init)
  const ChildPlan* plan = nullptr;  // fds and flags (spec and process pointers are not used)
  int pid_ns = -1;                  // kOwn/kJoined exec: the PID namespace to clone into
};

// Spawner is the sentry's handle on its spawner process.
class Spawner {
 public:
  // Start forks the spawner (call it before confining the sentry, while single-threaded) and
  // waits for its hello.
  Status Start();
  // Fork has the spawner clone a child for r; its pid (in the sentry's PID namespace) or why not.
  Status Fork(const ForkRequest& r, pid_t* pid);
  // Mount has the spawner perform a judged checked mount or unmount; the errno for the caller,
  // and on success the mount's id.
  int Mount(const checked_mount::Request& r, uint64_t* mnt_id);
  // pid is the spawner's pid (0 before Start); a reaped child with it means the spawner died.
  pid_t pid() const { return pid_; }
  // SandboxPidNamespace is the sandbox's PID namespace (where the spawner's clones go), as a
  // /proc path; it exists once the sandbox's PID 1 does.
  std::string SandboxPidNamespace() const { return "/proc/" + std::to_string(pid_) + "/ns/pid_for_children"; }
  // Exited records the spawner's death (every later request fails with the reason).
  void Exited(int status);

 private:
  Status Call(const std::string& request, const std::vector<int>& fds, int32_t* value, std::string* text,
              uint64_t* extra = nullptr);

  pid_t pid_ = 0;
  unique_fd sock_;
  std::string dead_;  // why the spawner is gone ("" while it serves)
};
