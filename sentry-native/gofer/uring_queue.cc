// FUSE over io_uring: per-CPU queue threads, their ring entries and replies (see uring_queue.h).
#include "uring_queue.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

#include <algorithm>

#include "connection.h"
#include "io_ring.h"
#include "log.h"
#include "sys.h"

namespace gofer {
namespace {

// kEntriesPerQueue is how many requests of one CPU the kernel can hand over at once. One thread
// serves them in turn; the second entry takes a request that comes while the first is served.
// The queues of CPUs the gofer cannot run on (offline: possible CPUs of a VM often outnumber
// its CPUs; outside its cpuset) get one, which the kernel wants before it uses the ring.
constexpr int kEntriesPerQueue = 2;
constexpr int kEntriesPerSpareQueue = 1;
// kHeaderSize is each entry's header buffer (a fuse_uring_req_header, page-aligned).
constexpr size_t kHeaderSize = 4096;
// kPayloadSize is each entry's payload buffer: the kernel wants room for max_write and for
// max_pages pages, both kMaxWrite.
constexpr size_t kPayloadSize = kMaxWrite;
constexpr size_t kEntrySize = kHeaderSize + kPayloadSize;
// kStackSize is each queue thread's stack, as for the /dev/fuse workers.
constexpr size_t kStackSize = 256 * 1024;
// kJoinTimeout bounds the wait for queue threads after the connection ended: the kernel ends
// every entry then, so only a kernel bug could keep one waiting.
constexpr time_t kJoinTimeout = 10;

// Entry is one registered pair of buffers, of queue qid.
struct Entry {
  int qid = 0;
  fuse::fuse_uring_req_header* header = nullptr;
  uint8_t* payload = nullptr;
  struct iovec iov[fuse::kUringIovSegments];
};

// RingSink replies to a request through its entry's buffers; the queue thread commits them.
class RingSink : public ReplySink {
 public:
  explicit RingSink(Entry& e) : e_(e) {}

  uint8_t* out_data() override { return e_.payload; }
  size_t out_capacity() const override { return kPayloadSize; }
  bool Send(struct iovec* iov, int n) override {
    size_t len = 0;
    for (int i = 1; i < n; i++) {
      size_t part = std::min(iov[i].iov_len, kPayloadSize - len);
      memmove(e_.payload + len, iov[i].iov_base, part);
      len += part;
    }
    Finish(*static_cast<const fuse::fuse_out_header*>(iov[0].iov_base), len);
    return true;
  }
  bool SendOutData(const fuse::fuse_out_header& h, size_t len) override {
    Finish(h, len);
    return true;
  }
  int queue() const override { return e_.qid; }

 private:
  // Finish fills in the reply header and the payload size. Whether the kernel takes the reply
  // is only known after the commit, so replies count as delivered: over io_uring the kernel
  // keeps waiting for every request it handed over (no interrupts), until the connection ends.
  void Finish(const fuse::fuse_out_header& h, size_t len) {
    memcpy(e_.header->in_out, &h, sizeof(h));
    e_.header->ring_ent_in_out.payload_sz = static_cast<uint32_t>(len);
  }

  Entry& e_;
};

}  // namespace

// RingQueue is one queue thread: pinned to cpu (-1: unpinned), serving queues qids, with its
// ring, entries and request handler.
class RingQueue {
 public:
  RingQueue(RingSet& set, Connection& c, int cpu, std::vector<int> qids)
      : set_(set), conn_(c), cpu_(cpu), qids_(std::move(qids)), worker_(c) {}
  ~RingQueue() {
    if (buffers_ != nullptr) munmap(buffers_, kEntrySize * entries_.size());
  }
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;

  static void* Main(void* arg) {
    static_cast<RingQueue*>(arg)->Run();
    return nullptr;
  }

 private:
  void Run() {
    if (!set_.ReportReady(SetUp())) return;
    for (size_t i = 0; i < entries_.size(); i++) Submit(fuse::kUringCmdRegister, i, 0);
    Loop();
  }

