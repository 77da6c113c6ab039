// Extended attributes: SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR. They act on the inode
// itself, symlinks and special files included, through the *xattrat calls (Linux 6.13) on the
// node's magic link in proc_fd (the O_PATH fd itself is refused by AT_EMPTY_PATH there);
// older kernels fall back to an opened fd, which covers regular files and directories.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <linux/limits.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "fs_util.h"
#include "ops.h"

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

namespace gofer {
namespace ops {
namespace {

// XattrArgs is the kernel's struct xattr_args.
struct XattrArgs {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};

// g_no_xattrat is set once the kernel answered ENOSYS to an *xattrat call.
std::atomic<bool> g_no_xattrat{false};

// XattrOp runs one extended-attribute call on node n: at() with (proc_fd, "N") when the kernel
// has the *xattrat calls, else fallback() with an fd opened read-only (regular files and
// directories only). Both return the syscall's result (-1 and errno on failure).
template <typename At, typename Fallback>
long XattrOp(Worker& w, const Node& n, At at, Fallback fallback) {
  int proc_fd = w.conn.cfg.proc_fd;
  if (!g_no_xattrat.load(std::memory_order_relaxed)) {
    char name[16];
    FdName(n.fd.get(), name);
    long r = at(proc_fd, name);
    if (r >= 0 || errno != ENOSYS) return r;
    g_no_xattrat = true;
  }
  if (n.type != S_IFREG && n.type != S_IFDIR) {
    errno = EOPNOTSUPP;
    return -1;
  }
  auto fd = Reopen(proc_fd, n, O_RDONLY | O_NONBLOCK | O_NOATIME);
  if (!fd.ok()) {
    errno = fd.error();
    return -1;
  }
  return fallback(fd->get());
}

// ReplySized answers GETXATTR/LISTXATTR: with size 0 the kernel asks only for the length.
void ReplySized(Worker& w, uint32_t asked, long r) {
  if (r < 0) return w.ReplyError(errno);
  if (asked == 0) {
    fuse::fuse_getxattr_out o = {};
    o.size = static_cast<uint32_t>(r);
    w.Reply(&o, sizeof(o));
    return;
  }
  w.ReplyOutData(static_cast<size_t>(r));
}

}  // namespace

void Setxattr(Worker& w, Args& a) {
  fuse::fuse_setxattr_in s;
  size_t in_size = w.conn.setxattr_ext ? sizeof(s) : fuse::kCompatSetxattrInSize;
  if (!a.Read(&s, in_size)) return w.ReplyError(EINVAL);
  const char* name = a.Name();
  const uint8_t* value = a.Bytes(s.size);
  if (name == nullptr || value == nullptr) return w.ReplyError(EINVAL);
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  int flags = static_cast<int>(s.flags);
  long r = XattrOp(
      w, *n,
      [&](int dir, const char* path) {
        XattrArgs args = {reinterpret_cast<uint64_t>(value), s.size, static_cast<uint32_t>(flags)};
        return syscall(SYS_setxattrat, dir, path, 0, name, &args, sizeof(args));
      },
      [&](int fd) { return static_cast<long>(fsetxattr(fd, name, value, s.size, flags)); });
  if (r < 0) return w.ReplyError(errno);
  w.Reply(nullptr, 0);
}

void Getxattr(Worker& w, Args& a) {
  fuse::fuse_getxattr_in g;
  if (!a.Read(&g)) return w.ReplyError(EINVAL);
  const char* name = a.Name();
  if (name == nullptr) return w.ReplyError(EINVAL);
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  // The name lives in the request buffer, which the value overwrites: keep a copy.
  char key[XATTR_NAME_MAX + 1];
  if (strlen(name) > XATTR_NAME_MAX) return w.ReplyError(ERANGE);
  strcpy(key, name);
  size_t size = std::min<size_t>(g.size, w.out_capacity());
  void* buf = w.out_data();
  long r = XattrOp(
      w, *n,
      [&](int dir, const char* path) {
        XattrArgs args = {reinterpret_cast<uint64_t>(buf), static_cast<uint32_t>(size), 0};
        return syscall(SYS_getxattrat, dir, path, 0, key, &args, sizeof(args));
      },
      [&](int fd) { return static_cast<long>(fgetxattr(fd, key, buf, size)); });
  ReplySized(w, g.size, r);
}

void Listxattr(Worker& w, Args& a) {
  fuse::fuse_getxattr_in g;
  if (!a.Read(&g)) return w.ReplyError(EINVAL);
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  size_t size = std::min<size_t>(g.size, w.out_capacity());
  char* buf = reinterpret_cast<char*>(w.out_data());
  long r = XattrOp(
      w, *n, [&](int dir, const char* path) { return syscall(SYS_listxattrat, dir, path, 0, buf, size); },
      [&](int fd) { return static_cast<long>(flistxattr(fd, buf, size)); });
  ReplySized(w, g.size, r);
}

void Removexattr(Worker& w, Args& a) {
  const char* name = a.Name();
  if (name == nullptr) return w.ReplyError(EINVAL);
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  long r = XattrOp(
      w, *n, [&](int dir, const char* path) { return syscall(SYS_removexattrat, dir, path, 0, name); },
      [&](int fd) { return static_cast<long>(fremovexattr(fd, name)); });
  if (r < 0) return w.ReplyError(errno);
  w.Reply(nullptr, 0);
}

}  // namespace ops
}  // namespace gofer
