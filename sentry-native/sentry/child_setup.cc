// Everything that runs in a forked child before it execs the container process (see child_setup.h).
// The sentry is single-threaded, so allocating after fork is safe; failures end in _exit.
#include "child_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mount_guard.h"
#include "procfs.h"
#include "seccomp_filter.h"
#include "setup_channel.h"
#include "status.h"
#include "sys.h"

namespace {

int g_channel = -1;

// Fail reports "text" with a status code to the sentry and exits.
[[noreturn]] void Fail(int code, const std::string& text) {
  std::string packet;
  packet.push_back(setup_channel::kError);
  packet.push_back(static_cast<char>(code));
  packet.append(text.substr(0, setup_channel::kMaxMessage - 2));
  if (g_channel >= 0) {
    ssize_t n = send(g_channel, packet.data(), packet.size(), MSG_NOSIGNAL);
    (void)n;
  }
  _exit(1);
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

std::string Err(int e) { return sys::ErrnoText(e); }

// FailErrno reports "<what>: <errno text>".
[[noreturn]] void FailErrno(const std::string& what, int e) { Fail(kUnknown, what + ": " + Err(e)); }

std::string ProcFd(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// ---- file descriptors ----

// KeepOnly moves every fd the child needs above 2 (CLOEXEC), closes all others, and opens
// /dev/null on 0, 1 and 2 as placeholders until stdio is set up.
void KeepOnly(std::vector<int*> keep) {
  std::vector<int> kept;
  for (int* fd : keep) {
    if (*fd < 0) continue;
    int copy = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) _exit(1);
    *fd = copy;
    kept.push_back(copy);
  }
  std::sort(kept.begin(), kept.end());
  unsigned int lo = 0;
  for (int fd : kept) {
    if (static_cast<unsigned int>(fd) > lo) close_range(lo, static_cast<unsigned int>(fd) - 1, 0);
    lo = static_cast<unsigned int>(fd) + 1;
  }
  close_range(lo, ~0U, 0);
  for (int i = 0; i < 3; i++) {
    int fd = open("/dev/null", O_RDWR);
    if (fd != i) _exit(1);
  }
}

// ---- resolving paths inside the root ----

// OpenInRoot opens path as if rootfd were "/", refusing to leave it via symlinks or "..".
int OpenInRoot(int rootfd, const std::string& path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = syscall(SYS_openat2, rootfd, path.c_str(), &how, sizeof(how));
    if (fd < 0 && errno == EAGAIN) continue;  // a concurrent rename; retry as openat2 asks
    return static_cast<int>(fd);
  }
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (!part.empty() && part != ".") parts.push_back(part);
    i = j + 1;
  }
  return parts;
}

// MkdirAllInRoot makes path (and its parents) a directory inside the root and returns an
// O_PATH fd to it, or -1 with errno.
int MkdirAllInRoot(int rootfd, const std::string& path) {
  std::vector<std::string> parts = SplitPath(path);
  int dirfd = OpenInRoot(rootfd, "/", O_PATH | O_DIRECTORY);
  if (dirfd < 0) return -1;
  std::string prefix;
  for (const std::string& part : parts) {
    prefix += "/" + part;
    int next = OpenInRoot(rootfd, prefix, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      // The missing entry is created in the directory its parent resolved to.
      if (mkdirat(dirfd, part.c_str(), 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(dirfd);
        errno = e;
        return -1;
      }
      next = OpenInRoot(rootfd, prefix, O_PATH | O_DIRECTORY);
    }
    int e = errno;
    close(dirfd);
    if (next < 0) {
      errno = e;
      return -1;
    }
    dirfd = next;
  }
  return dirfd;
}

std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  std::vector<std::string> parts = SplitPath(path);
  return parts.empty() ? "" : parts.back();
}

