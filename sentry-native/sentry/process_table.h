// ProcessTable: every traced task of the sandbox with its container and exec id, assigned by
// fork lineage (a child belongs to its parent's container), plus its ptrace-stop state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

// Task is one traced thread (tid); processes are the tasks with tid == tgid.
struct Task {
  pid_t tid = 0;
  pid_t tgid = 0;
  bool assigned = false;            // container_id/exec_id are known
  std::string container_id;
  std::string exec_id;              // of the exec'd process it descends from; "" for the init's tree
  bool awaiting_initial_stop = false;  // auto-attached, its first PTRACE_EVENT_STOP not seen yet
  bool announced = true;            // false until the parent's fork event named this task
  bool stopped = false;             // in a ptrace-stop the sentry has not resumed (held)
  int resume_signal = 0;            // signal to inject when resumed
  bool resume_listen = false;       // resume with PTRACE_LISTEN (the task is in a group-stop)
  bool interrupt_sent = false;      // PTRACE_INTERRUPT sent, stop not seen yet
  pid_t vfork_child = 0;            // set while this task waits in vfork for that child
  pid_t vfork_parent = 0;           // set while this task is a vfork child that has not exec'd
  // strace: set from a traced call's seccomp stop until its syscall-exit stop, during which the
  // task is resumed with PTRACE_SYSCALL (through fork/exec events too) instead of PTRACE_CONT.
  bool strace_pending = false;
  std::string strace_call;          // the call as logged at entry
  std::chrono::steady_clock::time_point strace_start;
  uint32_t sandbox_pid = 0;         // for strace lines; 0 until looked up
};

// ProcessTable maps tids to Tasks.
class ProcessTable {
 public:
  // Find returns the task or nullptr.
  Task* Find(pid_t tid);
  // Add inserts (or returns the existing) task for tid.
  Task& Add(pid_t tid);
  // Remove forgets tid and clears vfork links pointing at it.
  void Remove(pid_t tid);
  // TasksOf lists the tids of a container's tasks.
  std::vector<pid_t> TasksOf(const std::string& container_id) const;
  // LeadersOf lists the thread-group leaders (processes) of a container.
  std::vector<pid_t> LeadersOf(const std::string& container_id) const;
  // CountOf is the number of tasks of a container.
  size_t CountOf(const std::string& container_id) const;
  // All lists every tid.
  std::vector<pid_t> All() const;
  bool empty() const { return tasks_.empty(); }

 private:
  std::map<pid_t, Task> tasks_;
};
