// Masked and read-only paths (see mount_guard.h).
#include "mount_guard.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

namespace mount_guard {

unsigned long FlagsOf(const struct statvfs& st) {
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  if (st.f_flag & ST_SYNCHRONOUS) flags |= MS_SYNCHRONOUS;
  if (st.f_flag & ST_MANDLOCK) flags |= MS_MANDLOCK;
  return flags;
}

int Mask(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return errno;
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, nullptr)
                              : mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr);
  return r < 0 ? errno : 0;
}

int MakeReadOnly(const std::string& path) {
  if (mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) return errno;
  struct statvfs st;
  if (statvfs(path.c_str(), &st) < 0) return errno;
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | FlagsOf(st);
  return mount(nullptr, path.c_str(), nullptr, flags, nullptr) < 0 ? errno : 0;
}

int Apply(const std::string& base, const std::vector<std::string>& masked, const std::vector<std::string>& readonly,
          std::string* failed) {
  for (const std::string& p : masked) {
    int e = Mask(base + p);
    if (e != 0 && e != ENOENT) {
      *failed = "masking " + base + p;
      return e;
    }
  }
  for (const std::string& p : readonly) {
    int e = MakeReadOnly(base + p);
    if (e != 0 && e != ENOENT) {
      *failed = "making " + base + p + " read-only";
      return e;
    }
  }
  return 0;
}

}  // namespace mount_guard
