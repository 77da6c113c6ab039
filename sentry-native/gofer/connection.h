// One served /dev/fuse fd: INIT negotiation, the worker threads that read requests, request
// argument parsing and the reply writers the operations (ops.h) use, over either transport
// (read/write of /dev/fuse, or the io_uring queues of uring_queue.h).
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
  IoUringMode io_uring = IoUringMode::kAuto;
  // cpus is the number of possible CPUs: the kernel has one io_uring queue per possible CPU.
  int cpus = 1;
  // own_cpus are the CPUs the gofer may run on (online, in its cpuset), below cpus: each gets
  // an io_uring queue thread pinned to it; one unpinned thread serves the other queues.
  std::vector<int> own_cpus;
};

class RingSet;

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
  // is answered, or the io_uring queue threads) until the kernel ends the connection (unmount
  // or abort).
  void Serve();
  // StartWorkers starts the extra worker threads; only the first call does anything.
  void StartWorkers();
  // PrepareRings starts the io_uring queue threads (during INIT, before the reply offers the
  // transport) and waits until each has its ring and buffers; false with *err if one failed.
  bool PrepareRings(std::string* err);
  // StartRings lets the queue threads register with the kernel (after the INIT reply);
  // DropRings ends them unregistered (the INIT reply failed).
  void StartRings();
  void DropRings();
  // transport names how requests travel, for the log: "io_uring, 2 queues, 2 pinned".
  std::string transport() const;
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
  // ring_serving: requests travel over io_uring (set once the queues start, cleared if the
  // kernel refuses an entry: it then falls back to /dev/fuse for the connection).
  std::atomic<bool> ring_serving{false};

 private:
  void PrunerLoop();
  // ResolvePins pins the inodes of the cfg.pins not found yet (they may appear later: the
  // sandbox creates missing mount points through us).
  void ResolvePins();
  std::vector<bool> pin_resolved_;  // by cfg.pins index; the pruner thread's alone
  // InvalidateEntry sends FUSE_NOTIFY_INVAL_ENTRY; false once the connection is gone.
  bool InvalidateEntry(uint64_t parent, const std::string& name);

  std::unique_ptr<RingSet> rings_;
  std::once_flag started_;
  std::vector<pthread_t> threads_;
  std::mutex prune_mu_;  // guards the three fields below
  std::condition_variable prune_cv_;
  bool prune_wanted_ = false;
  bool stopping_ = false;
  bool pruner_running_ = false;
  pthread_t pruner_;
};

// Args reads one request's arguments in order, bounds-checked. A request from /dev/fuse has them
// in one piece; one from an io_uring entry has its first argument (the per-opcode header) in the
// entry's op_in area and the rest in the payload: there a Read before anything else takes the
// header from op_in, and a Name or Bytes first means the opcode has no header.
class Args {
 public:
  Args(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  Args(const uint8_t* op_in, size_t op_in_size, const uint8_t* payload, size_t n)
      : p_(payload), n_(n), head_(op_in), head_n_(op_in_size) {}

  // Read copies the next size bytes into *out (zero-filling a shorter struct); false if short.
  template <typename T>
  bool Read(T* out, size_t size = sizeof(T)) {
    if (head_ != nullptr) {
      const uint8_t* h = head_;
      head_ = nullptr;
      if (head_n_ < size) return false;
      memset(out, 0, sizeof(T));
      memcpy(out, h, size < sizeof(T) ? size : sizeof(T));
      return true;
    }
    if (n_ < size) return false;
    memset(out, 0, sizeof(T));
    memcpy(out, p_, size < sizeof(T) ? size : sizeof(T));
    p_ += size;
    n_ -= size;
    return true;
  }
  // Name returns the next NUL-terminated string, or null if there is none.
  const char* Name() {
    head_ = nullptr;
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
    head_ = nullptr;
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
  const uint8_t* head_ = nullptr;  // the op_in area of a ring request, until the first read
  size_t head_n_ = 0;
};

// ReplySink takes one request's reply to the kernel: a write to /dev/fuse, or the buffers of
// an io_uring entry that its queue thread then commits.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // out_data is where a reply's payload may be built in place; it overlaps the request's
  // arguments, which must have been copied out first. out_capacity is its size.
  virtual uint8_t* out_data() = 0;
  virtual size_t out_capacity() const = 0;
  // Send answers with iov[0] (the reply header, len filled in) followed by iov[1..n); false if
  // the kernel no longer waits for the answer.
  virtual bool Send(struct iovec* iov, int n) = 0;
  // SendOutData answers with header h followed by len bytes already built at out_data().
  virtual bool SendOutData(const fuse::fuse_out_header& h, size_t len) = 0;
  // queue is the io_uring queue the request came from, -1 for /dev/fuse. A ring entry goes
  // back to the kernel only with a reply, so a ring request always gets one.
  virtual int queue() const = 0;
};

// Worker serves requests of one connection on one thread: the request handler of both
// transports.
class Worker {
 public:
  explicit Worker(Connection& c);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // ok says whether the scratch buffer could be mapped.
  bool ok() const { return scratch_ != nullptr; }
  // Dispatch serves one request: in is its header, a its arguments, the reply goes to sink.
  void Dispatch(const fuse::fuse_in_header& in, Args& a, ReplySink& sink);

  Connection& conn;

  // in is the header of the request being served.
  const fuse::fuse_in_header& in() const { return in_; }
  // Node returns the node with id nodeid, or null (the caller replies ESTALE).
  std::shared_ptr<Node> GetNode(uint64_t nodeid) const { return conn.nodes.Get(nodeid); }
  // Ref counts a lookup of name in directory node parent that found st's inode (see
  // NodeTable::Ref) and starts pruning when the table grows too big.
  std::shared_ptr<Node> Ref(unique_fd fd, const struct stat& st, uint64_t parent, const char* name);

  // out_data is where a reply's payload may be built (see ReplySink::out_data).
  uint8_t* out_data() { return sink_->out_data(); }
  size_t out_capacity() const { return sink_->out_capacity(); }
  // scratch is a second buffer (getdents64 results).
  uint8_t* scratch() { return scratch_; }
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
  void LogRequest() const;

  uint8_t* scratch_ = nullptr;
  ReplySink* sink_ = nullptr;  // the request being served's
  // in_ is a copy of the request's header: replies are built over the request buffer.
  fuse::fuse_in_header in_ = {};
  bool replied_ = false;
  int reply_error_ = 0;
};

// StatToAttr converts a stat result to the protocol's attributes.
void StatToAttr(const struct stat& st, fuse::fuse_attr* attr);

}  // namespace gofer
