// One served /dev/fuse fd: INIT, worker threads, dispatch and replies (see connection.h).
#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "fs_util.h"
#include "log.h"
#include "ops.h"
#include "sys.h"

namespace gofer {
namespace {

// kExclusiveTimeout caches entries and attributes for a day: only this sandbox changes them.
constexpr uint64_t kExclusiveTimeout = 24 * 3600;
// kSharedTimeout is the staleness the host or other pods may see from us, in seconds.
constexpr uint64_t kSharedTimeout = 1;
// kStackSize is each extra worker's stack: handlers keep big buffers off the stack.
constexpr size_t kStackSize = 256 * 1024;

void* WorkerMain(void* arg) {
  auto* c = static_cast<Connection*>(arg);
  Worker w(*c);
  if (!w.ok()) {
    logging::Error("gofer %s: %s: mapping a request buffer: %s", c->cfg.id.c_str(), c->host_path.c_str(),
                   sys::ErrnoText(errno).c_str());
    return nullptr;
  }
  w.Loop();
  return nullptr;
}

// Init answers FUSE_INIT: what the gofer asks of the kernel, and what it promises.
void Init(Worker& w, Args& a) {
  Connection& c = w.conn;
  fuse::fuse_init_in ii;
  if (!a.Read(&ii, std::min(a.remaining(), sizeof(ii))) || a.remaining() > 0 || ii.major == 0) {
    return w.ReplyError(EINVAL);
  }
  if (ii.major != fuse::kVersionMajor) {
    logging::Error("gofer %s: %s: kernel speaks FUSE %u.%u, the gofer %u.%u", c.cfg.id.c_str(),
                   c.host_path.c_str(), ii.major, ii.minor, fuse::kVersionMajor, fuse::kVersionMinor);
    if (ii.major < fuse::kVersionMajor) return w.ReplyError(EPROTO);
    // A newer major: answer ours; the kernel retries INIT with it.
    fuse::fuse_init_out o = {};
    o.major = fuse::kVersionMajor;
    o.minor = fuse::kVersionMinor;
    w.Reply(&o, fuse::kCompatInitOutSize);
    return;
  }
  uint64_t offered = ii.flags;
  if (ii.flags & fuse::kInitExt) offered |= uint64_t{ii.flags2} << 32;
  // FUSE_HANDLE_KILLPRIV_V2: the gofer clears S_ISUID/S_ISGID on unprivileged writes, truncates
  // and chowns, so the kernel may mark inodes S_NOSEC and skip a GETXATTR(security.capability)
  // round trip before every write(2) (see Setattr for passthrough writes).
  // Locks (FUSE_POSIX_LOCKS, FUSE_FLOCK_LOCKS) are deliberately not asked for: the kernel then
  // keeps flock and fcntl locks local to the mount, so they are sandbox-wide and not
  // coordinated with the host. FUSE_WRITEBACK_CACHE is not asked for either: it excludes
  // passthrough, and write-through keeps the backing file current for the host.
  uint64_t want = fuse::kAsyncRead | fuse::kAtomicOTrunc | fuse::kBigWrites | fuse::kDontMask |
                  fuse::kDoReaddirplus | fuse::kReaddirplusAuto | fuse::kParallelDirops | fuse::kMaxPages |
                  fuse::kInitExt | fuse::kSetxattrExt | fuse::kHandleKillprivV2;
  if (c.cfg.mode == Mode::kExclusive) {
    want |= fuse::kCacheSymlinks;
  } else {
    want |= fuse::kAutoInvalData;  // drop cached pages when the host changed size or mtime
  }
  if (c.cfg.passthrough_depth > 0) want |= fuse::kPassthrough;
  uint64_t flags = offered & want;
  c.minor = std::min(ii.minor, fuse::kVersionMinor);
  c.setxattr_ext = flags & fuse::kSetxattrExt;
  c.passthrough = flags & fuse::kPassthrough;
  bool exclusive = c.cfg.mode == Mode::kExclusive;
  c.entry_timeout = c.attr_timeout = exclusive ? kExclusiveTimeout : kSharedTimeout;
  c.negative_entries = exclusive;

  fuse::fuse_init_out o = {};
  o.major = fuse::kVersionMajor;
  o.minor = c.minor;
  o.max_readahead = ii.max_readahead;
  o.flags = static_cast<uint32_t>(flags);
  o.flags2 = static_cast<uint32_t>(flags >> 32);
  o.max_write = kMaxWrite;
  o.time_gran = 1;
  o.max_pages = kMaxPages;
  o.max_stack_depth = c.passthrough ? static_cast<uint32_t>(c.cfg.passthrough_depth) : 0;
  size_t size = sizeof(o);
  if (c.minor < 5) {
    size = fuse::kCompatInitOutSize;
  } else if (c.minor < 23) {
    size = fuse::kCompat22InitOutSize;
  }
  if (!w.Reply(&o, size)) return;
  logging::Info("gofer %s: serving %s on fd %d (FUSE 7.%u, passthrough %s)", c.cfg.id.c_str(),
                c.host_path.c_str(), c.fuse_fd, c.minor, c.passthrough ? "on" : "off");
  if (c.cfg.passthrough_depth > 0 && !c.passthrough) {
    logging::Debug("gofer %s: %s: the kernel offers no FUSE_PASSTHROUGH; serving READ/WRITE", c.cfg.id.c_str(),
                   c.host_path.c_str());
  }
  c.StartWorkers();
}

// Forget and BatchForget take lookups back; they have no reply.
void Forget(Worker& w, Args& a) {
  fuse::fuse_forget_in f;
  if (a.Read(&f)) w.conn.nodes.Forget(w.in().nodeid, f.nlookup);
}

void BatchForget(Worker& w, Args& a) {
  fuse::fuse_batch_forget_in b;
  if (!a.Read(&b)) return;
  for (uint32_t i = 0; i < b.count; i++) {
    fuse::fuse_forget_one one;
    if (!a.Read(&one)) return;
    w.conn.nodes.Forget(one.nodeid, one.nlookup);
  }
}

uint32_t EncodeDev(dev_t d) {
  // The kernel's new_encode_dev: 12 bits of major, 20 of minor, in 32 bits.
  uint32_t maj = major(d), min = minor(d);
  return (min & 0xff) | ((maj & 0xfff) << 8) | ((min & ~0xffu) << 12);
}

}  // namespace

Connection::Connection(const Config& cfg_, int fuse_fd_, std::string host_path_, unique_fd root,
                       const struct stat& root_st)
    : cfg(cfg_), fuse_fd(fuse_fd_), host_path(std::move(host_path_)), nodes(fuse_fd_, cfg_.max_nodes) {
  nodes.SetRoot(std::move(root), root_st);
}

Connection::~Connection() = default;

void Connection::StartWorkers() {
  std::call_once(started_, [this] {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackSize);
    for (int i = 1; i < cfg.threads; i++) {
      pthread_t t;
      int rc = pthread_create(&t, &attr, WorkerMain, this);
      if (rc != 0) {
        logging::Error("gofer %s: %s: starting worker thread: %s", cfg.id.c_str(), host_path.c_str(),
                       sys::ErrnoText(rc).c_str());
        break;
      }
      threads_.push_back(t);
    }
    pthread_attr_destroy(&attr);
  });
}

