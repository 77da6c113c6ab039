// The ptrace platform: raw ptrace calls and the handling of every kind of stop (see
// ptrace_platform.h). The only file that calls ptrace(2).
#include "ptrace_platform.h"

#include <errno.h>
#include <linux/audit.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "log.h"
#include "procfs.h"
#include "seccomp_filter.h"
#include "sys.h"

namespace {

constexpr long kOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                          PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP |
                          PTRACE_O_TRACESYSGOOD;  // syscall stops (strace only) are SIGTRAP|0x80

bool IsStopSignal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

unsigned long EventMessage(pid_t tid) {
  unsigned long msg = 0;
  if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg) < 0) return 0;
  return msg;
}

}  // namespace

Result<Void> Tracer::Seize(pid_t pid) {
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(kOptions)) < 0)
    return Result<Void>::Error(errno);
  return Void{};
}

void Tracer::HandleStop(pid_t tid, int status) {
  Task* t = table_->Find(tid);
  if (!t) {
    // A new child whose initial stop arrived before its parent's fork event.
    t = &table_->Add(tid);
    t->awaiting_initial_stop = true;
    t->announced = false;
    hooks_.assign_unknown(*t);
    if (t->assigned) hooks_.on_new_task(*t);
    logging::Debug("ptrace: task %d stopped before its parent's event (%s)", tid,
                   t->assigned ? t->container_id.c_str() : "parent unknown yet");
  }
  t->stopped = true;
  t->resume_signal = 0;
  t->resume_listen = false;
  t->interrupt_sent = false;
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  switch (event) {
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
      OnFork(*t, event);
      break;
    case PTRACE_EVENT_EXEC:
      OnExec(*t);
      break;
    case PTRACE_EVENT_SECCOMP:
      OnSeccomp(*t);
      break;
    case PTRACE_EVENT_STOP:
      if (t->awaiting_initial_stop) {
        t->awaiting_initial_stop = false;  // the auto-attach stop of a new task
      } else if (IsStopSignal(sig)) {
        t->resume_listen = true;  // group-stop: stay stopped until SIGCONT
      }  // else: a PTRACE_INTERRUPT stop
      break;
    case 0:
      if (sig == (SIGTRAP | 0x80)) {
        OnSyscallExit(*t);  // a syscall stop: never a signal to deliver
      } else {
        t->resume_signal = sig;  // signal-delivery-stop: deliver it
      }
      break;
    default:
      logging::Debug("ptrace: task %d: unexpected event %d", tid, event);
      break;
  }
  MaybeResume(*t);
}

void Tracer::OnFork(Task& parent, int event) {
  pid_t child = static_cast<pid_t>(EventMessage(parent.tid));
  if (child <= 0) return;
  Task* c = table_->Find(child);
  if (!c && exited_unannounced_.erase(child)) {
    logging::Debug("ptrace: %d: child %d already came and went", parent.tid, child);
    return;
  }
  if (c) c->announced = true;
  if (!c) {
    c = &table_->Add(child);
    c->awaiting_initial_stop = true;
  }
  if (event == PTRACE_EVENT_CLONE) {
    long tgid = procfs::StatusField(child, "Tgid");
    c->tgid = tgid > 0 ? static_cast<pid_t>(tgid) : child;
  } else {
    c->tgid = child;
  }
  if (event == PTRACE_EVENT_VFORK) {
    parent.vfork_child = child;
    c->vfork_parent = parent.tid;
  }
  if (!c->assigned && parent.assigned) {
    c->assigned = true;
    c->container_id = parent.container_id;
    c->exec_id = parent.exec_id;
    hooks_.on_new_task(*c);
    if (c->stopped) MaybeResume(*c);
  }
  logging::Debug("ptrace: %d %s %d (%s)", parent.tid,
                 event == PTRACE_EVENT_CLONE ? "cloned" : event == PTRACE_EVENT_VFORK ? "vforked" : "forked",
                 child, parent.container_id.c_str());
}

void Tracer::OnExec(Task& t) {
  pid_t former = static_cast<pid_t>(EventMessage(t.tid));
  if (former > 0 && former != t.tid) table_->Remove(former);  // a thread exec'd and took the leader's id
  if (Task* parent = table_->Find(t.vfork_parent)) {
    if (parent->vfork_child == t.tid) parent->vfork_child = 0;
  }
  t.vfork_parent = 0;
  t.sandbox_pid = 0;  // a thread that exec'd now has its leader's
  hooks_.on_exec(t);
}

