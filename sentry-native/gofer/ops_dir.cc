// Directories: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR. Offsets given to the kernel
// are the host's getdents64 d_off cookies, so telldir/seekdir and huge directories work as
// on the host.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "fs_util.h"
#include "ops.h"

namespace gofer {
namespace ops {
namespace {

struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
  char d_name[];
};

bool IsDotOrDotDot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

// DirReply builds one READDIR(PLUS) reply in the worker's output area.
class DirReply {
 public:
  DirReply(Worker& w, uint64_t dir_id, size_t size, bool plus)
      : w_(w), dir_id_(dir_id), out_(w.out_data()), cap_(std::min(size, w.out_capacity())), plus_(plus) {}

  // Add appends one host entry; false when it does not fit (the caller stops there).
  bool Add(int dir_fd, const LinuxDirent64& d) {
    size_t namelen = strlen(d.d_name);
    size_t need = plus_ ? fuse::DirentplusSize(namelen) : fuse::DirentSize(namelen);
    if (used_ + need > cap_) return false;
    uint8_t* p = out_ + used_;
    memset(p, 0, need);
    fuse::fuse_dirent* de;
    if (plus_) {
      auto* dp = reinterpret_cast<fuse::fuse_direntplus*>(p);
      FillPlus(dir_fd, d.d_name, &dp->entry_out);
      de = &dp->dirent;
    } else {
      de = reinterpret_cast<fuse::fuse_dirent*>(p);
    }
    de->ino = d.d_ino;
    de->off = static_cast<uint64_t>(d.d_off);
    de->namelen = static_cast<uint32_t>(namelen);
    de->type = d.d_type;
    memcpy(reinterpret_cast<uint8_t*>(de) + sizeof(*de), d.d_name, namelen);
    used_ += need;
    return true;
  }

  size_t used() const { return used_; }
  // room is a guess of how many host dirent bytes would still fit, to size getdents64 calls.
  size_t room() const {
    size_t left = cap_ - used_;
    return plus_ ? left / 4 : left;
  }

 private:
  // FillPlus looks name up like LOOKUP does. "." and "..", and names that vanished or cannot be
  // opened now (EMFILE), get node id 0: the kernel then takes the name alone and looks it up
  // when it needs it.
  void FillPlus(int dir_fd, const char* name, fuse::fuse_entry_out* e) {
    if (IsDotOrDotDot(name)) return;
    auto fd = OpenChild(dir_fd, name);
    if (!fd.ok()) return;
    auto st = StatFd(fd->get());
    if (!st.ok()) return;
    auto n = w_.Ref(std::move(*fd), *st, dir_id_, name);
    w_.FillEntry(*n, *st, e);
    w_.refs.push_back(n->id);
  }

  Worker& w_;
  uint64_t dir_id_;
  uint8_t* out_;
  size_t cap_;
  bool plus_;
  size_t used_ = 0;
};

}  // namespace

void Opendir(Worker& w, Args& a) {
  fuse::fuse_open_in o;
  if (!a.Read(&o)) return w.ReplyError(EINVAL);
  auto n = w.GetNode(w.in().nodeid);
  if (!n) return w.ReplyError(ESTALE);
  if (n->type != S_IFDIR) return w.ReplyError(ENOTDIR);
  auto fd = Reopen(w.conn.cfg.proc_fd, *n, O_RDONLY);
  if (!fd.ok()) return w.ReplyError(fd.error());
  fuse::fuse_open_out out = {};
  out.fh = w.conn.handles.Add(std::make_shared<Handle>(std::move(*fd), n));
  if (!w.Reply(&out, sizeof(out))) w.conn.handles.Remove(out.fh);
}

void Readdir(Worker& w, Args& a, bool plus) {
  fuse::fuse_read_in r;
  if (!a.Read(&r)) return w.ReplyError(EINVAL);
  auto h = w.conn.handles.Get(r.fh);
  if (!h) return w.ReplyError(EBADF);
  std::lock_guard<std::mutex> lock(h->dir_mu);
  int fd = h->fd.get();
  off_t want = static_cast<off_t>(r.offset);
  if (want != h->dir_pos) {
    if (lseek(fd, want, SEEK_SET) < 0) return w.ReplyError(errno);
    h->dir_pos = want;
  }
  DirReply reply(w, h->node->id, r.size, plus);
  for (;;) {
    size_t ask = std::clamp<size_t>(reply.room(), 1024, Worker::kScratchSize);
    long n = syscall(SYS_getdents64, fd, w.scratch(), ask);
    if (n < 0) {
      if (reply.used() == 0) return w.ReplyError(errno);
      break;  // answer what we have; the error comes again on the next call
    }
    if (n == 0) break;  // end of directory
    bool full = false;
    for (long pos = 0; pos < n;) {
      auto* d = reinterpret_cast<LinuxDirent64*>(w.scratch() + pos);
      if (!reply.Add(fd, *d)) {
        full = true;
        break;
      }
      h->dir_pos = d->d_off;
      pos += d->d_reclen;
    }
    if (full) {
      // The host fd has read past what we sent: seek back to the last sent cookie next time.
      if (lseek(fd, h->dir_pos, SEEK_SET) < 0) h->dir_pos = -1;
      break;
    }
  }
  if (!w.ReplyOutData(reply.used())) {
    // The kernel never saw these entries: take back the lookups READDIRPLUS counted.
    for (uint64_t id : w.refs) w.conn.nodes.Forget(id, 1);
  }
}

void Releasedir(Worker& w, Args& a) {
  fuse::fuse_release_in r;
  if (!a.Read(&r)) return w.ReplyError(EINVAL);
  w.conn.handles.Remove(r.fh);
  w.Reply(nullptr, 0);
}

void Fsyncdir(Worker& w, Args& a) {
  fuse::fuse_fsync_in f;
  if (!a.Read(&f)) return w.ReplyError(EINVAL);
  auto h = w.conn.handles.Get(f.fh);
  if (!h) return w.ReplyError(EBADF);
  int rc = (f.fsync_flags & fuse::kFsyncFdatasync) ? fdatasync(h->fd.get()) : fsync(h->fd.get());
  if (rc != 0) return w.ReplyError(errno);
  w.Reply(nullptr, 0);
}

}  // namespace ops
}  // namespace gofer
