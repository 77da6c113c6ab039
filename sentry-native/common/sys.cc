// Thin errno-returning wrappers for host calls (see sys.h).
#include "sys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

namespace sys {

std::string ErrnoText(int e) {
  std::string s = strerror(e);
  if (!s.empty() && !(s.size() > 1 && isupper(static_cast<unsigned char>(s[1]))))
    s[0] = static_cast<char>(tolower(static_cast<unsigned char>(s[0])));
  return s;
}

Result<unique_fd> Open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Result<unique_fd>::Error(errno);
  return unique_fd(fd);
}

Result<std::string> ReadFile(const std::string& path) {
  auto fd = Open(path, O_RDONLY);
  if (!fd.ok()) return Result<std::string>::Error(fd.error());
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Result<std::string>::Error(errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<Void> WriteFile(const std::string& path, const std::string& data) {
  auto fd = Open(path, O_WRONLY);
  if (!fd.ok()) return Result<Void>::Error(fd.error());
  ssize_t n = ::write(fd->get(), data.data(), data.size());
  if (n < 0) return Result<Void>::Error(errno);
  if (static_cast<size_t>(n) != data.size()) return Result<Void>::Error(EIO);
  return Void{};
}

Result<Void> SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return Result<Void>::Error(errno);
  return Void{};
}

Result<Void> SetCloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return Result<Void>::Error(errno);
  return Void{};
}

}  // namespace sys