// CreateFileInRoot makes sure path exists inside the root (an empty file if it is missing)
// and returns an O_PATH fd to it, or -1 with errno.
int CreateFileInRoot(int rootfd, const std::string& path) {
  int fd = OpenInRoot(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  int dirfd = MkdirAllInRoot(rootfd, Dirname(path));
  if (dirfd < 0) return -1;
  int created = openat(dirfd, Basename(path).c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  int e = errno;
  close(dirfd);
  if (created < 0 && e != EEXIST) {
    errno = e;
    return -1;
  }
  if (created >= 0) close(created);
  return OpenInRoot(rootfd, path, O_PATH);
}

// ---- mount namespace ----

// MakeParentMountPrivate makes the mount holding rootfs private if it is shared, because
// pivot_root refuses a shared parent mount (as runc's rootfsParentMountPrivate).
void MakeParentMountPrivate(const std::string& rootfs) {
  std::string parent = Dirname(rootfs);
  std::vector<procfs::MountInfo> mounts = procfs::ReadMountInfo();
  const procfs::MountInfo* best = nullptr;
  for (const procfs::MountInfo& m : mounts) {
    const std::string& mp = m.mount_point;
    bool contains = mp == "/" || parent == mp || (parent.compare(0, mp.size(), mp) == 0 && parent[mp.size()] == '/');
    if (contains && (!best || mp.size() >= best->mount_point.size())) best = &m;
  }
  if (best && best->optional.find("shared:") != std::string::npos) {
    if (mount(nullptr, best->mount_point.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
      FailErrno(Format("making parent mount %s of rootfs private", best->mount_point.c_str()), errno);
  }
}

// JoinCgroups moves the child into the container's cgroup directories (made by the sentry).
void JoinCgroups(const std::vector<CgroupLeaf>& leaves) {
  for (const CgroupLeaf& leaf : leaves) {
    auto w = sys::WriteFile(leaf.path + "/cgroup.procs", "0");
    if (!w.ok() && leaf.required) FailErrno(Format("joining cgroup %s", leaf.path.c_str()), w.error());
  }
}

// SendControl sends the one-byte message kind on the setup channel with one SOL_SOCKET control
// message of the given type (SCM_CREDENTIALS, SCM_RIGHTS) carrying len bytes of data (at most a
// struct ucred). It returns what sendmsg does (the bytes sent, or -1 with errno set).
ssize_t SendControl(char kind, int type, const void* data, size_t len) {
  union {
    char space[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  if (CMSG_SPACE(len) > sizeof(control.space)) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov = {&kind, 1};
  memset(&control, 0, sizeof(control));
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control.space;
  mh.msg_controllen = CMSG_SPACE(len);
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(len);
  memcpy(CMSG_DATA(c), data, len);
  return sendmsg(g_channel, &mh, MSG_NOSIGNAL);
}

// SendHandoff sends the hand-over message naming pid (in our PID namespace) as SCM_CREDENTIALS;
// naming another process than ourselves needs CAP_SYS_ADMIN, which the child holds. The kernel
// translates the pid into the sentry's namespace. False if it could not be sent.
bool SendHandoff(pid_t pid) {
  struct ucred cred = {pid, getuid(), getgid()};
  return SendControl(setup_channel::kHandoff, SCM_CREDENTIALS, &cred, sizeof(cred)) == 1;
}

// EnterOwnPidNamespace makes the container's own PID namespace, nested in the sandbox's. The
// calling child cannot enter it (only its children can), so it clones the init there with
// CLONE_PARENT: PID 1 of the new namespace and a child of the sentry. Only the init returns.
// Both name the init on the setup channel: the caller before it exits (so the sentry knows the
// init before it sees the caller's exit), and the init first thing (so that if the caller was
// killed before it could, the init is known to the sentry, or finds the channel closed and ends).
void EnterOwnPidNamespace() {
  if (unshare(CLONE_NEWPID) < 0) FailErrno("creating the container's PID namespace", errno);
  long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) FailErrno("cloning the container's init into its PID namespace", errno);
  if (pid > 0) _exit(SendHandoff(static_cast<pid_t>(pid)) ? 0 : 1);
  if (!SendHandoff(getpid())) _exit(1);
  // The death signal is not inherited: the init's parent is the sentry now.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) FailErrno("prctl(PR_SET_PDEATHSIG)", errno);
}

// BringLoopbackUp sets lo up in a new network namespace (the kernel makes it down), as runc
// does: 127.0.0.1 and ::1 then work in a container with no other network.
void BringLoopbackUp() {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) FailErrno("bringing up lo: socket", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) FailErrno("bringing up lo: SIOCGIFFLAGS", errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) FailErrno("bringing up lo: SIOCSIFFLAGS", errno);
  close(sock);
}

void SetupNetwork(const msg::ContainerSpec& spec) {
  for (const msg::Namespace& ns : spec.namespaces) {
    if (ns.type != "network") continue;
    if (ns.path.empty()) {
      if (unshare(CLONE_NEWNET) < 0) FailErrno("creating network namespace", errno);
      BringLoopbackUp();
    } else {
      int fd = open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) FailErrno(Format("opening network namespace %s", ns.path.c_str()), errno);
      if (setns(fd, CLONE_NEWNET) < 0) FailErrno(Format("joining network namespace %s", ns.path.c_str()), errno);
      close(fd);
    }
    return;
  }
}

constexpr unsigned long kPropagationFlags = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
constexpr unsigned long kBindFlags = MS_BIND | MS_REC;

// FuseOptions are the mount options of a gofer's FUSE file system: the kernel checks permissions
// itself against the attributes the gofer reports (default_permissions), for every user.
std::string FuseOptions(int fuse_fd, mode_t root_type) {
  return Format("fd=%d,rootmode=%o,user_id=0,group_id=0,allow_other,default_permissions", fuse_fd,
                static_cast<unsigned>(root_type));
}

// MountFuse mounts the FUSE file system of fuse_fd on target, with flags (MS_RDONLY etc.), and
// closes fuse_fd before anything is looked up through the mount: from then on the gofer holds the
// only open file of the connection, so a gofer that died or never started ends it and the lookups
// fail (ENOTCONN) instead of waiting forever for an answer.
bool MountFuse(int fuse_fd, mode_t root_type, const std::string& target, unsigned long flags) {
  std::string data = FuseOptions(fuse_fd, root_type);
  int rc = mount("runsc-ts", target.c_str(), "fuse", flags, data.c_str());
  int err = errno;
  close(fuse_fd);
  errno = err;
  return rc == 0;
}

// MountRootFuse mounts the root from the gofer's FUSE file systems, fuse_fds from *next on:
//  - alone, the one FUSE file system is the root;
//  - with root_overlay, a small tmpfs on the root path holds one mount point per image layer
//    ("0" is the top one), each layer's FUSE file system is mounted there read-only, and an
//    overlay of them under the snapshot's upper and work directories goes on top, same path;
//  - with overlay_size, the tmpfs (of that size) holds the one FUSE mount point ("0") and the
//    overlay's upper and work directories ("upper", "work").
// Layer names are relative to the tmpfs (the working directory while the overlay is mounted), so
// the mount options stay short whatever the number of layers and the length of the root path.
void MountRootFuse(const msg::ContainerSpec& spec, const std::vector<int>& fuse_fds, size_t* next) {
  const std::string& root = spec.rootfs;
  const msg::RootOverlay& ro = spec.root_overlay;
  bool snapshot = !ro.upperdir.empty();
  size_t layers = snapshot ? ro.lower_layers : 1;
  if (layers == 0 || fuse_fds.size() - *next < layers) Fail(kInvalidArgument, "too few /dev/fuse fds for the root");
  std::string what = Format("mounting the gofer's file system at rootfs \"%s\"", root.c_str());
  if (!snapshot && spec.overlay_size == 0) {
    if (!MountFuse(fuse_fds[(*next)++], S_IFDIR, root, 0)) FailErrno(what, errno);
    return;
  }
  std::string tmpfs = snapshot ? std::string("size=1m,nr_inodes=1024,mode=755")
                               : Format("size=%llu,mode=755", static_cast<unsigned long long>(spec.overlay_size));
  if (mount("runsc-ts-overlay", root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, tmpfs.c_str()) < 0)
    FailErrno("mounting the root overlay's tmpfs", errno);
  if (chdir(root.c_str()) < 0) FailErrno("entering the root overlay's tmpfs", errno);
  std::string lowerdir;
  for (size_t i = 0; i < layers; i++) {
    std::string dir = std::to_string(i);
    if (mkdir(dir.c_str(), 0755) < 0) FailErrno("making the root overlay's directories", errno);
    // Read-only: an overlay never writes to its lower layers.
    if (!MountFuse(fuse_fds[(*next)++], S_IFDIR, root + "/" + dir, MS_RDONLY))
      FailErrno(snapshot ? Format("%s (image layer %zu of %zu)", what.c_str(), i + 1, layers) : what, errno);
    lowerdir += (i == 0 ? "" : ":") + dir;
  }
  std::string data;
  if (snapshot) {
    data = Format("lowerdir=%s,upperdir=%s,workdir=%s", lowerdir.c_str(), ro.upperdir.c_str(), ro.workdir.c_str());
    if (!ro.options.empty()) data += "," + ro.options;
  } else {
    for (const char* dir : {"upper", "work"}) {
      if (mkdir(dir, 0755) < 0) FailErrno("making the root overlay's directories", errno);
    }
    data = "lowerdir=" + lowerdir + ",upperdir=upper,workdir=work";
  }
  if (mount("overlay", root.c_str(), "overlay", 0, data.c_str()) < 0) {
    FailErrno(snapshot ? Format("mounting the root overlay (upperdir \"%s\")", ro.upperdir.c_str()) : std::string("mounting the root overlay"), errno);
  }
  if (chdir("/") < 0) FailErrno("leaving the root overlay's tmpfs", errno);
}

// MountOne performs one spec mount onto its destination resolved inside the root. A gofer-served
// bind takes the next fd from fuse_fds.
void MountOne(int rootfd, const msg::Mount& m, const std::vector<int>& fuse_fds, size_t* next_fuse) {
  std::string what = Format("mounting \"%s\" to rootfs at \"%s\"", m.source.c_str(), m.destination.c_str());
  unsigned long flags = static_cast<unsigned long>(m.flags);
  bool bind = (flags & MS_BIND) || m.type == "bind";
  bool source_is_dir = true;
  if (bind) {
    struct stat st;
    if (stat(m.source.c_str(), &st) < 0) FailErrno(what, errno);
    source_is_dir = S_ISDIR(st.st_mode);
  }
  int target = source_is_dir ? MkdirAllInRoot(rootfd, m.destination) : CreateFileInRoot(rootfd, m.destination);
  if (target < 0) FailErrno(what, errno);
  std::string proc = ProcFd(target);
  if (m.fuse) {
    if (*next_fuse >= fuse_fds.size()) Fail(kInvalidArgument, what + ": no /dev/fuse fd for it");
    constexpr unsigned long kFuseFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (!MountFuse(fuse_fds[(*next_fuse)++], source_is_dir ? S_IFDIR : S_IFREG, proc, flags & kFuseFlags))
      FailErrno(what + " (gofer)", errno);
    close(target);
    return;  // propagation: a FUSE mount has no peers to propagate to
  }
  if (bind) {
    if (mount(m.source.c_str(), proc.c_str(), nullptr, MS_BIND | (flags & MS_REC), nullptr) < 0)
      FailErrno(what, errno);
  } else {
    const char* data = m.data.empty() ? nullptr : m.data.c_str();
    if (mount(m.source.c_str(), proc.c_str(), m.type.c_str(), flags & ~kPropagationFlags, data) < 0)
      FailErrno(what, errno);
  }
  close(target);
  bool need_remount = bind && (flags & ~(kBindFlags | kPropagationFlags | MS_REMOUNT)) != 0;
  unsigned long propagation = static_cast<unsigned long>(m.propagation);
  if (flags & kPropagationFlags) propagation |= flags & (kPropagationFlags | MS_REC);
  if (!need_remount && propagation == 0) return;
  // The O_PATH fd names the directory under the new mount; reopen to reach the mount itself.
  target = OpenInRoot(rootfd, m.destination, O_PATH);
  if (target < 0) FailErrno(what, errno);
  proc = ProcFd(target);
  if (need_remount) {
    unsigned long remount = MS_BIND | MS_REMOUNT | (flags & ~(kBindFlags | kPropagationFlags | MS_REMOUNT));
    if (mount(nullptr, proc.c_str(), nullptr, remount, nullptr) < 0) FailErrno(what + " (remount)", errno);
  }
  if (propagation != 0 && mount(nullptr, proc.c_str(), nullptr, propagation, nullptr) < 0)
    FailErrno(what + " (propagation)", errno);
  close(target);
}

// BindHostNode bind-mounts the host's device node over name in dirfd (when mknod is refused).
bool BindHostNode(int dirfd, const std::string& name, const std::string& host_path) {
  int f = openat(dirfd, name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (f < 0 && errno != EEXIST) return false;
  if (f >= 0) close(f);
  int target = openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (target < 0) return false;
  bool ok = mount(host_path.c_str(), ProcFd(target).c_str(), nullptr, MS_BIND, nullptr) == 0;
  close(target);
  return ok;
}

void MakeNode(int dirfd, const std::string& name, mode_t mode, dev_t dev, uid_t uid, gid_t gid,
              const std::string& container_path) {
  if (mknodat(dirfd, name.c_str(), mode, dev) < 0) {
    if (errno == EEXIST) return;
    int e = errno;
    if (!S_ISCHR(mode) && !S_ISBLK(mode)) FailErrno(Format("creating device %s", container_path.c_str()), e);
    if (!BindHostNode(dirfd, name, container_path))
      FailErrno(Format("creating device %s", container_path.c_str()), e);
    return;
  }
  if (fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    FailErrno(Format("chown of device %s", container_path.c_str()), errno);
}

bool HasMountAt(const msg::ContainerSpec& spec, const std::string& dest, const char* type) {
  for (const msg::Mount& m : spec.mounts) {
    if (m.destination == dest || m.destination == dest + "/") {
      if (!type) return true;
      if (m.type == type) return true;
    }
  }
  return false;
}

bool IsBindAt(const msg::ContainerSpec& spec, const std::string& dest) {
  for (const msg::Mount& m : spec.mounts)
    if ((m.destination == dest || m.destination == dest + "/") && ((m.flags & MS_BIND) || m.type == "bind"))
      return true;
  return false;
}

// SetupDev populates /dev when it is a tmpfs of the spec: default nodes, spec devices, links.
void SetupDev(int rootfd, const msg::ContainerSpec& spec) {
  bool dev_tmpfs = HasMountAt(spec, "/dev", "tmpfs");
  if (dev_tmpfs) {
    int devfd = MkdirAllInRoot(rootfd, "/dev");
    if (devfd < 0) FailErrno("opening /dev in rootfs", errno);
    int dir = openat(devfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(devfd);
    if (dir < 0) FailErrno("opening /dev in rootfs", errno);
    struct Node {
      const char* name;
      unsigned int major, minor;
    };
    static const Node kNodes[] = {{"null", 1, 3}, {"zero", 1, 5},    {"full", 1, 7},
                                  {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (const Node& n : kNodes)
      MakeNode(dir, n.name, S_IFCHR | 0666, makedev(n.major, n.minor), 0, 0, std::string("/dev/") + n.name);
    struct Link {
      const char* name;
      const char* target;
    };
    static const Link kLinks[] = {{"fd", "/proc/self/fd"},      {"stdin", "/proc/self/fd/0"},
                                  {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
                                  {"ptmx", "pts/ptmx"}};
    for (const Link& l : kLinks)
      if (symlinkat(l.target, dir, l.name) < 0 && errno != EEXIST)
        FailErrno(Format("creating symlink /dev/%s", l.name), errno);
    if (HasMountAt(spec, "/proc", nullptr) && symlinkat("/proc/kcore", dir, "core") < 0 && errno != EEXIST)
      FailErrno("creating symlink /dev/core", errno);
    close(dir);
  }
  if (IsBindAt(spec, "/dev")) return;  // the host's /dev: its nodes are already there
  for (const msg::Device& d : spec.devices) {
    mode_t type;
    switch (d.type) {
      case 'c': case 'u': type = S_IFCHR; break;
      case 'b': type = S_IFBLK; break;
      case 'p': type = S_IFIFO; break;
      default: Fail(kInvalidArgument, Format("device %s: unknown type %u", d.path.c_str(), d.type));
    }
    int parent = MkdirAllInRoot(rootfd, Dirname(d.path));
    if (parent < 0) FailErrno(Format("creating device %s", d.path.c_str()), errno);
    int dir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(parent);
    if (dir < 0) FailErrno(Format("creating device %s", d.path.c_str()), errno);
    MakeNode(dir, Basename(d.path), type | (d.file_mode & 07777),
             makedev(static_cast<unsigned int>(d.major), static_cast<unsigned int>(d.minor)), d.uid, d.gid, d.path);
    close(dir);
  }
}

// PivotRoot makes rootfd the root with the pivot_root(".", ".") technique.
void PivotRoot(int rootfd) {
  if (fchdir(rootfd) < 0) FailErrno("pivot_root: chdir to rootfs", errno);
  if (syscall(SYS_pivot_root, ".", ".") < 0) FailErrno("pivot_root", errno);
  // The old root is now stacked on "."; keep its unmount from propagating to the host.
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) FailErrno("pivot_root: making old root rslave", errno);
  if (umount2(".", MNT_DETACH) < 0) FailErrno("pivot_root: unmounting old root", errno);
  if (chdir("/") < 0) FailErrno("pivot_root: chdir /", errno);
}

void WriteSysctls(const msg::ContainerSpec& spec) {
  for (const auto& kv : spec.sysctl) {
    std::string path = "/proc/sys/" + kv.first;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    auto w = sys::WriteFile(path, kv.second);
    if (!w.ok()) FailErrno(Format("setting sysctl %s", kv.first.c_str()), w.error());
  }
}

// GuardPaths masks the spec's masked paths and makes its read-only paths read-only.
void GuardPaths(const msg::ContainerSpec& spec) {
  std::string failed;
  int e = mount_guard::Apply("", spec.masked_paths, spec.readonly_paths, &failed);
  if (e != 0) FailErrno(failed, e);
}

void RemountRootReadonly() {
  struct statvfs st;
  if (statvfs("/", &st) < 0) FailErrno("remounting rootfs read-only", errno);
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | mount_guard::FlagsOf(st);
  if (mount(nullptr, "/", nullptr, flags, nullptr) < 0) FailErrno("remounting rootfs read-only", errno);
}

// ---- process: stdio, terminal ----

void SendMaster(int master) {
  if (SendControl(setup_channel::kMaster, SCM_RIGHTS, &master, sizeof(master)) < 0)
    FailErrno("sending the pty master to the sentry", errno);
}

void SetupTerminal(const msg::Stdio& stdio, bool console) {
  int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) FailErrno("opening /dev/pts/ptmx", errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) FailErrno("unlockpt", errno);
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) FailErrno("opening the pty slave", errno);
  if (stdio.width != 0 || stdio.height != 0) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(stdio.height);
    ws.ws_col = static_cast<unsigned short>(stdio.width);
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) FailErrno("setting the terminal size", errno);
  }
  unsigned int ptn = 0;
  if (ioctl(master, TIOCGPTN, &ptn) < 0) FailErrno("reading the pty number", errno);
  SendMaster(master);
  close(master);
  if (setsid() < 0) FailErrno("setsid", errno);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) FailErrno("making the pty the controlling terminal", errno);
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) FailErrno("dup2 of the pty slave", errno);
  close(slave);
  if (console) {
    std::string pts = "/dev/pts/" + std::to_string(ptn);
    int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (f >= 0 || errno == EEXIST) {
      if (f >= 0) close(f);
      if (mount(pts.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) < 0)
        FailErrno("bind-mounting the pty over /dev/console", errno);
    }
  }
}

void SetupStdio(const ChildPlan& plan) {
  const msg::Stdio& stdio = plan.process->stdio;
  if (stdio.terminal) {
    SetupTerminal(stdio, !plan.is_exec);
    for (int i = 0; i < 3; i++)
      if (plan.stdio[i] >= 0) close(plan.stdio[i]);
    return;
  }
  if (setsid() < 0) FailErrno("setsid", errno);
  for (int i = 0; i < 3; i++) {
    int fd = plan.stdio[i];
    bool opened = false;
    if (fd < 0) {
      fd = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (fd < 0) FailErrno("opening /dev/null in the container", errno);
      opened = true;
    }
    if (dup2(fd, i) < 0) FailErrno("dup2 of stdio", errno);
    if (opened) close(fd);
  }
  for (int i = 0; i < 3; i++)
    if (plan.stdio[i] >= 0) close(plan.stdio[i]);
}

// ---- exec path ----

std::string EnvValue(const std::vector<std::string>& env, const std::string& name, bool* found) {
  std::string value;
  *found = false;
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      value = e.substr(name.size() + 1);
      *found = true;
    }
  }
  return value;
}

