// strace: the text of one system call for the sentry's log (name, decoded arguments read from
// the tracee, result with its errno name). Formatting only; the tracer decides when to log.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <set>
#include <string>

namespace strace {

// kDefaultLogSize is how many bytes of a string or buffer argument are printed by default.
constexpr uint32_t kDefaultLogSize = 64;

// Settings is a container's strace configuration (control.proto Seccomp.strace*).
struct Settings {
  bool on = false;
  std::set<std::string> names;  // empty = every call
  uint32_t log_size = kDefaultLogSize;
  // Follows says whether a call of that name is logged.
  bool Follows(const std::string& name) const { return on && (names.empty() || names.count(name) > 0); }
};

// FormatCall renders "name(arg, ...)": path arguments and write's buffer read from tid's memory
// (quoted, cut at log_size), small integers in decimal, anything else in hex.
std::string FormatCall(pid_t tid, const std::string& name, long nr, const uint64_t args[6], uint32_t log_size);

// ReadMemory copies up to len bytes at addr from tid's memory, page by page (a fault ends the
// copy; a string may end right before an unmapped page); stop_at_nul ends it at the first NUL,
// which is not included. complete: the copy got all len bytes, or (stop_at_nul) found the NUL.
std::string ReadMemory(pid_t tid, uint64_t addr, size_t len, bool stop_at_nul, bool* complete);

// FormatResult renders a return value: "3", or "-1 ENOENT (No such file or directory)".
std::string FormatResult(int64_t rval, bool is_error);

}  // namespace strace
