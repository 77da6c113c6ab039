// strace: formatting of system calls for the log (see strace.h). Reads tracee memory with
// process_vm_readv only; never stops or resumes anything.
#include "strace.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <map>

namespace strace {
namespace {

// Shape tells how a syscall's arguments are printed: how many there are, which are paths (bit
// i = argument i), and which one is a buffer whose length is the next argument (-1: none).
struct Shape {
  int nargs;
  unsigned paths;
  int buffer;
};

const std::map<std::string, Shape>& Shapes() {
  static const std::map<std::string, Shape> shapes = {
      {"read", {3, 0, -1}}, {"write", {3, 0, 1}}, {"pread64", {4, 0, -1}}, {"pwrite64", {4, 0, 1}},
      {"open", {3, 1u << 0, -1}}, {"openat", {4, 1u << 1, -1}}, {"creat", {2, 1u << 0, -1}},
      {"close", {1, 0, -1}}, {"execve", {3, 1u << 0, -1}}, {"execveat", {5, 1u << 1, -1}},
      {"stat", {2, 1u << 0, -1}}, {"lstat", {2, 1u << 0, -1}}, {"fstat", {2, 0, -1}},
      {"newfstatat", {4, 1u << 1, -1}}, {"statx", {5, 1u << 1, -1}}, {"statfs", {2, 1u << 0, -1}},
      {"access", {2, 1u << 0, -1}}, {"faccessat", {3, 1u << 1, -1}}, {"faccessat2", {4, 1u << 1, -1}},
      {"readlink", {3, 1u << 0, -1}}, {"readlinkat", {4, 1u << 1, -1}},
      {"mkdir", {2, 1u << 0, -1}}, {"mkdirat", {3, 1u << 1, -1}}, {"rmdir", {1, 1u << 0, -1}},
      {"unlink", {1, 1u << 0, -1}}, {"unlinkat", {3, 1u << 1, -1}},
      {"rename", {2, 1u << 0 | 1u << 1, -1}}, {"renameat", {4, 1u << 1 | 1u << 3, -1}},
      {"renameat2", {5, 1u << 1 | 1u << 3, -1}}, {"chdir", {1, 1u << 0, -1}},
      {"chmod", {2, 1u << 0, -1}}, {"chown", {3, 1u << 0, -1}}, {"truncate", {2, 1u << 0, -1}},
      {"symlink", {2, 1u << 0 | 1u << 1, -1}}, {"link", {2, 1u << 0 | 1u << 1, -1}},
      {"mount", {5, 1u << 0 | 1u << 1 | 1u << 2, -1}}, {"umount2", {2, 1u << 0, -1}},
      {"dup", {1, 0, -1}}, {"dup2", {2, 0, -1}}, {"dup3", {3, 0, -1}}, {"pipe2", {2, 0, -1}},
      {"fcntl", {3, 0, -1}}, {"ioctl", {3, 0, -1}}, {"lseek", {3, 0, -1}}, {"getdents64", {3, 0, -1}},
      {"mmap", {6, 0, -1}}, {"munmap", {2, 0, -1}}, {"mprotect", {3, 0, -1}}, {"brk", {1, 0, -1}},
      {"rt_sigaction", {4, 0, -1}}, {"rt_sigprocmask", {4, 0, -1}}, {"rt_sigreturn", {0, 0, -1}},
      {"clone", {5, 0, -1}}, {"fork", {0, 0, -1}}, {"vfork", {0, 0, -1}}, {"wait4", {4, 0, -1}},
      {"exit", {1, 0, -1}}, {"exit_group", {1, 0, -1}}, {"kill", {2, 0, -1}}, {"tgkill", {3, 0, -1}},
      {"getpid", {0, 0, -1}}, {"getppid", {0, 0, -1}}, {"gettid", {0, 0, -1}}, {"getuid", {0, 0, -1}},
      {"geteuid", {0, 0, -1}}, {"getgid", {0, 0, -1}}, {"getegid", {0, 0, -1}},
      {"arch_prctl", {2, 0, -1}}, {"set_tid_address", {1, 0, -1}}, {"set_robust_list", {2, 0, -1}},
      {"rseq", {4, 0, -1}}, {"prlimit64", {4, 0, -1}}, {"getrandom", {3, 0, -1}},
      {"uname", {1, 0, -1}}, {"sysinfo", {1, 0, -1}}, {"umask", {1, 0, -1}}, {"getcwd", {2, 0, -1}},
      {"nanosleep", {2, 0, -1}}, {"clock_nanosleep", {4, 0, -1}}, {"futex", {6, 0, -1}},
      {"poll", {3, 0, -1}}, {"ppoll", {5, 0, -1}}, {"socket", {3, 0, -1}}, {"connect", {3, 0, -1}},
      {"sendto", {6, 0, 1}}, {"recvfrom", {6, 0, -1}},
  };
  return shapes;
}


std::string Quote(const std::string& s, bool truncated) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out.push_back(static_cast<char>(c));
        } else {
          char hex[8];
          snprintf(hex, sizeof(hex), "\\x%02x", c);
          out += hex;
        }
    }
  }
  out += "\"";
  if (truncated) out += "...";
  return out;
}

