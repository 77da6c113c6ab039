// Names, attributes and the namespace: LOOKUP, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD,
// MKDIR, UNLINK, RMDIR, RENAME(2), LINK, STATFS.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs_util.h"
#include "ops.h"

namespace gofer {
namespace ops {
namespace {

// ParentAndName reads a NUL-terminated name and finds the request's node (a directory).
// On failure it replies and returns false.
bool ParentAndName(Worker& w, Args& a, std::shared_ptr<Node>* parent, const char** name) {
  *name = a.Name();
  if (*name == nullptr) {
    w.ReplyError(EINVAL);
    return false;
  }
  *parent = w.GetNode(w.in().nodeid);
  if (!*parent) {
    w.ReplyError(ESTALE);
    return false;
  }
  if ((*parent)->type != S_IFDIR) {
    w.ReplyError(ENOTDIR);
    return false;
  }
  if (!ValidName(*name)) {
    w.ReplyError(EINVAL);
    return false;
  }
  return true;
}

// ReplyNewEntry finishes MKNOD, MKDIR and SYMLINK: opens what was just made at name, gives it
// the caller's ownership and answers its entry. If ownership cannot be set, the object is
// removed again so that a failed call leaves nothing behind.
void ReplyNewEntry(Worker& w, const Node& parent, const char* name, bool is_dir) {
  auto fd = OpenChild(parent.fd.get(), name);
  if (!fd.ok()) return w.ReplyError(fd.error());
  auto st = StatFd(fd->get());
  if (!st.ok()) return w.ReplyError(st.error());
  int err = SetOwner(w.conn.cfg.proc_fd, fd->get(), *st, parent.fd.get(), w.in().uid, w.in().gid);
  if (err == 0) {
    st = StatFd(fd->get());
    err = st.ok() ? 0 : st.error();
  }
  if (err != 0) {
    unlinkat(parent.fd.get(), name, is_dir ? AT_REMOVEDIR : 0);
    return w.ReplyError(err);
  }
  auto n = w.Ref(std::move(*fd), *st, parent.id, name);
  w.ReplyEntry(n, *st);
}

int SetTimes(int fd, const fuse::fuse_setattr_in& s) {
  struct timespec ts[2];
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_nsec = UTIME_OMIT;
  if (s.valid & fuse::kFattrAtime) {
    if (s.valid & fuse::kFattrAtimeNow) {
      ts[0].tv_nsec = UTIME_NOW;
    } else {
      ts[0].tv_sec = static_cast<time_t>(s.atime);
      ts[0].tv_nsec = s.atimensec;
    }
  }
  if (s.valid & fuse::kFattrMtime) {
    if (s.valid & fuse::kFattrMtimeNow) {
      ts[1].tv_nsec = UTIME_NOW;
    } else {
      ts[1].tv_sec = static_cast<time_t>(s.mtime);
      ts[1].tv_nsec = s.mtimensec;
    }
  }
  return utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

// Truncate sets the size through the open handle when the kernel names one, else through a
// write-only open of the inode (O_NONBLOCK: never wait on a FIFO).
int Truncate(Worker& w, const Node& n, const fuse::fuse_setattr_in& s) {
  if (s.valid & fuse::kFattrFh) {
    auto h = w.conn.handles.Get(s.fh);
    if (!h) return EBADF;
    return ftruncate(h->fd.get(), static_cast<off_t>(s.size)) == 0 ? 0 : errno;
  }
  if (n.type == S_IFDIR) return EISDIR;
  auto fd = Reopen(w.conn.cfg.proc_fd, n, O_WRONLY | O_NONBLOCK);
  if (!fd.ok()) return fd.error();
  return ftruncate(fd->get(), static_cast<off_t>(s.size)) == 0 ? 0 : errno;
}

}  // namespace

void Lookup(Worker& w, Args& a) {
  std::shared_ptr<Node> parent;
  const char* name;
  if (!ParentAndName(w, a, &parent, &name)) return;
  auto fd = OpenChild(parent->fd.get(), name);
  if (!fd.ok()) {
    if (fd.error() == ENOENT) return w.ReplyNoEntry();
    return w.ReplyError(fd.error());
  }
  auto st = StatFd(fd->get());
  if (!st.ok()) return w.ReplyError(st.error());
  auto n = w.Ref(std::move(*fd), *st, parent->id, name);
  w.ReplyEntry(n, *st);
}

void Getattr(Worker& w, Args& a) {
  fuse::fuse_getattr_in g;
  if (!a.Read(&g)) g = {};
  Result<struct stat> st = Result<struct stat>::Error(ESTALE);
  if (g.getattr_flags & fuse::kGetattrFh) {
    auto h = w.conn.handles.Get(g.fh);
    if (h) st = StatFd(h->fd.get());
  }
  if (!st.ok()) {
    auto n = w.GetNode(w.in().nodeid);
    if (!n) return w.ReplyError(ESTALE);
    st = StatFd(n->fd.get());
  }
  if (!st.ok()) return w.ReplyError(st.error());
  w.ReplyAttr(*st);
}

void Setattr(Worker& w, Args& a) {
  fuse::fuse_setattr_in s;
  if (!a.Read(&s)) return w.ReplyError(EINVAL);
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  int fd = n->fd.get();
  // Owner first: chown clears S_ISUID/S_ISGID, so a mode in the same request is set after.
  if (s.valid & (fuse::kFattrUid | fuse::kFattrGid)) {
    uid_t uid = (s.valid & fuse::kFattrUid) ? s.uid : static_cast<uid_t>(-1);
    gid_t gid = (s.valid & fuse::kFattrGid) ? s.gid : static_cast<gid_t>(-1);
    if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return w.ReplyError(errno);
  }
  if (s.valid & fuse::kFattrSize) {
    int err = Truncate(w, *n, s);
    if (err != 0) return w.ReplyError(err);
  }
  // FATTR_KILL_SUIDGID (HANDLE_KILLPRIV_V2): an unprivileged chown or truncate; a mode in the
  // same request says what the caller wants instead. A request that changes nothing is the
  // kernel's own privilege removal (notify_change with only ATTR_KILL_*, which it sends as an
  // empty SETATTR under HANDLE_KILLPRIV_V2): a passthrough write, fallocate or copy to a
  // set-ID file by an unprivileged caller, which never reaches us as a WRITE; also
  // chown(-1, -1), which clears the bits on the host too.
  bool kill_only = (s.valid & ~(fuse::kFattrFh | fuse::kFattrLockOwner | fuse::kFattrCtime)) == 0;
  if (((s.valid & fuse::kFattrKillSuidgid) && !(s.valid & fuse::kFattrMode)) || kill_only) {
    int err = KillSuidgid(w.conn.cfg.proc_fd, fd);
    if (err != 0) return w.ReplyError(err);
  }
  if (s.valid & fuse::kFattrMode) {
    int err = Chmod(w.conn.cfg.proc_fd, fd, s.mode & 07777);
    if (err != 0) return w.ReplyError(err);
  }
  if (s.valid & (fuse::kFattrAtime | fuse::kFattrMtime)) {
    int err = SetTimes(fd, s);
    if (err != 0) return w.ReplyError(err);
  }
  // ctime is the host's to set.
  auto st = StatFd(fd);
  if (!st.ok()) return w.ReplyError(st.error());
  w.ReplyAttr(*st);
}

void Readlink(Worker& w, Args&) {
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  char* buf = reinterpret_cast<char*>(w.out_data());
  ssize_t len = readlinkat(n->fd.get(), "", buf, PATH_MAX);
  if (len < 0) return w.ReplyError(errno);
  w.ReplyOutData(static_cast<size_t>(len));
}

void Symlink(Worker& w, Args& a) {
  std::shared_ptr<Node> parent;
  const char* name;
  if (!ParentAndName(w, a, &parent, &name)) return;
  const char* target = a.Name();
  if (target == nullptr) return w.ReplyError(EINVAL);
  // The target is stored as given: the kernel resolves it later, in the container's view.
  if (symlinkat(target, parent->fd.get(), name) != 0) return w.ReplyError(errno);
  ReplyNewEntry(w, *parent, name, false);
}

void Mknod(Worker& w, Args& a) {
  fuse::fuse_mknod_in m;
  if (!a.Read(&m)) return w.ReplyError(EINVAL);
  std::shared_ptr<Node> parent;
  const char* name;
  if (!ParentAndName(w, a, &parent, &name)) return;
  // FUSE_DONT_MASK: the caller's umask comes with the request and is ours to apply.
  mode_t mode = m.mode & ~(m.umask & 0777);
  if (mknodat(parent->fd.get(), name, mode, DecodeDev(m.rdev)) != 0) return w.ReplyError(errno);
  ReplyNewEntry(w, *parent, name, false);
}

void Mkdir(Worker& w, Args& a) {
  fuse::fuse_mkdir_in m;
  if (!a.Read(&m)) return w.ReplyError(EINVAL);
  std::shared_ptr<Node> parent;
  const char* name;
  if (!ParentAndName(w, a, &parent, &name)) return;
  if (mkdirat(parent->fd.get(), name, m.mode & 07777 & ~(m.umask & 0777)) != 0) return w.ReplyError(errno);
  ReplyNewEntry(w, *parent, name, true);
}

void Unlink(Worker& w, Args& a) {
  std::shared_ptr<Node> parent;
  const char* name;
  if (!ParentAndName(w, a, &parent, &name)) return;
  if (unlinkat(parent->fd.get(), name, 0) != 0) return w.ReplyError(errno);
  w.Reply(nullptr, 0);
}

void Rmdir(Worker& w, Args& a) {
  std::shared_ptr<Node> parent;
  const char* name;
  if (!ParentAndName(w, a, &parent, &name)) return;
  if (unlinkat(parent->fd.get(), name, AT_REMOVEDIR) != 0) return w.ReplyError(errno);
  w.Reply(nullptr, 0);
}

void Rename(Worker& w, Args& a, bool v2) {
  fuse::fuse_rename2_in r = {};
  if (v2) {
    if (!a.Read(&r)) return w.ReplyError(EINVAL);
  } else {
    fuse::fuse_rename_in r1;
    if (!a.Read(&r1)) return w.ReplyError(EINVAL);
    r.newdir = r1.newdir;
  }
  std::shared_ptr<Node> olddir;
  const char* oldname;
  if (!ParentAndName(w, a, &olddir, &oldname)) return;
  const char* newname = a.Name();
  if (newname == nullptr || !ValidName(newname)) return w.ReplyError(EINVAL);
  auto newdir = w.GetNode(r.newdir);
  if (!newdir) return w.ReplyError(ESTALE);
  // RENAME_WHITEOUT would make a device node on the host on the container's behalf: refused.
  if (r.flags & ~static_cast<uint32_t>(RENAME_NOREPLACE | RENAME_EXCHANGE)) return w.ReplyError(EINVAL);
  if (syscall(SYS_renameat2, olddir->fd.get(), oldname, newdir->fd.get(), newname, r.flags) != 0) {
    return w.ReplyError(errno);
  }
  w.Reply(nullptr, 0);
}

void Link(Worker& w, Args& a) {
  fuse::fuse_link_in l;
  if (!a.Read(&l)) return w.ReplyError(EINVAL);
  std::shared_ptr<Node> parent;
  const char* name;
  if (!ParentAndName(w, a, &parent, &name)) return;
  auto old = w.GetNode(l.oldnodeid);
  if (!old) return w.ReplyError(ESTALE);
  // AT_EMPTY_PATH links the inode the O_PATH fd holds (needs CAP_DAC_READ_SEARCH).
  if (linkat(old->fd.get(), "", parent->fd.get(), name, AT_EMPTY_PATH) != 0) return w.ReplyError(errno);
  auto fd = OpenChild(parent->fd.get(), name);
  if (!fd.ok()) return w.ReplyError(fd.error());
  auto st = StatFd(fd->get());
  if (!st.ok()) return w.ReplyError(st.error());
  auto n = w.Ref(std::move(*fd), *st, parent->id, name);
  w.ReplyEntry(n, *st);
}

void Statfs(Worker& w, Args&) {
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  struct statfs sf;
  if (fstatfs(n->fd.get(), &sf) != 0) return w.ReplyError(errno);
  fuse::fuse_statfs_out o = {};
  o.st.blocks = sf.f_blocks;
  o.st.bfree = sf.f_bfree;
  o.st.bavail = sf.f_bavail;
  o.st.files = sf.f_files;
  o.st.ffree = sf.f_ffree;
  o.st.bsize = static_cast<uint32_t>(sf.f_bsize);
  o.st.namelen = static_cast<uint32_t>(sf.f_namelen);
  o.st.frsize = static_cast<uint32_t>(sf.f_frsize);
  w.Reply(&o, sizeof(o));
}

}  // namespace ops
}  // namespace gofer
