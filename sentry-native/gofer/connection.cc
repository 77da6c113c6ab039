// One served /dev/fuse fd: INIT, worker threads, dispatch and replies (see connection.h).
#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "fs_util.h"
#include "log.h"
#include "ops.h"
#include "sys.h"
#include "uring_queue.h"

namespace gofer {
namespace {

// kExclusiveTimeout caches entries and attributes for a day: only this sandbox changes them.
constexpr uint64_t kExclusiveTimeout = 24 * 3600;
// kSharedTimeout is the staleness the host or other pods may see from us, in seconds.
constexpr uint64_t kSharedTimeout = 1;
// kStackSize is each extra worker's stack: handlers keep big buffers off the stack.
constexpr size_t kStackSize = 256 * 1024;
// kForgetPause is how long the /dev/fuse reader of an io_uring connection rests after each
// read (see ServeDev).
constexpr useconds_t kForgetPause = 10 * 1000;

// DevSink replies to requests read from /dev/fuse by writing to it; its buffer holds one
// request of kMaxWrite data and headers, and the reply built over it.
class DevSink : public ReplySink {
 public:
  explicit DevSink(int fuse_fd) : fd_(fuse_fd) {
    // Only touched as far as requests reach, so an idle gofer pays for a page or two of it.
    void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) buf_ = static_cast<uint8_t*>(p);
  }
  ~DevSink() override {
    if (buf_ != nullptr) munmap(buf_, kSize);
  }
  DevSink(const DevSink&) = delete;
  DevSink& operator=(const DevSink&) = delete;

  bool ok() const { return buf_ != nullptr; }
  uint8_t* buf() { return buf_; }
  static constexpr size_t kSize = kMaxWrite + 4096;

  uint8_t* out_data() override { return buf_ + sizeof(fuse::fuse_out_header); }
  size_t out_capacity() const override { return kSize - sizeof(fuse::fuse_out_header); }
  bool Send(struct iovec* iov, int n) override {
    // ENOENT: the kernel gave up on the request (interrupted); anything else: it is gone.
    return writev(fd_, iov, n) >= 0;
  }
  bool SendOutData(const fuse::fuse_out_header& h, size_t len) override {
    memcpy(buf_, &h, sizeof(h));
    return write(fd_, buf_, sizeof(h) + len) >= 0;
  }
  int queue() const override { return -1; }

