// Checked mount(2) and umount2(2) emulation (see checked_mount.h).
#include "checked_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/stat.h>  // the kernel's struct statx, with stx_mnt_id
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "log.h"
#include "mount_guard.h"
#include "strace.h"
#include "sys.h"
#include "unique_fd.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x00000010
#endif
#ifndef MOVE_MOUNT_T_AUTOMOUNTS
#define MOVE_MOUNT_T_AUTOMOUNTS 0x00000020
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x4000U
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 0x00000008
#endif

namespace checked_mount {
namespace {

constexpr size_t kMaxString = 4096;   // bytes of a string argument, its NUL included
constexpr int kHelperTimeoutMs = 5000;  // a mount of the allowed kinds is quick
constexpr int kHelperFailed = 255;    // helper exit status: its set-up failed (not the mount)
constexpr int kCapSysAdmin = 21;

// kPlainFlags are the flags a new tmpfs/proc/sysfs/devpts/mqueue mount may carry.
constexpr unsigned long kPlainFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                                      MS_RELATIME | MS_STRICTATIME | MS_SILENT;
// kBindFlags are the flags a bind mount may carry (MS_BIND itself included).
constexpr unsigned long kBindFlags = MS_BIND | MS_REC | MS_SILENT;
// kUmountFlags are the umount2 flags the kernel knows; kUmountAllowed those a container may use.
constexpr unsigned long kUmountFlags = MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW;
constexpr unsigned long kUmountAllowed = MNT_FORCE | MNT_DETACH | UMOUNT_NOFOLLOW;

const char* const kFsTypes[] = {"tmpfs", "proc", "sysfs", "devpts", "mqueue"};

// ReadString reads the NUL-terminated string at addr from the caller's memory (strace's reader).
// False when unreadable or longer than kMaxString.
bool ReadString(pid_t pid, uint64_t addr, Arg* out) {
  out->null = addr == 0;
  out->value.clear();
  if (out->null) return true;
  bool complete = false;
  out->value = strace::ReadMemory(pid, addr, kMaxString, true, &complete);
  return complete;
}

// EffectiveCaps reads CapEff from /proc/<pid>/status (opened as fd); false when unreadable.
bool EffectiveCaps(int status_fd, uint64_t* caps) {
  char buf[4096];
  ssize_t n = pread(status_fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* line = strstr(buf, "\nCapEff:");
  if (!line) return false;
  unsigned long long v = 0;
  if (sscanf(line + 8, "%llx", &v) != 1) return false;
  *caps = v;
  return true;
}

// MountRootId is the unique id (before Linux 6.8: the reusable id) of the mount whose root fd
// is; 0 when fd is no mount's root.
uint64_t MountRootId(int fd) {
  struct statx stx;
  memset(&stx, 0, sizeof(stx));
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE | STATX_MNT_ID, &stx) < 0) return 0;
  if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) || !(stx.stx_mask & (STATX_MNT_ID_UNIQUE | STATX_MNT_ID))) return 0;
  return stx.stx_mnt_id;
}

// EnterParent makes the directory of target the helper's working directory and returns the last
// component: that name is then looked up from a directory no rename can move. False for a
// target without one ("/", ".", "..").
bool EnterParent(const std::string& target, std::string* name) {
  std::string t = target;
  while (t.size() > 1 && t.back() == '/') t.pop_back();
  size_t slash = t.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : t.substr(0, slash);
  *name = slash == std::string::npos ? t : t.substr(slash + 1);
  if (name->empty() || *name == "." || *name == ".." || *name == "/") {
    errno = EPERM;
    return false;
  }
  return chdir(dir.c_str()) == 0;
}

// CloseAllBut closes every descriptor above 2 except those in keep (in the helper).
void CloseAllBut(std::initializer_list<int> keep_list) {
  int keep[8];
  int n = 0;
  for (int fd : keep_list)
    if (n < 8) keep[n++] = fd;
  for (int i = 1; i < n; i++)  // insertion sort: a handful of descriptors
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) std::swap(keep[j - 1], keep[j]);
  unsigned int from = 3;
  for (int i = 0; i <= n; i++) {
    unsigned int to = i < n ? static_cast<unsigned int>(keep[i]) : ~0U;
    if (i < n && keep[i] < 3) continue;
    if (to > from) {
      if (syscall(SYS_close_range, from, to - 1, 0) < 0) {
        unsigned int last = to == ~0U ? 65535U : to - 1;
        for (unsigned int fd = from; fd <= last; fd++) close(static_cast<int>(fd));
      }
    }
    if (i < n) from = static_cast<unsigned int>(keep[i]) + 1;
  }
}