void Tracer::OnSeccomp(Task& t) {
  struct __ptrace_syscall_info info;
  memset(&info, 0, sizeof(info));
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, t.tid, reinterpret_cast<void*>(sizeof(info)), &info);
  if (n < 0 || info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    logging::Error("ptrace: task %d: reading the trapped syscall: %s", t.tid, n < 0 ? strerror(errno) : "not a seccomp stop");
    return;
  }
  long nr = static_cast<long>(info.seccomp.nr);
  std::string name = seccomp_filter::SyscallName(info.arch, nr);
  const strace::Settings* st = hooks_.strace ? hooks_.strace(t) : nullptr;
  bool follow = st && st->Follows(name);
  uint64_t args[6];
  for (int i = 0; i < 6; i++) args[i] = info.seccomp.args[i];
  std::string call;
  if (follow) call = strace::FormatCall(t.tid, name, nr, args, st->log_size);
  if (info.seccomp.ret_data == seccomp_filter::kStraceData) {  // only here to be logged
    if (!follow) return;
    StraceLine(t, "E", call);
    t.strace_pending = true;
    t.strace_call = std::move(call);
    t.strace_start = std::chrono::steady_clock::now();
    return;
  }
  TrapVerdict verdict = hooks_.decide(t, name, nr, args);
  if (verdict.allow) {
    if (follow) {
      StraceLine(t, "E", call + " (trapped: allowed)");
      t.strace_pending = true;
      t.strace_call = std::move(call);
      t.strace_start = std::chrono::steady_clock::now();
    }
    return;
  }
  int error = verdict.error;
  bool checked = verdict.checked_mount && info.arch == AUDIT_ARCH_X86_64 && (nr == SYS_mount || nr == SYS_umount2);
  if (checked) {
    // The task is held in this stop until answered: what the emulation reads is its own.
    error = hooks_.checked(t.container_id, t.tid, nr, args, [] { return true; });
  }
  struct user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, t.tid, nullptr, &regs) < 0) {
    logging::Error("ptrace: task %d: PTRACE_GETREGS: %s", t.tid, strerror(errno));
    return;
  }
  regs.orig_rax = static_cast<unsigned long long>(-1LL);  // skip the call ...
  regs.rax = static_cast<unsigned long long>(-static_cast<long long>(error));  // ... and fail it (or not: checked)
  if (ptrace(PTRACE_SETREGS, t.tid, nullptr, &regs) < 0)
    logging::Error("ptrace: task %d: PTRACE_SETREGS: %s", t.tid, strerror(errno));
  if (follow)
    StraceLine(t, "X", call + " = " + strace::FormatResult(-error, error != 0) +
                           (checked ? " (trapped: checked, 0 us)" : " (trapped: denied, 0 us)"));
}

// OnSyscallExit logs the result of a call strace followed from its seccomp stop. A syscall stop
// without one pending (a new task inheriting the tracing of its parent's clone) is let go.
void Tracer::OnSyscallExit(Task& t) {
  if (!t.strace_pending) return;
  struct __ptrace_syscall_info info;
  memset(&info, 0, sizeof(info));
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, t.tid, reinterpret_cast<void*>(sizeof(info)), &info);
  if (n < 0 || info.op != PTRACE_SYSCALL_INFO_EXIT) return;  // not the exit stop yet: keep following
  t.strace_pending = false;
  long long us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t.strace_start).count();
  StraceLine(t, "X", t.strace_call + " = " + strace::FormatResult(info.exit.rval, info.exit.is_error != 0) + " (" +
                         std::to_string(us) + " us)");
  t.strace_call.clear();
}

void Tracer::StraceLine(Task& t, const char* kind, const std::string& text) {
  if (t.sandbox_pid == 0) t.sandbox_pid = procfs::SandboxPid(t.tid);
  logging::Info("strace: %s %d/%u %s %s", t.container_id.c_str(), t.tid, t.sandbox_pid, kind, text.c_str());
}

void Tracer::Forget(pid_t tid) {
  Task* t = table_->Find(tid);
  if (!t) return;
  auto now = std::chrono::steady_clock::now();
  if (!t->announced) {
    for (auto it = exited_unannounced_.begin(); it != exited_unannounced_.end();) {
      it = now - it->second > std::chrono::seconds(60) ? exited_unannounced_.erase(it) : std::next(it);
    }
    exited_unannounced_[tid] = now;
  }
  table_->Remove(tid);
}

void Tracer::Interrupt(Task& t) {
  if (t.stopped || t.interrupt_sent) return;
  if (ptrace(PTRACE_INTERRUPT, t.tid, nullptr, nullptr) < 0) {
    if (errno != ESRCH) logging::Error("ptrace: PTRACE_INTERRUPT %d: %s", t.tid, strerror(errno));
    return;
  }
  t.interrupt_sent = true;
}

void Tracer::Resume(Task& t) {
  if (!t.stopped) return;
  // A call strace follows runs on to its syscall-exit stop (PTRACE_SYSCALL), whatever stops
  // (fork, exec, interrupt) come between.
  long r = t.resume_listen ? ptrace(PTRACE_LISTEN, t.tid, nullptr, nullptr)
                           : ptrace(t.strace_pending ? PTRACE_SYSCALL : PTRACE_CONT, t.tid, nullptr,
                                    reinterpret_cast<void*>(static_cast<long>(t.resume_signal)));
  if (r < 0 && errno != ESRCH)
    logging::Error("ptrace: resuming %d: %s", t.tid, strerror(errno));
  t.stopped = false;
  t.resume_signal = 0;
  t.resume_listen = false;
}

void Tracer::MaybeResume(Task& t) {
  if (!t.stopped || !t.assigned) return;
  if (hooks_.hold && hooks_.hold(t)) return;
  Resume(t);
}