// FindExecutable is Go's exec.findExecutable: "" on success, else the error text.
std::string FindExecutable(const std::string& file) {
  struct stat st;
  if (stat(file.c_str(), &st) < 0) return "stat " + file + ": " + Err(errno);
  if (S_ISDIR(st.st_mode)) return Err(EISDIR);
  if (faccessat(AT_FDCWD, file.c_str(), X_OK, AT_EACCESS) == 0) return "";
  int e = errno;
  if (e != ENOSYS && e != EPERM) return Err(e);
  if (st.st_mode & 0111) return "";
  return Err(EACCES);
}

// LookPath is Go's exec.LookPath with PATH taken from the process env.
std::string LookPath(const std::string& file, const std::vector<std::string>& env) {
  if (file.find('/') != std::string::npos) {
    std::string err = FindExecutable(file);
    if (!err.empty()) Fail(kUnknown, Format("exec: \"%s\": %s", file.c_str(), err.c_str()));
    return file;
  }
  bool found;
  std::string path = EnvValue(env, "PATH", &found);
  if (!found) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t i = 0;
  while (!path.empty() && i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + file;
    struct stat st;
    if (FindExecutable(candidate).empty()) return candidate;
    // Not there is the usual answer; an I/O error or an ended FUSE connection (the container's
    // gofer died) is not, and "not found" would hide it.
    if (stat(candidate.c_str(), &st) < 0 && (errno == EIO || errno == ENOTCONN)) {
      int e = errno;
      Fail(kUnknown, Format("exec: \"%s\": stat %s: %s", file.c_str(), candidate.c_str(), Err(e).c_str()));
    }
    i = j + 1;
  }
  Fail(kUnknown, Format("exec: \"%s\": executable file not found in $PATH", file.c_str()));
}

