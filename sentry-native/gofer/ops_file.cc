// Open files and their data: OPEN, CREATE, TMPFILE, READ, WRITE, FLUSH, RELEASE, FSYNC,
// LSEEK, FALLOCATE, COPY_FILE_RANGE, and the choice between kernel passthrough and serving
// READ/WRITE here.
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "fs_util.h"
#include "log.h"
#include "ops.h"
#include "sys.h"

namespace gofer {
namespace ops {
namespace {

// HostOpenFlags turns the kernel's open flags into the gofer's: access mode and the flags that
// change what the host does. O_APPEND is dropped because the kernel sends each WRITE with its
// offset (including page write-back of a shared mapping, which must not land at the end);
// O_DIRECT because buffers and offsets are the kernel's, not aligned for the host fs; the
// creation and link flags because the gofer decides those itself.
int HostOpenFlags(uint32_t kernel_flags) {
  int keep = O_ACCMODE | O_TRUNC | O_NONBLOCK | O_SYNC | O_DSYNC | O_NOATIME | O_LARGEFILE;
  return (static_cast<int>(kernel_flags) & keep) | O_CLOEXEC;
}

// BackingId returns the passthrough backing id of a regular file's node, registering one on
// first use, or 0 when the kernel reads and writes through the gofer instead.
//
// Lifetime: the kernel looks the id up in the opening task after our reply's write has
// returned, so closing it right after the reply races with that lookup (the open then fails
// with EIO). The kernel also wants one backing id for every open of an inode. So the id lives
// as long as the node and is closed when the kernel forgets the inode (NodeTable::Forget).
int BackingId(Worker& w, Node& n) {
  Connection& c = w.conn;
  if (n.type != S_IFREG) return 0;
  // An inode keeps the mode it started with while the kernel has it: mixing passthrough and
  // cached opens of one inode makes the kernel fail the open with EIO.
  int id = n.backing_id.load();
  if (id != 0) return id > 0 ? id : 0;
  if (!c.passthrough) return 0;
  // The node's O_PATH fd is enough: the kernel opens its own backing file per open file from
  // its path, with the open's flags; an O_PATH registration holds no read or write access.
  fuse::fuse_backing_map map = {};
  map.fd = n.fd.get();
  int got = ioctl(c.fuse_fd, fuse::kDevIocBackingOpen, &map);
  if (got <= 0) {
    int err = got < 0 ? errno : EINVAL;
    // ELOOP: this file's fs is stacked as deep as max_stack_depth allows (overlayfs under
    // depth 1), and EMFILE or ENOMEM may pass: serve this inode ourselves. EPERM (no
    // CAP_SYS_ADMIN), ENOTTY (old kernel) and the like will not get better: serve every file
    // ourselves from now on.
    if (err == EPERM || err == ENOTTY || err == EINVAL || err == EOPNOTSUPP || err == ENOSYS) c.passthrough = false;
    if (!c.logged_passthrough_fallback.exchange(true)) {
      logging::Debug("gofer %s: %s: FUSE_DEV_IOC_BACKING_OPEN: %s; serving READ/WRITE", c.cfg.id.c_str(),
                     c.host_path.c_str(), sys::ErrnoText(err).c_str());
    }
    int expected = 0;
    n.backing_id.compare_exchange_strong(expected, -1);
    return expected > 0 ? expected : 0;
  }
  int expected = 0;
  if (n.backing_id.compare_exchange_strong(expected, got)) return got;
  // Another request registered this inode first: use its id, drop ours.
  uint32_t mine = static_cast<uint32_t>(got);
  ioctl(c.fuse_fd, fuse::kDevIocBackingClose, &mine);
  return expected > 0 ? expected : 0;
}

// FillOpenOut stores the handle and says how the kernel does I/O on it. Never FOPEN_DIRECT_IO:
// without passthrough the page cache serves mmap. FOPEN_NOFLUSH: close() needs no FLUSH, the
// gofer holds no locks or buffers. KEEP_CACHE only when nobody else changes the files.
void FillOpenOut(Worker& w, std::shared_ptr<Handle> h, fuse::fuse_open_out* out) {
  *out = {};
  int backing = BackingId(w, *h->node);
  out->fh = w.conn.handles.Add(std::move(h));
  out->open_flags = fuse::kFopenNoflush;
  if (backing > 0) {
    out->open_flags |= fuse::kFopenPassthrough;
    out->backing_id = backing;
  } else if (w.conn.cfg.mode == Mode::kExclusive) {
    out->open_flags |= fuse::kFopenKeepCache;
  }
}

std::shared_ptr<Handle> GetHandle(Worker& w, uint64_t fh) {
  auto h = w.conn.handles.Get(fh);
  if (!h) w.ReplyError(EBADF);
  return h;
}

// CreateFile opens name in dir for CREATE; *created says whether the gofer made it.
Result<unique_fd> CreateFile(int dir, const char* name, int flags, mode_t mode, bool exclusive, bool* created) {
  int fd = openat(dir, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  *created = fd >= 0;
  if (fd < 0 && errno == EEXIST && !exclusive) {
    // The kernel saw no such name, but it appeared since: open it as open(2) would.
    fd = openat(dir, name, flags | O_NOFOLLOW);
  }
  if (fd < 0) return Result<unique_fd>::Error(errno);
  return unique_fd(fd);
}

}  // namespace

void Open(Worker& w, Args& a) {
  fuse::fuse_open_in o;
  if (!a.Read(&o)) return w.ReplyError(EINVAL);
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  auto fd = Reopen(w.conn.cfg.proc_fd, *n, HostOpenFlags(o.flags));
  if (!fd.ok()) return w.ReplyError(fd.error());
  if (o.open_flags & fuse::kOpenKillSuidgid) {  // O_TRUNC by an unprivileged caller
    int err = KillSuidgid(w.conn.cfg.proc_fd, fd->get());
    if (err != 0) return w.ReplyError(err);
  }
  fuse::fuse_open_out out;
  FillOpenOut(w, std::make_shared<Handle>(std::move(*fd), n), &out);
  if (!w.Reply(&out, sizeof(out))) w.conn.handles.Remove(out.fh);
}

void Create(Worker& w, Args& a) {
  fuse::fuse_create_in ci;
  if (!a.Read(&ci)) return w.ReplyError(EINVAL);
  const char* name = a.Name();
  if (name == nullptr || !ValidName(name)) return w.ReplyError(EINVAL);
  auto parent = w.GetNode(w.in().nodeid);
  if (!parent) return w.ReplyError(ESTALE);
  if (parent->type != S_IFDIR) return w.ReplyError(ENOTDIR);
  mode_t mode = ci.mode & 07777 & ~(ci.umask & 0777);
  bool created;
  auto fd = CreateFile(parent->fd.get(), name, HostOpenFlags(ci.flags), mode, ci.flags & O_EXCL, &created);
  if (!fd.ok()) return w.ReplyError(fd.error());
  auto st = StatFd(fd->get());
  if (!st.ok()) return w.ReplyError(st.error());
  int proc_fd = w.conn.cfg.proc_fd;
  if (created) {
    int err = SetOwner(proc_fd, fd->get(), *st, parent->fd.get(), w.in().uid, w.in().gid);
    if (err == 0) {
      st = StatFd(fd->get());
      err = st.ok() ? 0 : st.error();
    }
    if (err != 0) {
      unlinkat(parent->fd.get(), name, 0);
      return w.ReplyError(err);
    }
  } else if (ci.open_flags & fuse::kOpenKillSuidgid) {
    int err = KillSuidgid(proc_fd, fd->get());
    if (err == 0) {
      st = StatFd(fd->get());
      err = st.ok() ? 0 : st.error();
    }
    if (err != 0) return w.ReplyError(err);
  }
  // The node's O_PATH fd comes from the open file itself, so it is the same inode even if
  // the name changed meanwhile.
  char fdname[16];
  FdName(fd->get(), fdname);
  int path_fd = openat(proc_fd, fdname, O_PATH | O_CLOEXEC);
  if (path_fd < 0) return w.ReplyError(errno);
  auto n = w.Ref(unique_fd(path_fd), *st, parent->id, name);
  struct {
    fuse::fuse_entry_out entry;
    fuse::fuse_open_out open;
  } out;
  w.FillEntry(*n, *st, &out.entry);
  FillOpenOut(w, std::make_shared<Handle>(std::move(*fd), n), &out.open);
  if (!w.Reply(&out, sizeof(out))) {
    w.conn.handles.Remove(out.open.fh);
    w.conn.nodes.Forget(n->id, 1);
  }
}

void Tmpfile(Worker& w, Args& a) {
  fuse::fuse_create_in ci;
  if (!a.Read(&ci)) return w.ReplyError(EINVAL);
  auto parent = w.GetNode(w.in().nodeid);
  if (!parent) return w.ReplyError(ESTALE);
  if (parent->type != S_IFDIR) return w.ReplyError(ENOTDIR);
  mode_t mode = ci.mode & 07777 & ~(ci.umask & 0777);
  int flags = (HostOpenFlags(ci.flags) & ~O_TRUNC) | O_TMPFILE;
  if ((flags & O_ACCMODE) == O_RDONLY) return w.ReplyError(EINVAL);
  unique_fd fd(openat(parent->fd.get(), ".", flags, mode));
  if (!fd) return w.ReplyError(errno);
  auto st = StatFd(fd.get());
  if (!st.ok()) return w.ReplyError(st.error());
  int proc_fd = w.conn.cfg.proc_fd;
  int err = SetOwner(proc_fd, fd.get(), *st, parent->fd.get(), w.in().uid, w.in().gid);
  if (err != 0) return w.ReplyError(err);
  st = StatFd(fd.get());
  if (!st.ok()) return w.ReplyError(st.error());
  char fdname[16];
  FdName(fd.get(), fdname);
  int path_fd = openat(proc_fd, fdname, O_PATH | O_CLOEXEC);
  if (path_fd < 0) return w.ReplyError(errno);
  auto n = w.Ref(unique_fd(path_fd), *st, 0, nullptr);  // nameless until linked
  struct {
    fuse::fuse_entry_out entry;
    fuse::fuse_open_out open;
  } out;
  w.FillEntry(*n, *st, &out.entry);
  FillOpenOut(w, std::make_shared<Handle>(std::move(fd), n), &out.open);
  if (!w.Reply(&out, sizeof(out))) {
    w.conn.handles.Remove(out.open.fh);
    w.conn.nodes.Forget(n->id, 1);
  }
}

void Read(Worker& w, Args& a) {
  fuse::fuse_read_in r;
  if (!a.Read(&r)) return w.ReplyError(EINVAL);
  auto h = GetHandle(w, r.fh);
  if (!h) return;
  size_t size = std::min<size_t>(r.size, w.out_capacity());
  ssize_t n = pread(h->fd.get(), w.out_data(), size, static_cast<off_t>(r.offset));
  if (n < 0) return w.ReplyError(errno);
  w.ReplyOutData(static_cast<size_t>(n));
}

void Write(Worker& w, Args& a) {
  fuse::fuse_write_in wi;
  size_t in_size = w.conn.minor < 9 ? fuse::kCompatWriteInSize : sizeof(wi);
  if (!a.Read(&wi, in_size)) return w.ReplyError(EINVAL);
  const uint8_t* data = a.Bytes(wi.size);
  if (data == nullptr) return w.ReplyError(EINVAL);
  auto h = GetHandle(w, wi.fh);
  if (!h) return;
  if (wi.write_flags & fuse::kWriteKillSuidgid) {  // an unprivileged writer
    int err = KillSuidgid(w.conn.cfg.proc_fd, h->fd.get());
    if (err != 0) return w.ReplyError(err);
  }
  ssize_t n = pwrite(h->fd.get(), data, wi.size, static_cast<off_t>(wi.offset));
  if (n < 0) return w.ReplyError(errno);
  fuse::fuse_write_out o = {};
  o.size = static_cast<uint32_t>(n);
  w.Reply(&o, sizeof(o));
}

void Flush(Worker& w, Args&) {
  // Nothing to flush: writes are done when WRITE is answered, and locks stay in the kernel.
  w.Reply(nullptr, 0);
}

void Release(Worker& w, Args& a) {
  fuse::fuse_release_in r;
  if (!a.Read(&r)) return w.ReplyError(EINVAL);
  w.conn.handles.Remove(r.fh);
  w.Reply(nullptr, 0);
}

void Fsync(Worker& w, Args& a) {
  fuse::fuse_fsync_in f;
  if (!a.Read(&f)) return w.ReplyError(EINVAL);
  auto h = GetHandle(w, f.fh);
  if (!h) return;
  int rc = (f.fsync_flags & fuse::kFsyncFdatasync) ? fdatasync(h->fd.get()) : fsync(h->fd.get());
  if (rc != 0) return w.ReplyError(errno);
  w.Reply(nullptr, 0);
}

void Lseek(Worker& w, Args& a) {
  fuse::fuse_lseek_in l;
  if (!a.Read(&l)) return w.ReplyError(EINVAL);
  auto h = GetHandle(w, l.fh);
  if (!h) return;
  off_t off = lseek(h->fd.get(), static_cast<off_t>(l.offset), static_cast<int>(l.whence));
  if (off < 0) return w.ReplyError(errno);
  fuse::fuse_lseek_out o = {static_cast<uint64_t>(off)};
  w.Reply(&o, sizeof(o));
}

void Fallocate(Worker& w, Args& a) {
  fuse::fuse_fallocate_in f;
  if (!a.Read(&f)) return w.ReplyError(EINVAL);
  auto h = GetHandle(w, f.fh);
  if (!h) return;
  if (fallocate(h->fd.get(), static_cast<int>(f.mode), static_cast<off_t>(f.offset), static_cast<off_t>(f.length)) !=
      0) {
    return w.ReplyError(errno);
  }
  w.Reply(nullptr, 0);
}

void CopyFileRange(Worker& w, Args& a) {
  fuse::fuse_copy_file_range_in c;
  if (!a.Read(&c)) return w.ReplyError(EINVAL);
  auto in = GetHandle(w, c.fh_in);
  if (!in) return;
  auto out = GetHandle(w, c.fh_out);
  if (!out) return;
  loff_t off_in = static_cast<loff_t>(c.off_in), off_out = static_cast<loff_t>(c.off_out);
  // The reply's size is 32 bits wide.
  size_t len = std::min<uint64_t>(c.len, 1u << 30);
  ssize_t n = copy_file_range(in->fd.get(), &off_in, out->fd.get(), &off_out, len, static_cast<unsigned>(c.flags));
  if (n < 0) return w.ReplyError(errno);
  fuse::fuse_write_out o = {};
  o.size = static_cast<uint32_t>(n);
  w.Reply(&o, sizeof(o));
}

}  // namespace ops
}  // namespace gofer