// Done ends the helper after a successful call, telling the mount's id through id_out.
[[noreturn]] void Done(int id_out, uint64_t id) {
  if (write(id_out, &id, sizeof(id)) < 0) _exit(kHelperFailed);
  _exit(0);
}

// RunHelper runs in the forked helper (already in the caller's PID namespace): it joins the
// caller's other namespaces, root and working directory, keeps only the caller's effective
// capabilities, and mounts or unmounts. Its exit status is the errno (0 = done, kHelperFailed =
// set-up); on success it writes the mount's id to id_out.
[[noreturn]] void RunHelper(const Request& r, int id_out) {
  uint64_t caps = r.caps;
  unsigned long flags = r.flags;
  const Arg& source = r.source;
  const Arg& target = r.target;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_DUMPABLE, 0);  // visible in the container's PID namespace for a moment
  CloseAllBut({r.mnt.get(), r.net.get(), r.ipc.get(), r.root.get(), r.cwd.get(), id_out});
  if (setns(r.net.get(), CLONE_NEWNET) < 0 || setns(r.ipc.get(), CLONE_NEWIPC) < 0 ||
      setns(r.mnt.get(), CLONE_NEWNS) < 0)
    _exit(kHelperFailed);
  if (fchdir(r.root.get()) < 0 || chroot(".") < 0 || fchdir(r.cwd.get()) < 0) _exit(kHelperFailed);
  close(r.net.get());
  close(r.ipc.get());
  // The caller's effective set, no more: the mount is checked by the kernel as the caller's.
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct cap[2];
  memset(cap, 0, sizeof(cap));
  cap[0].effective = cap[0].permitted = static_cast<uint32_t>(caps);
  cap[1].effective = cap[1].permitted = static_cast<uint32_t>(caps >> 32);
  if (syscall(SYS_capset, &hdr, cap) < 0) _exit(kHelperFailed);
  std::string name;
  if (!r.unmount && !(flags & MS_BIND) && r.fstype.value == "proc") {
    // In a private copy of the container's mount namespace: mount, mask and make read-only what
    // its own /proc has so, clone that tree, and attach the clone in the container's namespace
    // in one step: the container never sees the proc unguarded.
    if (!EnterParent(target.value, &name)) _exit(errno & 0xff);
    if (unshare(CLONE_NEWNS) < 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(errno & 0xff);
    if (mount(source.c_str(), name.c_str(), "proc", flags, r.data.c_str()) < 0) _exit(errno & 0xff);
    std::string failed;
    if (mount_guard::Apply(name + "/", r.proc.masked, r.proc.readonly, &failed) != 0) _exit(EPERM);
    int tree = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, name.c_str(), OPEN_TREE_CLONE | AT_RECURSIVE | O_CLOEXEC));
    if (tree < 0) _exit(errno & 0xff);
    if (setns(r.mnt.get(), CLONE_NEWNS) < 0 || fchdir(r.root.get()) < 0 || chroot(".") < 0 || fchdir(r.cwd.get()) < 0)
      _exit(errno & 0xff);
    if (!EnterParent(target.value, &name)) _exit(errno & 0xff);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, name.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0) _exit(errno & 0xff);
    Done(id_out, MountRootId(tree));
  }
  close(r.mnt.get());
  close(r.root.get());
  close(r.cwd.get());
  if (r.unmount) {
    // Judge the mount on top of the target's last component (never followed), then unmount that
    // same name from the same directory: it is a mount point, so nothing can be renamed over it.
    if (!EnterParent(target.value, &name)) _exit(errno & 0xff);
    int fd = openat(AT_FDCWD, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) _exit(errno & 0xff);
    uint64_t id = MountRootId(fd);
    close(fd);  // an open fd on the mount would make it busy
    if (id == 0) _exit(EINVAL);  // not a mount point, as the kernel says
    bool ours = false;
    for (uint64_t a : r.allowed) ours = ours || a == id;
    if (!ours) _exit(EPERM);
    if (umount2(name.c_str(), static_cast<int>(flags | UMOUNT_NOFOLLOW)) < 0) _exit(errno & 0xff);
    Done(id_out, id);
  }
  if (flags & MS_BIND) {
    // Clone the source's mount tree first, then judge exactly what was cloned: no path is looked
    // up twice, so nothing can be swapped between the check and the mount.
    // Always with what is mounted below the source (masks of a /proc, read-only /proc/sys): a
    // plain bind of a parent would leave them behind.
    int tree = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE));
    if (tree < 0) _exit(errno & 0xff);
    struct stat st;
    if (fstat(tree, &st) < 0) _exit(errno & 0xff);
    if (S_ISBLK(st.st_mode)) _exit(EPERM);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target.c_str(),
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS | MOVE_MOUNT_T_AUTOMOUNTS) < 0)
      _exit(errno & 0xff);
    Done(id_out, MountRootId(tree));
  }
  if (!EnterParent(target.value, &name)) _exit(errno & 0xff);
  if (mount(source.c_str(), name.c_str(), r.fstype.c_str(), flags, r.data.c_str()) < 0) _exit(errno & 0xff);
  // The new mount is on top of name unless the name was a symlink (followed by mount) or was
  // swapped for one: then nothing is recorded, and the container cannot unmount it.
  int fd = openat(AT_FDCWD, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  Done(id_out, fd < 0 ? 0 : MountRootId(fd));
}

}  // namespace

