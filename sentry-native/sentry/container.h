// Container and Proc: the sentry's records of a container and of its registered processes
// (the init and every exec'd process), with the lifecycle phase each one is in.
#pragma once

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <deque>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "cgroups.h"
#include "messages.h"
#include "strace.h"
#include "tty.h"
#include "unique_fd.h"

// Proc is a container's init or an exec'd process, from fork to its published exit.
struct Proc {
  // Phase is where the process is in its setup:
  //   kSetup    forked, setting up, no answer yet
  //   kCreated  init only: set up and traced, waiting for StartContainer
  //   kStarting start byte sent, waiting for exec to succeed (channel EOF) or fail ('E')
  //   kRunning  exec'd
  // Exit is tracked separately (exited / exit_published) because it can happen in any phase.
  enum class Phase { kSetup, kCreated, kStarting, kRunning };

  pid_t pid = 0;                  // host pid; while awaiting_handoff, the intermediate's
  uint32_t sandbox_pid = 0;
  bool is_init = false;
  // The init of a container with its own PID namespace is cloned by an intermediate child, which
  // names it on the setup channel ('P') and exits; until then the record is keyed by the
  // intermediate's pid.
  bool awaiting_handoff = false;
  std::string exec_id;
  msg::Process spec;
  Phase phase = Phase::kSetup;

  unique_fd channel;              // setup channel, until exec or failure
  uint64_t channel_watch = 0;
  bool has_pending = false;       // a Create/Start/Exec reply waits on this process
  uint32_t pending_stream = 0;

  unique_fd tty_in, tty_out;      // terminal: the passed stdio, until the master arrives
  std::unique_ptr<Tty> tty;

  bool exited = false;
  int exit_status = 0;
  struct timespec exited_at = {};
  bool exit_published = false;    // Waits are answered (after the terminal output is drained)
  std::vector<uint32_t> waiters;  // Wait streams
};

// PendingSignal is a Signal{ALL} (not SIGKILL) waiting for its container to be frozen.
struct PendingSignal {
  int signal = 0;
  uint32_t stream = 0;
};

// Container is one container of the sandbox.
struct Container {
  // PidMode is the PID namespace the container's processes live in:
  //   kSandboxRoot  the sandbox's own; the init is its PID 1 (the first container, a pod's pause)
  //   kSandbox      the sandbox's own, next pids (no "pid" entry, or its path names the sandbox's)
  //   kOwn          a new one nested in the sandbox's; the init is its PID 1 ("pid" without path)
  //   kJoined       an existing one nested in the sandbox's ("pid" path naming another container's)
  enum class PidMode { kSandboxRoot, kSandbox, kOwn, kJoined };

  // First member, so destroyed last: the directories go once the namespace fds below are closed.
  CgroupHold cgroups;                            // the directories made for it; released with it
  std::string id;
  msg::ContainerSpec spec;
  std::string create_payload;              // the CreateContainerRequest, for the spawner
  std::map<std::string, msg::Trap> traps;  // by syscall name
  std::set<uint64_t> checked_mounts;       // ids of the mounts it made through checked mounts
  strace::Settings strace;                 // from spec.seccomp
  pid_t init_pid = 0;
  std::map<pid_t, std::unique_ptr<Proc>> procs;  // registered processes by host pid
  unique_fd mnt_ns, net_ns;                      // the init's namespaces, for Exec
  std::vector<unique_fd> fuse_fds;               // its FUSE connections, for answering if its gofer dies
  unsigned long mnt_ns_inode = 0;                // identifies the container's tasks
  PidMode pid_mode = PidMode::kSandbox;
  unique_fd pid_ns;                              // kOwn / kJoined: the namespace to fork into
  std::vector<CgroupLeaf> cgroup_leaves;         // what every process of the container joins

  bool kill_newcomers = false;    // SIGKILL-all in effect: new tasks are killed on arrival
  bool freezing = false;          // every task is being held stopped for a Signal{ALL}
  std::deque<PendingSignal> pending_signals;
  bool paused = false;            // Pause in effect: every task is held stopped until Resume
  std::vector<uint32_t> pause_waiters;  // Pause streams answered once every task is held
  bool destroying = false;
  std::vector<uint32_t> destroy_waiters;

  // Init returns the init's Proc (nullptr before it is forked).
  Proc* Init() {
    auto it = procs.find(init_pid);
    return it == procs.end() ? nullptr : it->second.get();
  }
  // FindProc returns a registered process (pid 0 = the init) or nullptr.
  Proc* FindProc(pid_t pid) {
    auto it = procs.find(pid == 0 ? init_pid : pid);
    return it == procs.end() ? nullptr : it->second.get();
  }
};