// ---- credentials ----

int LastCap() {
  auto text = sys::ReadFile("/proc/sys/kernel/cap_last_cap");
  if (!text.ok()) return CAP_LAST_CAP;
  return atoi(text->c_str());
}

void DropBoundingSet(uint64_t keep, int last_cap) {
  for (int cap = 0; cap <= last_cap && cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      FailErrno(Format("dropping capability %d from the bounding set", cap), errno);
  }
}

void SetUser(const msg::Process& p) {
  std::vector<gid_t> groups(p.additional_gids.begin(), p.additional_gids.end());
  if (setgroups(groups.size(), groups.empty() ? nullptr : groups.data()) < 0) FailErrno("setgroups", errno);
  if (setresgid(p.gid, p.gid, p.gid) < 0) FailErrno(Format("setresgid %u", p.gid), errno);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) FailErrno("prctl(PR_SET_KEEPCAPS)", errno);
  if (setresuid(p.uid, p.uid, p.uid) < 0) FailErrno(Format("setresuid %u", p.uid), errno);
}

// SetCapabilities gives the process the spec's sets, less what the sentry itself gave up (see
// kNeverGranted in main.cc): those are not ours to give.
void SetCapabilities(const msg::Capabilities& caps, int last_cap) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) < 0) FailErrno("capget", errno);
  for (int i = 0; i < 2; i++) {
    uint32_t ours = data[i].permitted;
    data[i].effective = static_cast<uint32_t>(caps.effective >> (32 * i)) & ours;
    data[i].permitted = static_cast<uint32_t>(caps.permitted >> (32 * i)) & ours;
    data[i].inheritable = static_cast<uint32_t>(caps.inheritable >> (32 * i)) & ours;
  }
  if (syscall(SYS_capset, &header, data) < 0) FailErrno("capset", errno);
  for (int cap = 0; cap <= last_cap && cap < 64; cap++) {
    if (!(caps.ambient & (1ULL << cap))) continue;
    // As runc: ambient capabilities are best effort (they need the cap in P and I).
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  }
}