void Connection::Serve() {
  {
    Worker w(*this);
    if (!w.ok()) {
      logging::Error("gofer %s: %s: mapping a request buffer: %s", cfg.id.c_str(), host_path.c_str(),
                     sys::ErrnoText(errno).c_str());
      return;
    }
    w.Loop();
  }
  // Every worker sees ENODEV once the connection ends.
  for (pthread_t t : threads_) pthread_join(t, nullptr);
  bool join_pruner;
  {
    std::lock_guard<std::mutex> lock(prune_mu_);
    stopping_ = true;
    join_pruner = pruner_running_;
  }
  prune_cv_.notify_one();
  if (join_pruner) pthread_join(pruner_, nullptr);
  logging::Info("gofer %s: %s: connection ended", cfg.id.c_str(), host_path.c_str());
}

void Connection::KickPruner() {
  std::lock_guard<std::mutex> lock(prune_mu_);
  if (stopping_) return;
  prune_wanted_ = true;
  if (pruner_running_) {
    prune_cv_.notify_one();
    return;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackSize);
  auto main = [](void* arg) -> void* {
    static_cast<Connection*>(arg)->PrunerLoop();
    return nullptr;
  };
  pruner_running_ = pthread_create(&pruner_, &attr, main, this) == 0;
  pthread_attr_destroy(&attr);
}