std::string Integer(uint64_t v) {
  int64_t s = static_cast<int64_t>(v);
  // A negative int (AT_FDCWD, pid -1) reaches the register zero-extended.
  if (v <= 0xffffffffu && static_cast<int32_t>(v) < 0 && static_cast<int32_t>(v) >= -4096) s = static_cast<int32_t>(v);
  char buf[32];
  if (s >= -4096 && s <= 0xffff) {
    snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(s));
  } else {
    snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(v));
  }
  return buf;
}

}  // namespace

std::string ReadMemory(pid_t tid, uint64_t addr, size_t len, bool stop_at_nul, bool* complete) {
  std::string out;
  *complete = false;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  while (out.size() < len) {
    uint64_t at = addr + out.size();
    size_t chunk = static_cast<size_t>(page - at % page);
    if (chunk > len - out.size()) chunk = len - out.size();
    char buf[4096 * 2];
    if (chunk > sizeof(buf)) chunk = sizeof(buf);
    struct iovec local = {buf, chunk};
    struct iovec remote = {reinterpret_cast<void*>(at), chunk};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n <= 0) return out;
    if (stop_at_nul) {
      const void* nul = memchr(buf, 0, static_cast<size_t>(n));
      if (nul) {
        out.append(buf, static_cast<const char*>(nul) - buf);
        *complete = true;
        return out;
      }
    }
    out.append(buf, static_cast<size_t>(n));
  }
  *complete = !stop_at_nul;
  return out;
}

std::string FormatCall(pid_t tid, const std::string& name, long nr, const uint64_t args[6], uint32_t log_size) {
  if (log_size == 0) log_size = kDefaultLogSize;
  Shape shape = {6, 0, -1};
  auto it = Shapes().find(name);
  if (it != Shapes().end()) shape = it->second;
  std::string out = name.empty() ? "syscall_" + std::to_string(nr) : name;
  out += "(";
  for (int i = 0; i < shape.nargs; i++) {
    if (i > 0) out += ", ";
    bool complete = false;
    if (shape.paths & (1u << i)) {
      if (args[i] == 0) {
        out += "NULL";
        continue;
      }
      std::string s = ReadMemory(tid, args[i], log_size, true, &complete);
      out += Quote(s, !complete);
    } else if (i == shape.buffer && args[i] != 0) {
      size_t len = static_cast<size_t>(args[i + 1]);
      size_t want = len < log_size ? len : log_size;
      std::string s = ReadMemory(tid, args[i], want, false, &complete);
      out += Quote(s, s.size() < len);
    } else {
      out += Integer(args[i]);
    }
  }
  out += ")";
  return out;
}

std::string FormatResult(int64_t rval, bool is_error) {
  if (!is_error) {
    char buf[32];
    if (rval >= 0 && rval <= 0xffff)
      snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(rval));
    else
      snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(rval));
    return buf;
  }
  int e = static_cast<int>(-rval);
  const char* name = nullptr;
  switch (e) {  // the kernel's restart codes, which only a tracer sees
    case 512: name = "ERESTARTSYS"; break;
    case 513: name = "ERESTARTNOINTR"; break;
    case 514: name = "ERESTARTNOHAND"; break;
    case 516: name = "ERESTART_RESTARTBLOCK"; break;
    default: name = strerrorname_np(e); break;
  }
  std::string out = "-1 " + std::string(name ? name : ("E" + std::to_string(e)).c_str());
  if (e < 512) out += std::string(" (") + strerror(e) + ")";
  return out;
}

}  // namespace strace
