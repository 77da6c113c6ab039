// Confinement building blocks (see privileges.h).
#include "privileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

namespace privileges {
namespace {

std::string Fail(const std::string& step, int e) { return step + ": " + sys::ErrnoText(e); }

}  // namespace

const char* MountBase() {
  for (const char* d : {"/tmp", "/mnt", "/run", "/var/tmp"}) {
    struct stat st;
    if (lstat(d, &st) == 0 && S_ISDIR(st.st_mode)) return d;
  }
  return nullptr;
}

bool PivotInto(const std::string& dir, std::string* err) {
  if (chdir(dir.c_str()) != 0) {
    *err = Fail("entering " + dir, errno);
    return false;
  }
  // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
  // detaches the old root without needing a directory to put it in.
  if (syscall(SYS_pivot_root, ".", ".") != 0) {
    *err = Fail("pivot_root into " + dir, errno);
    return false;
  }
  if (umount2(".", MNT_DETACH) != 0) {
    *err = Fail("detaching the old root", errno);
    return false;
  }
  if (chdir("/") != 0) {
    *err = Fail("entering the new root", errno);
    return false;
  }
  return true;
}

bool KeepCapabilities(uint64_t keep, std::string* err) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      *err = Fail("dropping capability " + std::to_string(cap) + " from the bounding set", errno);
      return false;
    }
  }
  // Ambient capabilities would survive an exec; neither process execs, but clear them anyway.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    *err = Fail("clearing ambient capabilities", errno);
    return false;
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  data[0].effective = data[0].permitted = static_cast<uint32_t>(keep);
  data[1].effective = data[1].permitted = static_cast<uint32_t>(keep >> 32);
  if (syscall(SYS_capset, &hdr, data) != 0) {
    *err = Fail("setting capabilities", errno);
    return false;
  }
  return true;
}

}  // namespace privileges