 private:
  const int fd_;
  uint8_t* buf_ = nullptr;
};

// ServeDev reads requests from /dev/fuse and serves them on the calling thread until the
// connection ends. With the io_uring transport only FORGETs and INTERRUPTs still come this way.
void ServeDev(Connection& c) {
  DevSink sink(c.fuse_fd);
  Worker w(c);
  if (!sink.ok() || !w.ok()) {
    logging::Error("gofer %s: %s: mapping a request buffer: %s", c.cfg.id.c_str(), c.host_path.c_str(),
                   sys::ErrnoText(errno).c_str());
    return;
  }
  uint8_t* buf = sink.buf();
  // The sandbox mounts the file system after the gofer starts; until then the device is attached
  // to no connection and reads fail with EPERM (and poll gives only EPOLLERR): wait for the mount.
  // If it never comes, the shim ends the gofer with its container.
  useconds_t unmounted_wait = 100;
  for (;;) {
    ssize_t n = read(c.fuse_fd, buf, DevSink::kSize);
    if (n < 0) {
      if (errno == EPERM) {
        usleep(unmounted_wait);
        unmounted_wait = std::min<useconds_t>(unmounted_wait * 2, 20000);
        continue;
      }
      // ENOENT: the request was interrupted before we read it.
      if (errno == EINTR || errno == ENOENT || errno == EAGAIN) continue;
      if (errno == ENODEV) return;  // unmounted or aborted
      logging::Error("gofer %s: %s: reading /dev/fuse: %s", c.cfg.id.c_str(), c.host_path.c_str(),
                     sys::ErrnoText(errno).c_str());
      return;
    }
    fuse::fuse_in_header in = {};
    if (static_cast<size_t>(n) >= sizeof(in)) memcpy(&in, buf, sizeof(in));
    if (in.len != static_cast<size_t>(n)) {
      logging::Error("gofer %s: %s: malformed request of %zd bytes", c.cfg.id.c_str(), c.host_path.c_str(), n);
      continue;
    }
    size_t arglen = static_cast<size_t>(n) - sizeof(in);
    size_t extlen = size_t{in.total_extlen} * 8;  // extensions follow the arguments
    if (extlen <= arglen) arglen -= extlen;
    Args a(buf + sizeof(in), arglen);
    w.Dispatch(in, a, sink);
    // Over io_uring, this reader gets only FORGETs (and INTERRUPTs, which need nothing), and
    // the kernel wakes it for each: from an unlinking caller, a wake-up of another CPU per
    // unlink, as costly as the round trips the ring saves. Resting between reads lets them
    // pile up (read as one BATCH_FORGET) with nobody to wake; a lookup count dropped a little
    // later only keeps an fd open a little longer.
    if (c.ring_serving.load(std::memory_order_relaxed)) usleep(kForgetPause);
  }
}

void* WorkerMain(void* arg) {
  ServeDev(*static_cast<Connection*>(arg));
  return nullptr;
}

// FailInit ends the gofer when INIT cannot be answered as the command line demands: the
// kernel gets an error (the mount fails instead of hanging) and the shim sees exit status 1.
[[noreturn]] void FailInit(Worker& w, const std::string& why) {
  w.ReplyError(EPROTO);
  logging::Error("gofer %s: %s: %s", w.conn.cfg.id.c_str(), w.conn.host_path.c_str(), why.c_str());
  fflush(stderr);
  _exit(1);
}

// NegotiateRing decides at INIT whether requests travel over io_uring: true once the queue
// threads are ready (they register after the INIT reply).
bool NegotiateRing(Worker& w, uint64_t offered) {
  Connection& c = w.conn;
  if (c.cfg.io_uring == IoUringMode::kOff) return false;
  if (!(offered & fuse::kOverIoUring)) {
    if (c.cfg.io_uring == IoUringMode::kOn) {
      FailInit(w, "--io-uring=on: the kernel does not offer FUSE over io_uring (it needs Linux 6.14 or later "
                  "with CONFIG_FUSE_IO_URING, and the fuse module parameter enable_uring set: "
                  "/sys/module/fuse/parameters/enable_uring)");
    }
    return false;
  }
  std::string err;
  if (c.PrepareRings(&err)) return true;
  if (c.cfg.io_uring == IoUringMode::kOn) FailInit(w, "--io-uring=on: " + err);
  logging::Info("gofer %s: %s: FUSE over io_uring is offered but unusable (%s); serving through /dev/fuse reads",
                c.cfg.id.c_str(), c.host_path.c_str(), err.c_str());
  return false;
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
  bool ring = NegotiateRing(w, offered);
  if (ring) flags |= fuse::kOverIoUring;
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
  if (!w.Reply(&o, size)) {
    if (ring) c.DropRings();
    return;
  }
  // The kernel took the reply: io_uring entries may register now (not before: it needs the
  // negotiated max_write to check their payload buffers).
  if (ring) c.StartRings();
  logging::Info("gofer %s: serving %s on fd %d (FUSE 7.%u, passthrough %s, %s)", c.cfg.id.c_str(),
                c.host_path.c_str(), c.fuse_fd, c.minor, c.passthrough ? "on" : "off", c.transport().c_str());
  if (c.cfg.passthrough_depth > 0 && !c.passthrough) {
    logging::Debug("gofer %s: %s: the kernel offers no FUSE_PASSTHROUGH; serving READ/WRITE", c.cfg.id.c_str(),
                   c.host_path.c_str());
  }
  // Over io_uring only FORGETs and INTERRUPTs still come through /dev/fuse: one reader will do.
  if (!ring) c.StartWorkers();
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

bool Connection::PrepareRings(std::string* err) {
  auto rings = std::make_unique<RingSet>(*this, cfg.cpus, cfg.own_cpus);
  if (!rings->Prepare(err)) return false;
  rings_ = std::move(rings);
  return true;
}

void Connection::StartRings() {
  if (!rings_) return;
  ring_serving = true;
  rings_->Start();
}

void Connection::DropRings() { rings_.reset(); }

std::string Connection::transport() const {
  if (!rings_) return "/dev/fuse reads";
  return "io_uring, " + std::to_string(rings_->size()) + " queues, " + std::to_string(rings_->pinned()) +
         " pinned";
}

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
  ServeDev(*this);
  // Every worker sees ENODEV once the connection ends, and every io_uring entry ENOTCONN.
  for (pthread_t t : threads_) pthread_join(t, nullptr);
  if (rings_) rings_->Join();
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
  void* p = mmap(nullptr, kScratchSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) scratch_ = static_cast<uint8_t*>(p);
}

Worker::~Worker() {
  if (scratch_ != nullptr) munmap(scratch_, kScratchSize);
}

void Worker::Dispatch(const fuse::fuse_in_header& in, Args& a, ReplySink& sink) {
  in_ = in;
  sink_ = &sink;
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
  // An io_uring entry goes back to the kernel only with a reply: the requests that have none
  // (FORGET, INTERRUPT) never come that way, but an entry must never be lost to one.
  if (!replied_ && sink.queue() >= 0) ReplyError(EIO);
  if (conn.cfg.debug) LogRequest();
  sink_ = nullptr;
}

void Worker::LogRequest() const {
  const char* name = reply_error_ != 0 ? strerrorname_np(reply_error_) : nullptr;
  const char* result = !replied_ ? "no reply" : reply_error_ == 0 ? "ok" : name != nullptr ? name : "error";
  char via[24] = "";
  if (sink_->queue() >= 0) snprintf(via, sizeof(via), " (ring %d)", sink_->queue());
  logging::Debug("gofer %s: %s unique=%llu node=%llu uid=%u pid=%u -> %s%s", conn.cfg.id.c_str(),
                 fuse::OpcodeName(in_.opcode), static_cast<unsigned long long>(in_.unique),
                 static_cast<unsigned long long>(in_.nodeid), in_.uid, in_.pid, result, via);
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
  return sink_->Send(iov, n);
}

void Worker::ReplyError(int err) {
  fuse::fuse_out_header h = {};
  h.len = sizeof(h);
  h.error = -err;
  h.unique = in_.unique;
  replied_ = true;
  reply_error_ = err;
  struct iovec iov = {&h, sizeof(h)};
  sink_->Send(&iov, 1);
}

bool Worker::Reply(const void* data, size_t len) {
  struct iovec iov[2];
  iov[1].iov_base = const_cast<void*>(data);
  iov[1].iov_len = len;
  return ReplyIov(iov, len > 0 ? 2 : 1);
}

bool Worker::ReplyOutData(size_t len) {
  fuse::fuse_out_header h = {};
  h.len = static_cast<uint32_t>(sizeof(h) + len);
  h.unique = in_.unique;
  replied_ = true;
  reply_error_ = 0;
  return sink_->SendOutData(h, len);
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
