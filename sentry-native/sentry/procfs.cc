// procfs: what the sentry reads about a host pid from /proc (see procfs.h).
#include "procfs.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "sys.h"

namespace procfs {

uint32_t SandboxPid(pid_t pid) {
  auto text = sys::ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!text.ok()) return 0;
  size_t at = text->find("\nNSpid:");
  if (at == std::string::npos) return 0;
  size_t eol = text->find('\n', at + 1);
  std::string line = text->substr(at + 7, eol == std::string::npos ? std::string::npos : eol - at - 7);
  size_t last = line.find_last_of(" \t");
  std::string value = last == std::string::npos ? line : line.substr(last + 1);
  return static_cast<uint32_t>(strtoul(value.c_str(), nullptr, 10));
}

pid_t ParentPid(pid_t pid) {
  auto text = sys::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok()) return 0;
  // pid (comm) state ppid ...: comm may contain spaces and parentheses, so parse after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos || close + 4 >= text->size()) return 0;
  return static_cast<pid_t>(strtol(text->c_str() + close + 4, nullptr, 10));
}

std::string Comm(pid_t pid) {
  auto text = sys::ReadFile("/proc/" + std::to_string(pid) + "/comm");
  if (!text.ok()) return "";
  std::string s = text.value();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

long StatusField(pid_t pid, const char* name) {
  auto text = sys::ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!text.ok()) return -1;
  std::string key = std::string("\n") + name + ":";
  size_t at = text->find(key);
  if (at == std::string::npos) return -1;
  return strtol(text->c_str() + at + key.size(), nullptr, 10);
}

unsigned long MountNamespace(pid_t pid) {
  struct stat st;
  if (stat(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), &st) < 0) return 0;
  return static_cast<unsigned long>(st.st_ino);
}

}  // namespace procfs
