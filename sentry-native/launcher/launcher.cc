// containerd-shim-runsc-ts-v1: the entry containerd executes. `start` and `delete` sit on every
// container's critical path, so Node's start-up must not: `delete` (cleanup after a task's
// connection closed) is done here, and `start` is handed to the warm shim process (the
// "zygote", Node with the shim loaded) over a unix socket. Without a zygote, and for every
// other invocation, it execs the TypeScript shim.
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#ifndef RUNSC_TS_NODE
#define RUNSC_TS_NODE "/usr/bin/node"
#endif

namespace {

const char kSocketDir[] = "/run/containerd/s";

// Fnv1a64 must match zygotePath() in shim/bootstrap/zygote.ts.
uint64_t Fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool ReadBlock(int fd, std::string* out) {
  unsigned char len[4];
  if (!ReadAll(fd, reinterpret_cast<char*>(len), 4)) return false;
  uint32_t n = (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) | (uint32_t{len[2]} << 8) | len[3];
  if (n > (16u << 20)) return false;
  out->resize(n);
  return n == 0 || ReadAll(fd, &(*out)[0], n);
}

// Flags is what the launcher reads of containerd's command line.
struct Flags {
  std::string action;
  std::string address;
  std::string bundle;
};

// The action word is the first argument that is neither a flag nor a flag's value.
Flags Parse(int argc, char** argv) {
  Flags f;
  static const char* const kValued[] = {"namespace", "id", "address", "publish-binary", "bundle", "socket"};
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a.size() < 2 || a[0] != '-') {
      if (f.action.empty()) f.action = a;
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    size_t eq = name.find('=');
    std::string value;
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    bool valued = false;
    for (const char* v : kValued) valued = valued || name == v;
    if (valued && !inline_value && i + 1 < argc) value = argv[++i];
    if (name == "address") f.address = value;
    if (name == "bundle") f.bundle = value;
  }
  return f;
}