void ApplyRlimits(const msg::Process& p) {
  for (const msg::Rlimit& rl : p.rlimits) {
    struct rlimit lim = {rl.soft, rl.hard};
    if (setrlimit(static_cast<__rlimit_resource_t>(rl.resource), &lim) < 0)
      FailErrno(Format("setting rlimit type %u", rl.resource), errno);
  }
}

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// WaitForStart reports ready and blocks until the sentry sends the start byte.
void WaitForStart() {
  char ready = setup_channel::kReady;
  if (send(g_channel, &ready, 1, MSG_NOSIGNAL) != 1) _exit(1);
  char buf[16];
  for (;;) {
    ssize_t n = recv(g_channel, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(1);  // the sentry is gone or gave up on us
    if (buf[0] == setup_channel::kStart) return;
  }
}

// LoadSeccomp loads the container's filter. When its trapped calls go to a listener (platform
// unotify), the listener is sent to the sentry right away, before exec and before any trapped call
// can wait on it, and closed here: whoever holds it decides those calls, never the container.
void LoadSeccomp(const msg::ContainerSpec& spec) {
  std::string err;
  int listener = -1;
  if (!seccomp_filter::Install(spec, &listener, &err)) Fail(kUnknown, "loading seccomp filter: " + err);
  if (listener < 0) return;
  ssize_t sent = SendControl(setup_channel::kListener, SCM_RIGHTS, &listener, sizeof(listener));
  int e = errno;
  close(listener);
  if (sent != 1) FailErrno("sending the seccomp listener to the sentry", e);
}

// FinishAndExec runs the steps after the start byte and execs; it never returns.
[[noreturn]] void FinishAndExec(const ChildPlan& plan, const std::string& path) {
  const msg::Process& p = *plan.process;
  const msg::ContainerSpec& spec = *plan.spec;
  ApplyRlimits(p);
  umask(p.has_umask ? p.umask : 0022);
  msg::Capabilities caps = p.has_capabilities ? p.capabilities : msg::Capabilities{};
  int last_cap = LastCap();
  // Without no_new_privileges the filter must go in while CAP_SYS_ADMIN is still held, i.e.
  // before the user and capabilities change (as runc does); the later calls pass the filter.
  if (!p.no_new_privileges) LoadSeccomp(spec);
  DropBoundingSet(caps.bounding, last_cap);
  SetUser(p);
  SetCapabilities(caps, last_cap);
  if (p.no_new_privileges) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) FailErrno("prctl(PR_SET_NO_NEW_PRIVS)", errno);
    LoadSeccomp(spec);
  }
  std::vector<char*> argv = CStrings(p.args);
  std::vector<char*> envp = CStrings(p.env);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(path.c_str(), argv.data(), envp.data());
  int e = errno;
  std::string text = Format("exec: \"%s\": %s", p.args[0].c_str(), Err(e).c_str());
  std::string packet;
  packet.push_back(setup_channel::kError);
  packet.push_back(static_cast<char>(kUnknown));
  packet.append(text);
  ssize_t n = send(g_channel, packet.data(), packet.size(), MSG_NOSIGNAL);
  (void)n;
  _exit(127);
}

