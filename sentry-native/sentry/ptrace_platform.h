// The ptrace platform ("filter most, trap few"): seizes container processes, follows their
// forks/clones/execs into the process table, re-injects signals, keeps group-stops with
// PTRACE_LISTEN, decides the syscalls the seccomp filter traps (PTRACE_EVENT_SECCOMP), and
// follows the calls strace logs to their syscall-exit stop (PTRACE_SYSCALL).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "process_table.h"
#include "result.h"
#include "strace.h"
#include "traps.h"

// Tracer drives every traced task from the waitpid statuses the event loop collects.
class Tracer {
 public:
  struct Hooks {
    // hold says whether a stopped task must stay stopped for now (its container is frozen).
    std::function<bool(const Task&)> hold;
    // assign_unknown gives a container to a task seen before its parent's fork event.
    std::function<void(Task&)> assign_unknown;
    // on_new_task is called when a fork/clone child has been given its container.
    std::function<void(Task&)> on_new_task;
    // on_exec is called after a task exec'd.
    std::function<void(Task&)> on_exec;
    // decide judges a trapped syscall (the unotify platform asks the same function).
    TrapDecider decide;
    // checked carries out a checked mount or unmount (the unotify platform asks the same).
    CheckedMounter checked;
    // strace gives the task's container's strace settings (nullptr when strace is off).
    std::function<const strace::Settings*(const Task&)> strace;
  };

  Tracer(ProcessTable* table, Hooks hooks) : table_(table), hooks_(std::move(hooks)) {}

  // Seize attaches to a process that is set up and blocked, with the platform's options.
  Result<Void> Seize(pid_t pid);
  // HandleStop processes one WIFSTOPPED status from waitpid.
  void HandleStop(pid_t tid, int status);
  // Forget removes an exited task from the table.
  void Forget(pid_t tid);
  // Interrupt asks a running task to enter a ptrace-stop (it is then held by hooks.hold).
  void Interrupt(Task& t);
  // Resume lets a stopped task run again with the action its stop requires.
  void Resume(Task& t);
  // MaybeResume resumes a stopped task unless it is unassigned or hooks.hold keeps it.
  void MaybeResume(Task& t);

 private:
  void OnFork(Task& parent, int event);
  void OnExec(Task& t);
  void OnSeccomp(Task& t);
  void OnSyscallExit(Task& t);
  void StraceLine(Task& t, const char* kind, const std::string& text);

  ProcessTable* table_;
  Hooks hooks_;
  // Tasks that exited before their parent's fork event was collected (waitpid may return the
  // child's exit first): the late event must not bring them back. Entries expire.
  std::map<pid_t, std::chrono::steady_clock::time_point> exited_unannounced_;
};