std::string ReadFile(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// Serving tells whether a shim still accepts connections on the unix socket at path.
bool Serving(const std::string& path) {
  struct sockaddr_un sa = {};
  if (path.empty() || path.size() >= sizeof sa.sun_path) return false;
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  int r = connect(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa);
  bool alive = r == 0 || errno == EAGAIN || errno == EINPROGRESS;  // a full backlog is a live shim
  close(fd);
  return alive;
}

// RemoveCgroup removes the container's cgroup (the path the shim wrote to <bundle>/cgroup) from
// every cgroup hierarchy. Its processes are dying with the sentry, so EBUSY is retried a while.
void RemoveCgroup(const std::string& rel) {
  if (rel.empty() || rel[0] != '/' || rel == "/" || rel.find("..") != std::string::npos) return;
  std::string info = ReadFile("/proc/self/mountinfo");
  size_t pos = 0;
  while (pos < info.size()) {
    size_t nl = info.find('\n', pos);
    std::string line = info.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? info.size() : nl + 1;
    size_t sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::string post = line.substr(sep + 3);
    if (post.compare(0, 7, "cgroup ") != 0 && post.compare(0, 8, "cgroup2 ") != 0) continue;
    // The mount point is the fifth field before the separator.
    size_t start = 0;
    for (int field = 0; field < 4; field++) start = line.find(' ', start) + 1;
    std::string dir = line.substr(start, line.find(' ', start) - start) + rel;
    for (int attempt = 0; attempt < 40 && rmdir(dir.c_str()) < 0 && errno == EBUSY; attempt++) usleep(25000);
  }
}

void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Delete is the `delete` action: containerd runs it after every task connection closes. With
// the shim gone, its sentry died with it (PDEATHSIG) and took every container process along
// (PTRACE_O_EXITKILL); what is left on the host is the rootfs mount and the socket. A live shim
// still serves other containers of its sandbox and cleans up after its own Delete. Prints a
// containerd.task.v2.DeleteResponse {1: pid, 2: exit_status 137, 3: exited_at now}.
int Delete(const Flags& f) {
  std::string bundle = f.bundle;
  if (bundle.empty()) {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return 1;
    bundle = cwd;
  }
  unsigned long pid = strtoul(ReadFile(bundle + "/init.pid").c_str(), nullptr, 10);
  std::string address = ReadFile(bundle + "/address");
  while (!address.empty() && (address.back() == '\n' || address.back() == ' ')) address.pop_back();
  std::string sock = address.compare(0, 7, "unix://") == 0 ? address.substr(7) : address;
  if (!Serving(sock)) {
    std::string rootfs = bundle + "/rootfs";
    int e = 0;  // unmount every layer stacked there; EINVAL: not a mount point (any more)
    for (int i = 0; i < 16 && e == 0; i++) e = umount2(rootfs.c_str(), MNT_DETACH) == 0 ? 0 : errno;
    if (e != EINVAL && e != ENOENT) {
      fprintf(stderr, "unmounting %s: %s\n", rootfs.c_str(), strerror(e));
      return 1;
    }
    std::string cgroup = ReadFile(bundle + "/cgroup");
    RemoveCgroup(cgroup);
    if (!sock.empty() && unlink(sock.c_str()) < 0 && errno != ENOENT) {
      fprintf(stderr, "removing %s: %s\n", sock.c_str(), strerror(errno));
      return 1;
    }
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string ts, out;
  ts.push_back(0x08);
  Varint(&ts, static_cast<uint64_t>(now.tv_sec));
  ts.push_back(0x10);
  Varint(&ts, static_cast<uint64_t>(now.tv_nsec));
  if (pid > 0) {
    out.push_back(0x08);
    Varint(&out, pid);
  }
  out.push_back(0x10);
  Varint(&out, 137);
  out.push_back(0x1a);
  Varint(&out, ts.size());
  out += ts;
  return WriteAll(1, out.data(), out.size()) ? 0 : 1;
}

// kZygoteSlots must match ZYGOTE_SLOTS in shim/bootstrap/zygote-path.ts.
const int kZygoteSlots = 1;

// TryZygote returns the exit code the zygote in slot reports, or -1 when it did not handle the call.
int TryZygote(int argc, char** argv, const std::string& address, int slot) {
  char path[sizeof(sockaddr_un::sun_path)];
  int n = snprintf(path, sizeof path, "%s/runsc-ts-zygote-%016llx-%d", kSocketDir,
                   static_cast<unsigned long long>(Fnv1a64(address)), slot);
  if (n < 0 || static_cast<size_t>(n) >= sizeof path) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, static_cast<size_t>(n) + 1);
  struct timeval tv = {30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof sa) < 0) {
    close(fd);
    return -1;
  }
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) {
    close(fd);
    return -1;
  }
  std::string req = "{\"cwd\":" + JsonString(cwd) + ",\"argv\":[";
  for (int i = 1; i < argc; i++) req += (i > 1 ? "," : "") + JsonString(argv[i]);
  req += "]}";
  uint32_t len = static_cast<uint32_t>(req.size());
  char hdr[4] = {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
                 static_cast<char>(len)};
  char kind = 0;
  std::string out, err;
  char code = 0;
  bool ok = WriteAll(fd, hdr, 4) && WriteAll(fd, req.data(), req.size()) && ReadAll(fd, &kind, 1) && kind == 'R' &&
            ReadBlock(fd, &out) && ReadBlock(fd, &err) && ReadAll(fd, &code, 1);
  close(fd);
  if (!ok) return -1;  // not handled: start and delete are safe to run again cold
  if (!WriteAll(1, out.data(), out.size()) || !WriteAll(2, err.data(), err.size())) return 1;
  return static_cast<unsigned char>(code);
}

// MainScript is the compiled shim entry, <root>/js/shim/main.js beside <root>/bin/ (this file).
std::string MainScript() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  self[n] = 0;
  std::string dir(self);
  dir = dir.substr(0, dir.find_last_of('/'));
  dir = dir.substr(0, dir.find_last_of('/'));
  return dir + "/js/shim/main.js";
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = Parse(argc, argv);
  if (f.action == "delete") return Delete(f);
  if (f.action == "start" && !f.address.empty() && !getenv("RUNSC_TS_NO_ZYGOTE")) {
    for (int slot = 0; slot < kZygoteSlots; slot++) {
      int code = TryZygote(argc, argv, f.address, slot);
      if (code >= 0) return code;
    }
  }
  std::string script = MainScript();
  std::vector<char*> args;
  // argv[0] names the shim, so ps shows containerd-shim-runsc-ts-v1 rather than node.
  args.push_back(const_cast<char*>("containerd-shim-runsc-ts-v1"));
  args.push_back(const_cast<char*>(script.c_str()));
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(RUNSC_TS_NODE, args.data());
  fprintf(stderr, "containerd-shim-runsc-ts-v1: exec %s: %s\n", RUNSC_TS_NODE, strerror(errno));
  return 1;
}
