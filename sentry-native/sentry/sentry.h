// Sentry: the sandbox's control plane. Serves the control API, forks and sets up container
// processes, traces them (ptrace platform; trapped calls through ptrace stops or, on the unotify
// platform, seccomp user notifications), keeps the process table, and answers Waits. One thread,
// one event loop; nothing ever blocks on a child.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "cgroups.h"
#include "child_setup.h"
#include "container.h"
#include "control.h"
#include "dead_gofers.h"
#include "event_loop.h"
#include "process_table.h"
#include "spawner.h"
#include "ptrace_platform.h"
#include "status.h"
#include "unique_fd.h"
#include "unotify_platform.h"

// Sentry owns every container of one sandbox.
class Sentry {
 public:
  Sentry(std::string sandbox_id, unique_fd control, unique_fd sigchld, Spawner spawner);
  // Run serves until Shutdown or the control connection's EOF; returns the exit code.
  int Run();

 private:
  // ---- control methods (methods.cc) ----
  void Dispatch(uint32_t stream, const std::string& service, const std::string& method,
                const std::string& payload);
  void CreateContainer(uint32_t stream, const std::string& payload);
  void StartContainer(uint32_t stream, const std::string& payload);
  void Exec(uint32_t stream, const std::string& payload);
  void Signal(uint32_t stream, const std::string& payload);
  void Wait(uint32_t stream, const std::string& payload);
  void Processes(uint32_t stream, const std::string& payload);
  void ResizePty(uint32_t stream, const std::string& payload);
  void CloseStdin(uint32_t stream, const std::string& payload);
  void DestroyContainer(uint32_t stream, const std::string& payload);
  void GoferDied(uint32_t stream, const std::string& payload);
  void Pause(uint32_t stream, const std::string& payload);
  void Resume(uint32_t stream, const std::string& payload);
  void Shutdown(uint32_t stream);
  // TakeStdio pops the fds a request's Stdio declares; false (and closes them) if missing.
  bool TakeStdio(const msg::Stdio& stdio, unique_fd out[3], Status* err);
  // ChoosePidNamespace sets c's PidMode (and pid_ns when it joins one) from its spec.
  Status ChoosePidNamespace(Container* c);

  // ---- process lifecycle (lifecycle.cc) ----
  // Spawn forks a child for proc that runs RunChild; registers it in the container.
  // exec_payload is the ExecRequest of an exec (the spawner decodes it), "" for an init.
  Status Spawn(Container* c, std::unique_ptr<Proc> proc, unique_fd stdio[3], const std::string& exec_payload);
  Status TakeFuseFds(const msg::ContainerSpec& spec, std::vector<unique_fd>* out);
  Status ForkChild(Container* c, const ChildPlan& plan, const std::string& exec_payload, pid_t* pid);
  void WatchChannel(Container* c, Proc* p);
  void OnChannel(const std::string& cid, pid_t pid);
  void OnHandoff(Container* c, Proc* p, pid_t init);
  void DrainHandoffs();
  void OnReady(Container* c, Proc* p);
  bool OnListener(Container* c, Proc* p, unique_fd listener);
  void OnSetupError(Container* c, Proc* p, const Status& status);
  void OnChannelEof(Container* c, Proc* p);
  void CloseChannel(Proc* p);
  void ReplyPending(Proc* p, const Status& status, const std::string& payload);
  void FailProc(Container* c, Proc* p, const Status& status);

  // ---- tasks, exits, signals (sentry.cc) ----
  void OnSigchld();
  void DrainWaitStatuses();
  void OnExit(pid_t pid, int status);
  void PublishExit(const std::string& cid, pid_t pid);
  void KillAll(Container* c);
  void CheckFreezes();
  void CheckDestroys();
  void MaybeExit();
  bool Alive(Container* c);
  Container* FindContainer(const std::string& id);
  Container* ContainerOfTask(const Task& t);
  TrapVerdict DecideTrap(const Task& t, const std::string& name, long nr, const uint64_t args[6]);
  // CheckedMount emulates a checked mount or unmount for the container (checked_mount.h).
  int CheckedMount(const std::string& cid, pid_t pid, long nr, const uint64_t args[6],
                   const std::function<bool()>& still_waiting);
  void AssignUnknown(Task& t);
  void OnControlEof();

  std::string sandbox_id_;
  EventLoop loop_;
  std::unique_ptr<ControlConnection> control_;
  unique_fd control_fd_;
  unique_fd sigchld_;
  Spawner spawner_;  // forks the containers' processes, performs checked mounts
  ProcessTable table_;
  Tracer tracer_;
  Notifier notifier_;                // the listeners of the unotify platform
  DeadGofers dead_gofers_{&loop_};   // EIO answers for containers whose gofer died
  std::string unotify_unavailable_;  // why this kernel cannot run platform unotify ("" = it can)
  Cgroups cgroups_;  // before containers_: each Container's CgroupHold points here
  std::map<std::string, std::unique_ptr<Container>> containers_;
  bool sandbox_root_forked_ = false;  // the sandbox's PID 1 exists (or existed): later inits are not
  // Every child of ours not reaped yet (forked init/exec, intermediate, handed-over init) -> container.
  // A pid not in it was reaped: it is never signalled.
  std::map<pid_t, std::string> children_;
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> exit_deadline_;  // set when the shim is gone
  bool drain_again_ = false;
  bool shutting_down_ = false;
  bool stop_ = false;
};
