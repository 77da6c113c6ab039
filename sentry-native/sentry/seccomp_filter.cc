// The container's seccomp filter built with libseccomp (see seccomp_filter.h).
#include "seccomp_filter.h"

#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include <set>
#include <vector>

#include "sys.h"

namespace seccomp_filter {
namespace {

// Filter owns a libseccomp context.
class Filter {
 public:
  explicit Filter(uint32_t default_action) : ctx_(seccomp_init(default_action)) {}
  ~Filter() {
    if (ctx_) seccomp_release(ctx_);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

std::string RcText(int rc) { return sys::ErrnoText(-rc); }

bool AddRule(scmp_filter_ctx ctx, const msg::SeccompRule& rule, int nr, const std::string& name,
             std::string* err) {
  std::vector<scmp_arg_cmp> cmps;
  std::set<uint32_t> indexes;
  bool repeated_index = false;
  for (const msg::SeccompArg& a : rule.args) {
    if (a.op < SCMP_CMP_NE || a.op > SCMP_CMP_MASKED_EQ) {
      *err = "syscall " + name + ": invalid comparison operator " + std::to_string(a.op);
      return false;
    }
    scmp_arg_cmp c = {a.index, static_cast<scmp_compare>(a.op), a.value, a.value_two};
    cmps.push_back(c);
    repeated_index = repeated_index || !indexes.insert(a.index).second;
  }
  int rc;
  if (repeated_index) {
    // libseccomp refuses two comparisons of one argument in a rule: add one rule per
    // comparison, as runc does.
    for (const scmp_arg_cmp& c : cmps) {
      rc = seccomp_rule_add_array(ctx, rule.action, nr, 1, &c);
      if (rc < 0) {
        *err = "adding rule for syscall " + name + ": " + RcText(rc);
        return false;
      }
    }
    return true;
  }
  rc = seccomp_rule_add_array(ctx, rule.action, nr, static_cast<unsigned int>(cmps.size()),
                              cmps.empty() ? nullptr : cmps.data());
  if (rc < 0) {
    *err = "adding rule for syscall " + name + ": " + RcText(rc);
    return false;
  }
  return true;
}

// StraceSet is the syscalls strace follows: all, or those named (unknown names are errors).
struct StraceSet {
  bool on = false;
  bool all = false;
  std::set<int> nrs;
  bool Has(int nr) const { return on && (all || nrs.count(nr)); }
};

bool ResolveStrace(const msg::Seccomp& sc, StraceSet* out, std::string* err) {
  out->on = sc.strace;
  out->all = sc.strace_syscalls.empty();
  if (!sc.strace) return true;
  for (const std::string& name : sc.strace_syscalls) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR || nr < 0) {
      *err = "strace-syscalls: unknown syscall \"" + name + "\"";
      return false;
    }
    out->nrs.insert(nr);
  }
  return true;
}

}  // namespace

bool TrapsNotify(const msg::Seccomp& sc) { return sc.platform == msg::kPlatformUnotify && !sc.strace; }

std::string SyscallName(uint32_t arch, long nr) {
  char* resolved = seccomp_syscall_resolve_num_arch(arch, static_cast<int>(nr));
  std::string name = resolved ? resolved : "";
  free(resolved);
  return name;
}

bool Install(const msg::ContainerSpec& spec, int* listener, std::string* err) {
  *listener = -1;
  const msg::Seccomp& sc = spec.seccomp;
  if (!spec.has_seccomp && sc.traps.empty() && !sc.strace) return true;
  StraceSet strace;
  if (!ResolveStrace(sc, &strace, err)) return false;
  const uint32_t trace_act = SCMP_ACT_TRACE(kStraceData);
  const bool notify = TrapsNotify(sc);
  const uint32_t trap_act = notify ? SCMP_ACT_NOTIFY : SCMP_ACT_TRACE(kTrapData);
  uint32_t default_action = spec.has_seccomp ? sc.default_action : SCMP_ACT_ALLOW;
  // A Seccomp message that carries only traps (no OCI profile) leaves default_action at its
  // proto3 zero, which is SCMP_ACT_KILL_THREAD: a filter killing every call is never meant.
  if (spec.has_seccomp && default_action == SCMP_ACT_KILL_THREAD && sc.rules.empty()) default_action = SCMP_ACT_ALLOW;
  // strace of every call: what the profile lets run by default is traced instead.
  uint32_t filter_default = strace.on && strace.all && default_action == SCMP_ACT_ALLOW ? trace_act : default_action;
  Filter filter(filter_default);
  if (!filter.get()) {
    *err = "invalid default action " + std::to_string(default_action);
    return false;
  }
  scmp_filter_ctx ctx = filter.get();
  // no_new_privs is the process spec's business, not libseccomp's.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) {
    *err = "seccomp_attr_set: " + RcText(rc);
    return false;
  }
  for (const std::string& arch : sc.architectures) {
    uint32_t token = seccomp_arch_resolve_name(arch.c_str());
    if (token == 0) {
      *err = "unknown architecture " + arch;
      return false;
    }
    rc = seccomp_arch_add(ctx, token);
    if (rc < 0 && rc != -EEXIST) {
      *err = "adding architecture " + arch + ": " + RcText(rc);
      return false;
    }
  }
  // A trapped syscall is decided by the sentry only: OCI rules for it are left out.
  std::set<int> trapped;
  for (const msg::Trap& t : sc.traps) {
    int nr = seccomp_syscall_resolve_name(t.name.c_str());
    if (nr != __NR_SCMP_ERROR) trapped.insert(nr);
  }
  // Under strace a rule that allows a call traces it instead; calls the profile denies are
  // left to the profile (never traced, as the filter decides them without the sentry).
  std::set<int> named;
  for (const msg::SeccompRule& rule : sc.rules) {
    for (const std::string& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: skipped, as runc does
      named.insert(nr);
      if (trapped.count(nr)) continue;
      uint32_t act = rule.action == SCMP_ACT_ALLOW && strace.Has(nr) ? trace_act : rule.action;
      if (act == filter_default) continue;
      if (act == rule.action) {
        if (!AddRule(ctx, rule, nr, name, err)) return false;
      } else {
        msg::SeccompRule traced = rule;
        traced.action = act;
        if (!AddRule(ctx, traced, nr, name, err)) return false;
      }
    }
  }
  // strace of some calls under an allowing default: those the profile does not name are traced
  // (one it names with conditions keeps the profile's rules; only its allowing ones trace).
  if (strace.on && !strace.all && filter_default == SCMP_ACT_ALLOW) {
    for (int nr : strace.nrs) {
      if (trapped.count(nr) || named.count(nr)) continue;
      rc = seccomp_rule_add(ctx, trace_act, nr, 0);
      if (rc < 0) {
        *err = "adding strace rule for syscall " + std::to_string(nr) + ": " + RcText(rc);
        return false;
      }
    }
  }
  if (filter_default != trap_act) {
    for (int nr : trapped) {
      rc = seccomp_rule_add(ctx, trap_act, nr, 0);
      if (rc < 0) {
        char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        *err = std::string("adding trap for syscall ") + (name ? name : std::to_string(nr).c_str()) + ": " + RcText(rc);
        free(name);
        return false;
      }
    }
  }
  // With a notify rule libseccomp loads the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER (no
  // TSYNC: the child is single-threaded) and keeps the listener fd for seccomp_notify_fd.
  rc = seccomp_load(ctx);
  if (rc < 0) {
    *err = RcText(rc);
    return false;
  }
  if (notify && !trapped.empty()) {
    rc = seccomp_notify_fd(ctx);
    if (rc < 0) {
      *err = "the filter's notification listener: " + RcText(rc);
      return false;
    }
    *listener = rc;
  }
  return true;
}

}  // namespace seccomp_filter
