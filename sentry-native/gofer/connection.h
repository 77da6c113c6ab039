// One served /dev/fuse fd: INIT negotiation, the worker threads that read requests, request
// argument parsing and the reply writers the operations (ops.h) use.
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fuse_proto.h"
#include "handles.h"
#include "node_table.h"
#include "options.h"
#include "unique_fd.h"

namespace gofer {

// Config is what every connection of one gofer shares.
struct Config {
  std::string id;
  Mode mode = Mode::kExclusive;
  int passthrough_depth = 2;
  int threads = 2;
  bool debug = false;
  // proc_fd is /proc/self/fd of an unmounted proc instance (see confine.h).
  int proc_fd = -1;
  // max_nodes is each connection's share of the fd limit, for node fds (see NodeTable).
  size_t max_nodes = 1 << 16;
  // pins are paths under this connection's root that are mount points in the container: the
  // pruner must never ask the kernel to drop them (d_invalidate would detach the mounts).
  std::vector<std::string> pins;
};

// kMaxWrite is the largest WRITE (and READ) the gofer accepts: 256 pages.
constexpr uint32_t kMaxWrite = 1 << 20;
constexpr uint16_t kMaxPages = kMaxWrite / 4096;

// Connection serves one /dev/fuse fd.
class Connection {
 public:
  Connection(const Config& cfg, int fuse_fd, std::string host_path, unique_fd root, const struct stat& root_st);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Serve answers requests on the calling thread (and cfg.threads - 1 more, started once INIT
  // is answered) until the kernel ends the connection (unmount or abort).
  void Serve();
  // StartWorkers starts the extra worker threads; only the first call does anything.
  void StartWorkers();
  // KickPruner wakes (starting it on first use) the thread that asks the kernel to drop the
  // least recently looked-up names, so that their nodes are forgotten and their fds closed.
  void KickPruner();

  const Config cfg;  // a copy: connections of one gofer may differ in mode
  const int fuse_fd;
  const std::string host_path;
  NodeTable nodes;
  HandleTable handles;

  // Negotiated at INIT, before the kernel sends any other request; read-only afterwards.
  uint32_t minor = 0;
  bool setxattr_ext = false;
  // passthrough is cleared when the kernel refuses backing files for good (EPERM, ENOTTY).
  std::atomic<bool> passthrough{false};
  std::atomic<bool> logged_passthrough_fallback{false};
  uint64_t entry_timeout = 0;
  uint64_t attr_timeout = 0;
  // negative_entries: cache ENOENT lookups for entry_timeout (only when nobody else writes).
  bool negative_entries = false;

 private:
  void PrunerLoop();
  // ResolvePins pins the inodes of the cfg.pins not found yet (they may appear later: the
  // sandbox creates missing mount points through us).
  void ResolvePins();
  std::vector<bool> pin_resolved_;  // by cfg.pins index; the pruner thread's alone
  // InvalidateEntry sends FUSE_NOTIFY_INVAL_ENTRY; false once the connection is gone.
  bool InvalidateEntry(uint64_t parent, const std::string& name);

  std::once_flag started_;
  std::vector<pthread_t> threads_;
  std::mutex prune_mu_;  // guards the three fields below
  std::condition_variable prune_cv_;
  bool prune_wanted_ = false;
  bool stopping_ = false;
  bool pruner_running_ = false;
  pthread_t pruner_;
};

// Args reads one request's arguments in order, bounds-checked.
class Args {
 public:
  Args(const uint8_t* p, size_t n) : p_(p), n_(n) {}

  // Read copies the next size bytes into *out (zero-filling a shorter struct); false if short.
  template <typename T>
  bool Read(T* out, size_t size = sizeof(T)) {
    if (n_ < size) return false;
    memset(out, 0, sizeof(T));
    memcpy(out, p_, size < sizeof(T) ? size : sizeof(T));
    p_ += size;
    n_ -= size;
    return true;
  }
  // Name returns the next NUL-terminated string, or null if there is none.
  const char* Name() {
    const void* nul = memchr(p_, '\0', n_);
    if (nul == nullptr) return nullptr;
    const char* s = reinterpret_cast<const char*>(p_);
    size_t len = static_cast<const uint8_t*>(nul) - p_ + 1;
    p_ += len;
    n_ -= len;
    return s;
  }
  // Bytes returns the next len bytes, or null if short.
  const uint8_t* Bytes(size_t len) {
    if (n_ < len) return nullptr;
    const uint8_t* b = p_;
    p_ += len;
    n_ -= len;
    return b;
  }
  size_t remaining() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// Worker reads and serves requests of one connection on one thread, with its own buffer.
class Worker {
 public:
  explicit Worker(Connection& c);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // ok says whether the buffer could be mapped.
  bool ok() const { return buf_ != nullptr; }
  // Loop serves until the connection ends.
  void Loop();

  Connection& conn;

  // in is the header of the request being served.
  const fuse::fuse_in_header& in() const { return in_; }
  // Node returns the node with id nodeid, or null (the caller replies ESTALE).
  std::shared_ptr<Node> GetNode(uint64_t nodeid) const { return conn.nodes.Get(nodeid); }
  // Ref counts a lookup of name in directory node parent that found st's inode (see
  // NodeTable::Ref) and starts pruning when the table grows too big.
  std::shared_ptr<Node> Ref(unique_fd fd, const struct stat& st, uint64_t parent, const char* name);

  // out_data is where a reply's payload may be built: right after the reply header in the
  // request buffer (the request's arguments must have been copied out first).
  uint8_t* out_data() { return buf_ + sizeof(fuse::fuse_out_header); }
  size_t out_capacity() const { return buf_size_ - sizeof(fuse::fuse_out_header); }
  // scratch is a second buffer (getdents64 results).
  uint8_t* scratch() { return buf_ + buf_size_; }
  static constexpr size_t kScratchSize = 64 * 1024;

  // ReplyError answers the request with -err (err > 0).
  void ReplyError(int err);
  // Reply answers the request with len bytes of data (may be null when len is 0).
  bool Reply(const void* data, size_t len);
  // ReplyOutData answers with len bytes already built at out_data().
  bool ReplyOutData(size_t len);
  // ReplyIov answers with the concatenation of iov[1..n); iov[0] is filled with the header.
  bool ReplyIov(struct iovec* iov, int n);
  // FillEntry fills an entry reply for node n with attributes st.
  void FillEntry(const Node& n, const struct stat& st, fuse::fuse_entry_out* out) const;
  // ReplyEntry answers with the entry of n; if the kernel no longer waits for the answer, the
  // lookup it counted is taken back.
  void ReplyEntry(const std::shared_ptr<Node>& n, const struct stat& st);
  // ReplyNoEntry answers a failed LOOKUP: a cached negative entry or ENOENT.
  void ReplyNoEntry();
  // ReplyAttr answers GETATTR/SETATTR.
  void ReplyAttr(const struct stat& st);

  // refs lists node ids counted in the reply being built (READDIRPLUS), to take back if the
  // reply cannot be delivered.
  std::vector<uint64_t> refs;

 private:
  void Dispatch(size_t n);
  void LogRequest() const;

  uint8_t* buf_ = nullptr;
  size_t buf_size_ = 0;
  // in_ is a copy of the request's header: replies are built over the request buffer.
  fuse::fuse_in_header in_ = {};
  bool replied_ = false;
  int reply_error_ = 0;
};

// StatToAttr converts a stat result to the protocol's attributes.
void StatToAttr(const struct stat& st, fuse::fuse_attr* attr);

}  // namespace gofer
