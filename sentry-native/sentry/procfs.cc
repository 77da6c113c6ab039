// procfs: what the sentry reads from /proc (see procfs.h).
#include "procfs.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <vector>

#include "sys.h"

namespace procfs {

namespace {

// NSpidValues lists the NSpid line of /proc/<who>/status: the pid in each PID namespace from
// that of our /proc down to the task's own.
std::vector<uint32_t> NSpidValues(const std::string& who) {
  std::vector<uint32_t> out;
  auto text = sys::ReadFile("/proc/" + who + "/status");
  if (!text.ok()) return out;
  size_t at = text->find("\nNSpid:");
  if (at == std::string::npos) return out;
  const char* p = text->c_str() + at + 7;
  for (;;) {
    char* end;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p) break;
    out.push_back(static_cast<uint32_t>(v));
    if (*end == '\n' || *end == '\0') break;
    p = end;
  }
  return out;
}

}  // namespace

uint32_t SandboxPid(pid_t pid) {
  // The sentry's own NSpid has one value per level down to its namespace; the sandbox's is next.
  static const size_t level = NSpidValues("self").size();
  std::vector<uint32_t> values = NSpidValues(std::to_string(pid));
  return level > 0 && values.size() > level ? values[level] : 0;
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

std::vector<MountInfo> ReadMountInfo() {
  std::vector<MountInfo> out;
  auto text = sys::ReadFile("/proc/self/mountinfo");
  if (!text.ok()) return out;
  size_t pos = 0;
  const std::string& s = text.value();
  while (pos < s.size()) {
    size_t eol = s.find('\n', pos);
    if (eol == std::string::npos) eol = s.size();
    std::string line = s.substr(pos, eol - pos);
    pos = eol + 1;
    // id parent major:minor root mount_point options [optional...] - fstype source super
    std::vector<std::string> f;
    size_t i = 0;
    while (i < line.size()) {
      size_t j = line.find(' ', i);
      if (j == std::string::npos) j = line.size();
      f.push_back(line.substr(i, j - i));
      i = j + 1;
    }
    if (f.size() < 7) continue;
    MountInfo m;
    m.mount_point = f[4];
    size_t k = 6;
    for (; k < f.size() && f[k] != "-"; k++) m.optional += f[k] + " ";
    if (k + 1 < f.size()) m.fstype = f[k + 1];
    out.push_back(m);
  }
  return out;
}

}  // namespace procfs