void ResetSignals() {
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &sa, nullptr);  // EINVAL for the few reserved numbers: fine
  }
}

void SetupInitRootfs(const ChildPlan& plan) {
  const msg::ContainerSpec& spec = *plan.spec;
  if (unshare(CLONE_NEWNS) < 0) FailErrno("creating mount namespace", errno);
  unsigned long propagation = spec.rootfs_propagation ? spec.rootfs_propagation : (MS_SLAVE | MS_REC);
  if (mount(nullptr, "/", nullptr, propagation, nullptr) < 0) FailErrno("setting rootfs propagation", errno);
  SetupNetwork(spec);
  MakeParentMountPrivate(spec.rootfs);
  size_t next_fuse = 0;
  if (spec.root_fuse) {
    MountRootFuse(spec, plan.fuse_fds, &next_fuse);
  } else if (mount(spec.rootfs.c_str(), spec.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    FailErrno(Format("setting up rootfs \"%s\"", spec.rootfs.c_str()), errno);
  }
  int rootfd = open(spec.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) FailErrno(Format("setting up rootfs \"%s\"", spec.rootfs.c_str()), errno);
  for (const msg::Mount& m : spec.mounts) MountOne(rootfd, m, plan.fuse_fds, &next_fuse);
  SetupDev(rootfd, spec);
  // As runc does, a missing cwd is created (as root, before the user switch). If it cannot
  // be, the chdir below reports the cwd and the cause.
  int cwdfd = MkdirAllInRoot(rootfd, plan.process->cwd.empty() ? "/" : plan.process->cwd);
  if (cwdfd >= 0) close(cwdfd);
  PivotRoot(rootfd);
  close(rootfd);
  WriteSysctls(spec);
  GuardPaths(spec);
  if (spec.rootfs_readonly) RemountRootReadonly();
  if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
    FailErrno("sethostname", errno);
}

void JoinContainer(const ChildPlan& plan) {
  if (setns(plan.mnt_ns, CLONE_NEWNS) < 0) FailErrno("joining the container's mount namespace", errno);
  if (plan.net_ns >= 0 && setns(plan.net_ns, CLONE_NEWNET) < 0)
    FailErrno("joining the container's network namespace", errno);
  close(plan.mnt_ns);
  if (plan.net_ns >= 0) close(plan.net_ns);
  if (chdir("/") < 0) FailErrno("chdir /", errno);
}

}  // namespace

