// Everything that runs in a forked child before it execs the container process: namespaces,
// mounts, /dev, pivot_root, stdio or terminal, user, capabilities, seccomp, exec. Raw syscalls,
// no exceptions, every failure is reported on the setup channel and ends in _exit.
#pragma once

#include <string>
#include <vector>

#include "cgroups.h"
#include "messages.h"

// ChildPlan is what the sentry prepares before fork for RunChild.
struct ChildPlan {
  bool is_exec = false;                    // false: container init; true: exec into a container
  const msg::ContainerSpec* spec = nullptr;  // the container's spec (mounts for init; seccomp for both)
  const msg::Process* process = nullptr;
  const std::vector<CgroupLeaf>* cgroups = nullptr;  // the cgroup directories to join
  bool new_pid_ns = false;                 // init: make the container's own PID namespace first
  int channel = -1;                        // child end of the setup channel
  int stdio[3] = {-1, -1, -1};             // passed stdio fds, -1 = absent
  int mnt_ns = -1;                         // exec: the container's mount namespace
  int net_ns = -1;                         // exec: the container's network namespace
  std::vector<int> fuse_fds;               // init: /dev/fuse fds, root's first (ContainerSpec.root_fuse)
};

// RunChild sets the child up and execs the process; it never returns.
[[noreturn]] void RunChild(const ChildPlan& plan);