void Connection::PrunerLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(prune_mu_);
      prune_cv_.wait(lock, [this] { return prune_wanted_ || stopping_; });
      if (stopping_) return;
      prune_wanted_ = false;
    }
    ResolvePins();
    std::vector<NameRef> names = nodes.PruneCandidates();
    for (const NameRef& n : names) {
      if (!InvalidateEntry(n.first, n.second)) return;
    }
    logging::Debug("gofer %s: %s: asked the kernel to drop %zu names (%zu nodes held)", cfg.id.c_str(),
                   host_path.c_str(), names.size(), nodes.Size());
  }
}

void Connection::ResolvePins() {
  pin_resolved_.resize(cfg.pins.size(), false);
  std::shared_ptr<Node> root = nodes.Get(1);
  if (!root) return;
  for (size_t i = 0; i < cfg.pins.size(); i++) {
    if (pin_resolved_[i]) continue;
    // One component at a time, never following a link, as every lookup of ours.
    unique_fd cur;
    bool ok = true;
    const std::string& p = cfg.pins[i];
    for (size_t start = 0; ok && start <= p.size();) {
      size_t end = std::min(p.find('/', start), p.size());
      std::string part = p.substr(start, end - start);
      start = end + 1;
      if (part.empty()) continue;
      auto next = ValidName(part) ? OpenChild(cur ? cur.get() : root->fd.get(), part.c_str())
                                  : Result<unique_fd>::Error(EINVAL);
      ok = next.ok();
      if (ok) cur = std::move(next.value());
    }
    if (!ok || !cur) continue;
    auto st = StatFd(cur.get());
    if (!st.ok()) continue;
    nodes.Pin(st->st_dev, st->st_ino);
    pin_resolved_[i] = true;
  }
}

bool Connection::InvalidateEntry(uint64_t parent, const std::string& name) {
  fuse::fuse_notify_inval_entry_out o = {};
  o.parent = parent;
  o.namelen = static_cast<uint32_t>(name.size());
  fuse::fuse_out_header h = {};
  h.len = static_cast<uint32_t>(sizeof(h) + sizeof(o) + name.size() + 1);
  h.error = fuse::kNotifyInvalEntry;  // a notification: the code travels in error, unique is 0
  struct iovec iov[3] = {{&h, sizeof(h)}, {&o, sizeof(o)}, {const_cast<char*>(name.c_str()), name.size() + 1}};
  // ENOENT: the kernel no longer has that name; only ENODEV means the connection is gone.
  return writev(fuse_fd, iov, 3) >= 0 || errno != ENODEV;
}

std::shared_ptr<Node> Worker::Ref(unique_fd fd, const struct stat& st, uint64_t parent, const char* name) {
  auto n = conn.nodes.Ref(std::move(fd), st, parent, name);
  if (conn.nodes.OverHighWater()) conn.KickPruner();
  return n;
}

