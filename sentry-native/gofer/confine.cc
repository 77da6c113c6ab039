// Confinement of the gofer at start-up (see confine.h).
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

namespace gofer {
namespace {

std::string Fail(const std::string& step, int e) { return step + ": " + sys::ErrnoText(e); }

// MountBase picks an existing directory of the host tree to mount our tmpfs on. The mount
// is made in our own (private) namespace, so the host never sees it.
const char* MountBase() {
  for (const char* d : {"/tmp", "/mnt", "/run", "/var/tmp"}) {
    struct stat st;
    if (lstat(d, &st) == 0 && S_ISDIR(st.st_mode)) return d;
  }
  return nullptr;
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// OpenInRoot opens one name of the new root without following any link.
Result<unique_fd> OpenInRoot(const std::string& name) {
  struct open_how how = {};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
  long fd = syscall(SYS_openat2, AT_FDCWD, name.c_str(), &how, sizeof(how));
  if (fd < 0) return Result<unique_fd>::Error(errno);
  return unique_fd(static_cast<int>(fd));
}

bool MakeMountPoint(const std::string& path, bool is_dir, std::string* err) {
  if (is_dir) {
    if (mkdir(path.c_str(), 0755) != 0) {
      *err = Fail("creating " + path, errno);
      return false;
    }
    return true;
  }
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    *err = Fail("creating " + path, errno);
    return false;
  }
  close(fd);
  return true;
}

// PivotInto makes dir the root of the mount namespace and detaches the old root.
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

}  // namespace

bool RaiseFdLimit(std::string* err) {
  rlim_t want = 1 << 20;
  auto nr_open = sys::ReadFile("/proc/sys/fs/nr_open");
  if (nr_open.ok()) {
    rlim_t n = strtoull(nr_open->c_str(), nullptr, 10);
    if (n > 0 && n < want) want = n;
  }
  struct rlimit rl = {want, want};
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0) return true;
  // Without CAP_SYS_RESOURCE the hard limit stays; the soft limit can still reach it.
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    *err = Fail("reading RLIMIT_NOFILE", errno);
    return false;
  }
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    *err = Fail("raising RLIMIT_NOFILE", errno);
    return false;
  }
  return true;
}

namespace {

// MountAttr is the kernel's struct mount_attr (mount_setattr(2), Linux 5.12).
struct MountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
constexpr uint64_t kMountAttrReadOnly = 0x1;  // MOUNT_ATTR_RDONLY
#ifndef SYS_mount_setattr
constexpr long SYS_mount_setattr = 442;
#endif

}  // namespace

bool EnterPrivateRoot(const std::vector<std::string>& paths, const std::vector<bool>& is_dir,
                      const std::vector<bool>& read_only, PrivateRoot* out, std::string* err) {
  if (unshare(CLONE_NEWNS) != 0) {
    *err = Fail("unsharing the mount namespace", errno);
    return false;
  }
  // Private, not slave: the served trees are fixed at start-up, and a FUSE mount the host
  // makes later under a served path (even this gofer's own) can never propagate in here.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    *err = Fail("making / recursively private", errno);
    return false;
  }
  // Open the served paths in this namespace before anything is mounted over them: a bind
  // needs a source in the caller's namespace, and a path under the mount base would vanish.
  std::vector<unique_fd> sources;
  for (const std::string& p : paths) {
    auto fd = sys::Open(p, O_PATH);
    if (!fd.ok()) {
      *err = Fail("opening " + p, fd.error());
      return false;
    }
    sources.push_back(std::move(*fd));
  }
  auto proc = sys::Open("/proc/self/fd", O_PATH | O_DIRECTORY);
  if (!proc.ok()) {
    *err = Fail("opening /proc/self/fd", proc.error());
    return false;
  }
  const char* base = MountBase();
  if (base == nullptr) {
    *err = "finding a directory to mount the gofer's root on: none of /tmp, /mnt, /run, /var/tmp";
    return false;
  }
  if (mount("runsc-ts-gofer", base, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            "size=64k,nr_inodes=1024,mode=0755") != 0) {
    *err = Fail(std::string("mounting a tmpfs on ") + base, errno);
    return false;
  }
  for (size_t i = 0; i < paths.size(); i++) {
    std::string target = std::string(base) + "/" + std::to_string(i);
    if (!MakeMountPoint(target, is_dir[i], err)) return false;
    if (mount(FdPath(sources[i].get()).c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      *err = Fail("bind-mounting " + paths[i], errno);
      return false;
    }
    // Only the read-only flag changes, on the bind and every mount below it; the host mount's
    // other flags (nosuid, nodev...) stay as they are.
    MountAttr ro = {};
    ro.attr_set = kMountAttrReadOnly;
    if (read_only[i] && syscall(SYS_mount_setattr, AT_FDCWD, target.c_str(), AT_RECURSIVE, &ro, sizeof ro) != 0) {
      *err = Fail("making the bind of " + paths[i] + " read-only", errno);
      return false;
    }
  }
  sources.clear();
  if (!PivotInto(base, err)) return false;
  // Nothing is ever created in the root itself: make it read-only.
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
            nullptr) != 0) {
    *err = Fail("making the gofer's root read-only", errno);
    return false;
  }
  for (size_t i = 0; i < paths.size(); i++) {
    auto fd = OpenInRoot(std::to_string(i));
    if (!fd.ok()) {
      *err = Fail("reopening " + paths[i] + " as /" + std::to_string(i), fd.error());
      return false;
    }
    out->roots.push_back(std::move(*fd));
  }
  out->proc_fd = std::move(*proc);
  return true;
}

bool DropPrivileges(bool keep_sys_admin, std::string* err) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *err = Fail("setting no_new_privs", errno);
    return false;
  }
  // Not dumpable: no core dumps of file data, and /proc/<pid> of the gofer belongs to root.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    *err = Fail("clearing the dumpable flag", errno);
    return false;
  }
  uint64_t keep = 0;
  // CAP_CHOWN: new files, dirs, nodes and links get the caller's owner; SETATTR uid/gid.
  keep |= 1ull << CAP_CHOWN;
  // CAP_DAC_OVERRIDE: the kernel already checked the caller's permissions
  // (default_permissions); the gofer then acts on files its own uid could not open.
  keep |= 1ull << CAP_DAC_OVERRIDE;
  // CAP_DAC_READ_SEARCH: linkat(AT_EMPTY_PATH) for LINK, and search in any directory.
  keep |= 1ull << CAP_DAC_READ_SEARCH;
  // CAP_FOWNER: chmod, utimes, xattrs and O_NOATIME on files the gofer's uid does not own.
  keep |= 1ull << CAP_FOWNER;
  // CAP_FSETID: chmod keeps S_ISGID whatever the group; suid/sgid clearing on writes is
  // decided by the kernel for the caller, not by the gofer's own writes.
  keep |= 1ull << CAP_FSETID;
  // CAP_MKNOD: MKNOD of device nodes (the kernel has already decided the caller may).
  keep |= 1ull << CAP_MKNOD;
  // CAP_SYS_ADMIN: FUSE_DEV_IOC_BACKING_OPEN (passthrough) requires it; only kept then.
  if (keep_sys_admin) keep |= 1ull << CAP_SYS_ADMIN;

  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      *err = Fail("dropping capability " + std::to_string(cap) + " from the bounding set", errno);
      return false;
    }
  }
  // Ambient capabilities would survive an exec; the gofer never execs, but clear them anyway.
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

}  // namespace gofer