int Emulate(const std::string& cid, pid_t pid, long nr, const uint64_t args[6],
            const std::function<bool()>& still_waiting, const Performer& perform, std::set<uint64_t>* mounts,
            const ProcFloor& proc_floor) {
  bool unmount = nr == SYS_umount2;
  unsigned long flags = static_cast<unsigned long>(unmount ? args[1] : args[3]);
  bool bind = false;
  if (unmount) {
    if (flags & ~kUmountFlags) return EINVAL;
    if (flags & ~kUmountAllowed) {
      logging::Debug("checked mount: container %s task %d: umount2 flags 0x%lx refused", cid.c_str(), pid, flags);
      return EPERM;
    }
  } else if (nr == SYS_mount) {
    if ((flags & 0xffff0000UL) == 0xc0ed0000UL) flags &= ~0xffff0000UL;  // MS_MGC_VAL, as the kernel drops it
    bind = (flags & MS_BIND) != 0;
    if ((flags & ~(bind ? kBindFlags : kPlainFlags)) != 0) {
      logging::Debug("checked mount: container %s task %d: flags 0x%lx refused", cid.c_str(), pid, flags);
      return EPERM;
    }
  } else {
    return EPERM;
  }
  std::string proc = "/proc/" + std::to_string(pid);
  auto open = [&](const char* name, int mode) {
    auto r = sys::Open(proc + name, mode | O_CLOEXEC);
    return r.ok() ? std::move(r.value()) : unique_fd();
  };
  unique_fd status = open("/status", O_RDONLY);
  Request r;
  r.cid = cid;
  r.pid = pid;
  r.mnt = open("/ns/mnt", O_RDONLY);
  r.pid_ns = open("/ns/pid", O_RDONLY);
  r.net = open("/ns/net", O_RDONLY);
  r.ipc = open("/ns/ipc", O_RDONLY);
  r.root = open("/root", O_PATH | O_DIRECTORY);
  r.cwd = open("/cwd", O_PATH | O_DIRECTORY);
  if (status.get() < 0 || r.mnt.get() < 0 || r.pid_ns.get() < 0 || r.net.get() < 0 ||
      r.ipc.get() < 0 || r.root.get() < 0 || r.cwd.get() < 0) {
    logging::Debug("checked mount: container %s task %d: its /proc files are gone", cid.c_str(), pid);
    return EPERM;
  }
  uint64_t& caps = r.caps;
  if (!EffectiveCaps(status.get(), &caps) || !(caps & (1ULL << kCapSysAdmin))) {
    logging::Debug("checked mount: container %s task %d: no CAP_SYS_ADMIN in its effective set", cid.c_str(), pid);
    return EPERM;
  }
  r.flags = flags;
  r.unmount = unmount;
  Arg& source = r.source;
  Arg& target = r.target;
  Arg& fstype = r.fstype;
  Arg& data = r.data;
  if (unmount) {
    if (!ReadString(pid, args[0], &target)) return EFAULT;
    if (target.null) return EFAULT;
    r.allowed.assign(mounts->begin(), mounts->end());
    if (!still_waiting()) return EPERM;
    uint64_t id = 0;
    int err = perform(r, &id);
    if (err == 0) mounts->erase(id);
    logging::Debug("checked mount: container %s task %d: umount2(\"%s\", 0x%lx): %s", cid.c_str(), pid,
                   target.value.c_str(), flags, err == 0 ? "done" : strerror(err));
    return err;
  }
  if (!ReadString(pid, args[0], &source) || !ReadString(pid, args[1], &target) ||
      !ReadString(pid, args[2], &fstype) || !ReadString(pid, args[4], &data))
    return EFAULT;  // unreadable or too long, as the kernel's copy would fail
  if (target.null) return EFAULT;
  if (bind) {
    if (source.null) return EFAULT;
    fstype = Arg();  // ignored by a bind, as by the kernel
    data = Arg();
  } else {
    bool known = false;
    for (const char* t : kFsTypes) known = known || (!fstype.null && fstype.value == t);
    if (!known) {
      logging::Debug("checked mount: container %s task %d: file system type \"%s\" refused", cid.c_str(), pid,
                     fstype.value.c_str());
      return EPERM;
    }
    // The host's kernel objects in sysfs (uevent_helper, ...) are never writable from a sandbox.
    if (fstype.value == "sysfs") r.flags |= MS_RDONLY;
    if (fstype.value == "proc") r.proc = proc_floor;
  }
  // Everything read belongs to the task that made the call only if it is still waiting for it.
  if (!still_waiting()) return EPERM;
  uint64_t id = 0;
  int err = perform(r, &id);
  if (err == 0 && id != 0) mounts->insert(id);
  logging::Debug("checked mount: container %s task %d: mount(\"%s\", \"%s\", \"%s\", 0x%lx): %s", cid.c_str(), pid,
                 source.value.c_str(), target.value.c_str(), fstype.value.c_str(), flags,
                 err == 0 ? "done" : strerror(err));
  return err;
}