Worker::Worker(Connection& c) : conn(c) {
  // One request of kMaxWrite data plus headers, then the scratch area. The mapping is only
  // touched as far as requests reach, so an idle gofer pays for a page or two of it.
  size_t size = kMaxWrite + 4096;
  void* p = mmap(nullptr, size + kScratchSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return;
  buf_ = static_cast<uint8_t*>(p);
  buf_size_ = size;
}

Worker::~Worker() {
  if (buf_ != nullptr) munmap(buf_, buf_size_ + kScratchSize);
}

void Worker::Loop() {
  // The sandbox mounts the file system after the gofer starts; until then the device is attached
  // to no connection and reads fail with EPERM (and poll gives only EPOLLERR): wait for the mount.
  // If it never comes, the shim ends the gofer with its container.
  useconds_t unmounted_wait = 100;
  for (;;) {
    ssize_t n = read(conn.fuse_fd, buf_, buf_size_);
    if (n < 0) {
      if (errno == EPERM) {
        usleep(unmounted_wait);
        unmounted_wait = std::min<useconds_t>(unmounted_wait * 2, 20000);
        continue;
      }
      // ENOENT: the request was interrupted before we read it.
      if (errno == EINTR || errno == ENOENT || errno == EAGAIN) continue;
      if (errno == ENODEV) return;  // unmounted or aborted
      logging::Error("gofer %s: %s: reading /dev/fuse: %s", conn.cfg.id.c_str(), conn.host_path.c_str(),
                     sys::ErrnoText(errno).c_str());
      return;
    }
    Dispatch(static_cast<size_t>(n));
  }
}

void Worker::Dispatch(size_t n) {
  if (n < sizeof(fuse::fuse_in_header)) {
    logging::Error("gofer %s: %s: malformed request of %zu bytes", conn.cfg.id.c_str(), conn.host_path.c_str(), n);
    return;
  }
  memcpy(&in_, buf_, sizeof(in_));
  if (in_.len != n) {
    logging::Error("gofer %s: %s: malformed request of %zu bytes", conn.cfg.id.c_str(), conn.host_path.c_str(), n);
    return;
  }
  size_t arglen = n - sizeof(fuse::fuse_in_header);
  size_t extlen = size_t{in_.total_extlen} * 8;  // extensions follow the arguments
  if (extlen <= arglen) arglen -= extlen;
  Args a(buf_ + sizeof(fuse::fuse_in_header), arglen);
  replied_ = false;
  reply_error_ = 0;
  refs.clear();
  uint32_t op = in_.opcode;
  if (op != fuse::kInit && conn.minor == 0) {
    ReplyError(EIO);  // nothing before INIT
  } else {
    switch (op) {
      case fuse::kInit: Init(*this, a); break;
      case fuse::kDestroy: Reply(nullptr, 0); break;
      case fuse::kForget: Forget(*this, a); break;
      case fuse::kBatchForget: BatchForget(*this, a); break;
      case fuse::kInterrupt: break;    // requests finish quickly; the kernel needs no answer
      case fuse::kNotifyReply: break;  // we never send notifications that want one
      case fuse::kLookup: ops::Lookup(*this, a); break;
      case fuse::kGetattr: ops::Getattr(*this, a); break;
      case fuse::kSetattr: ops::Setattr(*this, a); break;
      case fuse::kReadlink: ops::Readlink(*this, a); break;
      case fuse::kSymlink: ops::Symlink(*this, a); break;
      case fuse::kMknod: ops::Mknod(*this, a); break;
      case fuse::kMkdir: ops::Mkdir(*this, a); break;
      case fuse::kUnlink: ops::Unlink(*this, a); break;
      case fuse::kRmdir: ops::Rmdir(*this, a); break;
      case fuse::kRename: ops::Rename(*this, a, false); break;
      case fuse::kRename2: ops::Rename(*this, a, true); break;
      case fuse::kLink: ops::Link(*this, a); break;
      case fuse::kStatfs: ops::Statfs(*this, a); break;
      case fuse::kOpen: ops::Open(*this, a); break;
      case fuse::kCreate: ops::Create(*this, a); break;
      case fuse::kTmpfile: ops::Tmpfile(*this, a); break;
      case fuse::kRead: ops::Read(*this, a); break;
      case fuse::kWrite: ops::Write(*this, a); break;
      case fuse::kFlush: ops::Flush(*this, a); break;
      case fuse::kRelease: ops::Release(*this, a); break;
      case fuse::kFsync: ops::Fsync(*this, a); break;
      case fuse::kLseek: ops::Lseek(*this, a); break;
      case fuse::kFallocate: ops::Fallocate(*this, a); break;
      case fuse::kCopyFileRange: ops::CopyFileRange(*this, a); break;
      case fuse::kOpendir: ops::Opendir(*this, a); break;
      case fuse::kReaddir: ops::Readdir(*this, a, false); break;
      case fuse::kReaddirplus: ops::Readdir(*this, a, true); break;
      case fuse::kReleasedir: ops::Releasedir(*this, a); break;
      case fuse::kFsyncdir: ops::Fsyncdir(*this, a); break;
      case fuse::kSetxattr: ops::Setxattr(*this, a); break;
      case fuse::kGetxattr: ops::Getxattr(*this, a); break;
      case fuse::kListxattr: ops::Listxattr(*this, a); break;
      case fuse::kRemovexattr: ops::Removexattr(*this, a); break;
      // ACCESS: default_permissions makes the kernel decide; GETLK/SETLK/SETLKW: locks stay in
      // the kernel (see Init); IOCTL, POLL, BMAP, STATX, SYNCFS and DAX mappings: not served.
      default: ReplyError(ENOSYS); break;
    }
  }
  if (conn.cfg.debug) LogRequest();
}

void Worker::LogRequest() const {
  const char* name = reply_error_ != 0 ? strerrorname_np(reply_error_) : nullptr;
  const char* result = !replied_ ? "no reply" : reply_error_ == 0 ? "ok" : name != nullptr ? name : "error";
  logging::Debug("gofer %s: %s unique=%llu node=%llu uid=%u pid=%u -> %s", conn.cfg.id.c_str(),
                 fuse::OpcodeName(in_.opcode), static_cast<unsigned long long>(in_.unique),
                 static_cast<unsigned long long>(in_.nodeid), in_.uid, in_.pid, result);
}

bool Worker::ReplyIov(struct iovec* iov, int n) {
  fuse::fuse_out_header h = {};
  size_t total = sizeof(h);
  for (int i = 1; i < n; i++) total += iov[i].iov_len;
  h.len = static_cast<uint32_t>(total);
  h.unique = in_.unique;
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof(h);
  replied_ = true;
  reply_error_ = 0;
  if (writev(conn.fuse_fd, iov, n) < 0) {
    // ENOENT: the kernel gave up on the request (interrupted); anything else: it is gone.
    return false;
  }
  return true;
}

void Worker::ReplyError(int err) {
  fuse::fuse_out_header h = {};
  h.len = sizeof(h);
  h.error = -err;
  h.unique = in_.unique;
  replied_ = true;
  reply_error_ = err;
  ssize_t ignored = write(conn.fuse_fd, &h, sizeof(h));
  (void)ignored;
}

bool Worker::Reply(const void* data, size_t len) {
  struct iovec iov[2];
  iov[1].iov_base = const_cast<void*>(data);
  iov[1].iov_len = len;
  return ReplyIov(iov, len > 0 ? 2 : 1);
}

bool Worker::ReplyOutData(size_t len) {
  auto* h = reinterpret_cast<fuse::fuse_out_header*>(buf_);
  h->len = static_cast<uint32_t>(sizeof(*h) + len);
  h->error = 0;
  h->unique = in_.unique;
  replied_ = true;
  reply_error_ = 0;
  return write(conn.fuse_fd, buf_, h->len) >= 0;
}

void Worker::FillEntry(const Node& n, const struct stat& st, fuse::fuse_entry_out* out) const {
  *out = {};
  out->nodeid = n.id;
  out->entry_valid = conn.entry_timeout;
  out->attr_valid = conn.attr_timeout;
  StatToAttr(st, &out->attr);
}

void Worker::ReplyEntry(const std::shared_ptr<Node>& n, const struct stat& st) {
  fuse::fuse_entry_out e;
  FillEntry(*n, st, &e);
  if (!Reply(&e, sizeof(e))) conn.nodes.Forget(n->id, 1);
}

void Worker::ReplyNoEntry() {
  if (!conn.negative_entries) return ReplyError(ENOENT);
  // Node id 0 with a timeout: the kernel remembers the name does not exist.
  fuse::fuse_entry_out e = {};
  e.entry_valid = conn.entry_timeout;
  Reply(&e, sizeof(e));
}

void Worker::ReplyAttr(const struct stat& st) {
  fuse::fuse_attr_out o = {};
  o.attr_valid = conn.attr_timeout;
  StatToAttr(st, &o.attr);
  Reply(&o, sizeof(o));
}

void StatToAttr(const struct stat& st, fuse::fuse_attr* a) {
  a->ino = st.st_ino;
  a->size = static_cast<uint64_t>(st.st_size);
  a->blocks = static_cast<uint64_t>(st.st_blocks);
  a->atime = static_cast<uint64_t>(st.st_atim.tv_sec);
  a->mtime = static_cast<uint64_t>(st.st_mtim.tv_sec);
  a->ctime = static_cast<uint64_t>(st.st_ctim.tv_sec);
  a->atimensec = static_cast<uint32_t>(st.st_atim.tv_nsec);
  a->mtimensec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  a->ctimensec = static_cast<uint32_t>(st.st_ctim.tv_nsec);
  a->mode = st.st_mode;
  a->nlink = static_cast<uint32_t>(st.st_nlink);
  a->uid = st.st_uid;
  a->gid = st.st_gid;
  a->rdev = EncodeDev(st.st_rdev);
  a->blksize = static_cast<uint32_t>(st.st_blksize);
  a->flags = 0;
}

}  // namespace gofer