  // SetUp pins the thread and makes its ring and buffers; "" or the failed step and cause.
  std::string SetUp() {
    // Pinned, the thread runs where the callers of its queue run. Failing to pin (the CPU went
    // offline since start-up) costs speed, not function.
    if (cpu_ >= 0) {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(cpu_, &cpus);
      if (sched_setaffinity(0, sizeof(cpus), &cpus) != 0) {
        logging::Debug("gofer %s: %s: io_uring queue %d runs unpinned: %s", conn_.cfg.id.c_str(),
                       conn_.host_path.c_str(), cpu_, sys::ErrnoText(errno).c_str());
      }
    }
    if (!worker_.ok()) return "mapping a scratch buffer: " + sys::ErrnoText(errno);
    int per_queue = cpu_ >= 0 ? kEntriesPerQueue : kEntriesPerSpareQueue;
    entries_.resize(qids_.size() * per_queue);
    // At most one REGISTER or COMMIT_AND_FETCH per entry is ever in flight.
    int err = ring_.Setup(static_cast<unsigned>(2 * entries_.size()));
    if (err != 0) return "io_uring_setup: " + sys::ErrnoText(err);
    // Touched only as far as requests reach, as the /dev/fuse buffers.
    void* p = mmap(nullptr, kEntrySize * entries_.size(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return "mapping entry buffers: " + sys::ErrnoText(errno);
    buffers_ = static_cast<uint8_t*>(p);
    for (size_t i = 0; i < entries_.size(); i++) {
      Entry& e = entries_[i];
      uint8_t* base = buffers_ + i * kEntrySize;
      e.qid = qids_[i / per_queue];
      e.header = reinterpret_cast<fuse::fuse_uring_req_header*>(base);
      e.payload = base + kHeaderSize;
      e.iov[0] = {e.header, sizeof(*e.header)};
      e.iov[1] = {e.payload, kPayloadSize};
    }
    return "";
  }

  // Submit queues one command for entry i (commit_id: the request answered, for a commit).
  void Submit(uint32_t cmd, size_t i, uint64_t commit_id) {
    // Never null: the ring has room for two commands per entry, and each has at most one.
    io_uring_sqe* sqe = ring_.GetSqe();
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = conn_.fuse_fd;
    sqe->cmd_op = cmd;
    sqe->addr = reinterpret_cast<uint64_t>(entries_[i].iov);
    sqe->len = fuse::kUringIovSegments;
    sqe->user_data = i;
    auto* req = reinterpret_cast<fuse::fuse_uring_cmd_req*>(sqe->cmd);
    req->commit_id = commit_id;
    req->qid = static_cast<uint16_t>(entries_[i].qid);
  }

  // Loop waits for requests and serves them, until the kernel has ended every entry.
  void Loop() {
    size_t live = entries_.size();
    while (live > 0) {
      int err = ring_.SubmitAndWait(1);
      if (err == EINTR) continue;
      if (err != 0) {
        logging::Error("gofer %s: %s: io_uring queue thread %d: io_uring_enter: %s", conn_.cfg.id.c_str(),
                       conn_.host_path.c_str(), qids_[0], sys::ErrnoText(err).c_str());
        return;
      }
      while (const io_uring_cqe* cqe = ring_.PeekCqe()) {
        size_t i = static_cast<size_t>(cqe->user_data);
        int res = cqe->res;
        ring_.SeenCqe();
        if (res >= 0) {
          Serve(i);
          continue;
        }
        live--;
        Ended(entries_[i].qid, -res);
      }
    }
  }

  // Serve answers the request in entry i and hands the entry back for the next one.
  void Serve(size_t i) {
    Entry& e = entries_[i];
    fuse::fuse_in_header in;
    memcpy(&in, e.header->in_out, sizeof(in));
    uint64_t commit_id = e.header->ring_ent_in_out.commit_id;
    size_t payload = std::min<size_t>(e.header->ring_ent_in_out.payload_sz, kPayloadSize);
    size_t extlen = size_t{in.total_extlen} * 8;  // extensions follow the arguments
    if (extlen <= payload) payload -= extlen;
    Args a(e.header->op_in, sizeof(e.header->op_in), e.payload, payload);
    RingSink sink(e);
    worker_.Dispatch(in, a, sink);
    Submit(fuse::kUringCmdCommitAndFetch, i, commit_id);
  }

  // Ended logs why the kernel ended an entry of queue qid (err: its errno).
  void Ended(int qid, int err) {
    // ENOTCONN: the connection ended (unmount, abort); ECONNABORTED: it was aborted before the
    // entry registered; ECANCELED: the ring is going away.
    if (err == ENOTCONN || err == ECONNABORTED || err == ECANCELED) return;
    conn_.ring_serving = false;
    // A failed REGISTER makes the kernel keep /dev/fuse for the connection.
    logging::Error("gofer %s: %s: io_uring queue %d: the kernel ended an entry: %s", conn_.cfg.id.c_str(),
                   conn_.host_path.c_str(), qid, sys::ErrnoText(err).c_str());
  }

  RingSet& set_;
  Connection& conn_;
  const int cpu_;
  const std::vector<int> qids_;
  Worker worker_;
  IoRing ring_;
  uint8_t* buffers_ = nullptr;
  std::vector<Entry> entries_;
};

RingSet::RingSet(Connection& c, int queues, const std::vector<int>& own_cpus)
    : conn_(c), nqueues_(queues) {
  std::vector<bool> pinned(static_cast<size_t>(queues), false);
  for (int cpu : own_cpus) {
    if (cpu < 0 || cpu >= queues || pinned[cpu]) continue;
    pinned[cpu] = true;
    plan_.push_back({cpu, {cpu}});
  }
  Plan spare = {-1, {}};
  for (int q = 0; q < queues; q++) {
    if (!pinned[q]) spare.qids.push_back(q);
  }
  if (!spare.qids.empty()) plan_.push_back(spare);
}

RingSet::~RingSet() {
  Quit();
  Join();
}

bool RingSet::Prepare(std::string* err) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackSize);
  for (const Plan& p : plan_) {
    queues_.push_back(std::make_unique<RingQueue>(*this, conn_, p.cpu, p.qids));
    pthread_t t;
    int rc = pthread_create(&t, &attr, RingQueue::Main, queues_.back().get());
    if (rc != 0) {
      queues_.pop_back();
      std::lock_guard<std::mutex> lock(mu_);
      first_err_ = "starting an io_uring queue thread: " + sys::ErrnoText(rc);
      break;
    }
    threads_.push_back(t);
  }
  pthread_attr_destroy(&attr);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return reported_ == static_cast<int>(threads_.size()); });
  if (first_err_.empty()) return true;
  *err = first_err_;
  lock.unlock();
  Quit();
  Join();
  return false;
}

bool RingSet::ReportReady(const std::string& err) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!err.empty() && first_err_.empty()) first_err_ = err;
  reported_++;
  cv_.notify_all();
  cv_.wait(lock, [this] { return go_ != Go::kWait; });
  return go_ == Go::kRun;
}

void RingSet::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (go_ == Go::kWait) go_ = Go::kRun;
  cv_.notify_all();
}

void RingSet::Quit() {
  std::lock_guard<std::mutex> lock(mu_);
  if (go_ == Go::kWait) go_ = Go::kQuit;
  cv_.notify_all();
}

void RingSet::Join() {
  if (joined_) return;
  joined_ = true;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += kJoinTimeout;
  for (size_t i = 0; i < threads_.size(); i++) {
    if (pthread_timedjoin_np(threads_[i], nullptr, &deadline) == 0) continue;
    // Leave the thread (and what it uses) be rather than hang the gofer's exit.
    logging::Error("gofer %s: %s: an io_uring queue thread did not end with the connection",
                   conn_.cfg.id.c_str(), conn_.host_path.c_str());
    pthread_detach(threads_[i]);
    static_cast<void>(queues_[i].release());
  }
}

}  // namespace gofer