void RunChild(const ChildPlan& original) {
  ChildPlan plan = original;
  std::vector<int*> keep = {&plan.channel, &plan.stdio[0], &plan.stdio[1], &plan.stdio[2], &plan.mnt_ns, &plan.net_ns};
  for (int& fd : plan.fuse_fds) keep.push_back(&fd);
  KeepOnly(keep);
  g_channel = plan.channel;
  ResetSignals();  // still all blocked (since before fork) until just before execve
  umask(0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) FailErrno("prctl(PR_SET_PDEATHSIG)", errno);
  // First, so that everything after (the /proc mount included) is done by the init itself.
  if (plan.new_pid_ns) EnterOwnPidNamespace();
  if (plan.cgroups) JoinCgroups(*plan.cgroups);
  if (plan.is_exec) {
    JoinContainer(plan);
  } else {
    SetupInitRootfs(plan);
  }
  SetupStdio(plan);
  const msg::Process& p = *plan.process;
  std::string cwd = p.cwd.empty() ? "/" : p.cwd;
  if (chdir(cwd.c_str()) < 0)
    Fail(kUnknown, Format("chdir to cwd (\"%s\") set in config.json failed: %s", cwd.c_str(), Err(errno).c_str()));
  std::string path = LookPath(p.args[0], p.env);
  WaitForStart();
  FinishAndExec(plan, path);
}