int Perform(const Request& r, uint64_t* mnt_id) {
  *mnt_id = 0;
  const std::string& cid = r.cid;
  pid_t pid = r.pid;
  auto back = sys::Open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
  if (!back.ok()) {
    logging::Error("checked mount: opening our PID namespace: %s", strerror(back.error()));
    return EPERM;
  }
  if (setns(r.pid_ns.get(), CLONE_NEWPID) < 0) {
    logging::Error("checked mount: container %s task %d: entering its PID namespace: %s", cid.c_str(), pid,
                   strerror(errno));
    return EPERM;
  }
  int id_pipe[2];
  if (pipe2(id_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    logging::Error("checked mount: pipe: %s", strerror(errno));
    if (setns(back.value().get(), CLONE_NEWPID) < 0) abort();
    return EPERM;
  }
  unique_fd id_in(id_pipe[0]), id_out(id_pipe[1]);
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t helper = fork();
  if (helper == 0) RunHelper(r, id_out.get());
  id_out.reset();
  int fork_errno = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (setns(back.value().get(), CLONE_NEWPID) < 0) {
    logging::Error("checked mount: returning to the spawner's PID namespace: %s", strerror(errno));
    abort();  // every later child would land in the wrong namespace
  }
  if (helper < 0) {
    logging::Error("checked mount: container %s task %d: fork: %s", cid.c_str(), pid, strerror(fork_errno));
    return EPERM;
  }
  unique_fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, helper, 0)));
  if (pidfd.get() >= 0) {
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    int r;
    do {
      r = poll(&p, 1, kHelperTimeoutMs);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      logging::Error("checked mount: container %s task %d: the mount took over %d ms; killed", cid.c_str(), pid,
                     kHelperTimeoutMs);
      kill(helper, SIGKILL);
    }
  }
  int status = 0;
  while (waitpid(helper, &status, __WALL) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) == kHelperFailed) {
    logging::Error("checked mount: container %s task %d: the helper failed (status 0x%x)", cid.c_str(), pid, status);
    return EPERM;
  }
  if (WEXITSTATUS(status) == 0 && read(id_in.get(), mnt_id, sizeof(*mnt_id)) != sizeof(*mnt_id)) *mnt_id = 0;
  return WEXITSTATUS(status);
}

}  // namespace checked_mount
