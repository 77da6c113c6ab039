// Host-side helpers of the operations (see fs_util.h).
#include "fs_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace gofer {

bool ValidName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

void FdName(int fd, char out[16]) { snprintf(out, 16, "%d", fd); }

Result<struct stat> StatFd(int fd) {
  struct stat st;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return Result<struct stat>::Error(errno);
  return st;
}

Result<unique_fd> Reopen(int proc_fd, const Node& n, int flags) {
  int fd;
  if (n.type == S_IFDIR) {
    fd = openat(n.fd.get(), ".", flags | O_DIRECTORY | O_CLOEXEC);
  } else {
    char name[16];
    FdName(n.fd.get(), name);
    fd = openat(proc_fd, name, flags | O_CLOEXEC);
  }
  if (fd < 0) return Result<unique_fd>::Error(errno);
  return unique_fd(fd);
}

Result<unique_fd> OpenChild(int dir_fd, const char* name) {
  int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Result<unique_fd>::Error(errno);
  return unique_fd(fd);
}

int Chmod(int proc_fd, int fd, mode_t mode) {
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
  // fchmodat2 (6.6) takes AT_EMPTY_PATH on an O_PATH fd; older kernels go through proc.
  if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0) return 0;
  if (errno != ENOSYS) return errno;
  char name[16];
  FdName(fd, name);
  return fchmodat(proc_fd, name, mode, 0) == 0 ? 0 : errno;
}

int SetOwner(int proc_fd, int fd, const struct stat& st, int parent_fd, uid_t uid, gid_t gid) {
  gid_t want_gid = gid;
  if (gid != st.st_gid) {
    auto parent = StatFd(parent_fd);
    if (!parent.ok()) return parent.error();
    if (parent->st_mode & S_ISGID) want_gid = st.st_gid;  // the host fs already inherited it
  }
  if (uid == st.st_uid && want_gid == st.st_gid) return 0;
  if (fchownat(fd, "", uid, want_gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID))) {
    return Chmod(proc_fd, fd, st.st_mode & 07777);
  }
  return 0;
}

int KillSuidgid(int proc_fd, int fd) {
  auto st = StatFd(fd);
  if (!st.ok()) return st.error();
  mode_t mode = st->st_mode & 07777;
  mode_t kill = S_ISUID;
  if ((mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)) kill |= S_ISGID;
  if (!(mode & kill) || S_ISDIR(st->st_mode)) return 0;
  return Chmod(proc_fd, fd, mode & ~kill);
}

dev_t DecodeDev(uint32_t rdev) {
  // The kernel's new_decode_dev.
  unsigned maj = (rdev & 0xfff00) >> 8;
  unsigned min = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return makedev(maj, min);
}

}  // namespace gofer
