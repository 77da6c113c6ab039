// See dead_gofers.h. FUSE wire facts (include/uapi/linux/fuse.h): a request starts with
// fuse_in_header {u32 len, u32 opcode, u64 unique, u64 nodeid, u32 uid, gid, pid, u16, u16};
// a reply is fuse_out_header {u32 len, i32 error, u64 unique} and its body.
#include "dead_gofers.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "sys.h"

namespace {

constexpr uint32_t kOpForget = 2;
constexpr uint32_t kOpInit = 26;
constexpr uint32_t kOpInterrupt = 36;
constexpr uint32_t kOpDestroy = 38;
constexpr uint32_t kOpBatchForget = 42;
constexpr size_t kInHeader = 40;
// A dead gofer may have negotiated 1 MiB writes; the kernel refuses reads into a smaller buffer.
constexpr size_t kBufferSize = (1 << 20) + (64 << 10);

struct OutHeader {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};

// InitOut is fuse_init_out of protocol 7.31 (64 bytes): the least a connection that never got
// its INIT answered needs before every later request can be refused.
struct InitOut {
  uint32_t major, minor, max_readahead, flags;
  uint16_t max_background, congestion_threshold;
  uint32_t max_write, time_gran;
  uint16_t max_pages, map_alignment;
  uint32_t flags2, max_stack_depth;
  uint32_t unused[6];
};
static_assert(sizeof(InitOut) == 64, "fuse_init_out is 64 bytes");

bool Write(int fd, const void* data, size_t len) {
  ssize_t n = write(fd, data, len);
  return n == static_cast<ssize_t>(len) || (n < 0 && errno != ENODEV);
}

}  // namespace

void DeadGofers::Answer(const std::string& id, std::vector<unique_fd> fds) {
  std::vector<Conn>& conns = conns_[id];
  if (!conns.empty()) return;  // already answering
  conns.reserve(fds.size());  // the handlers keep pointers into the vector
  for (unique_fd& fd : fds) conns.push_back(Conn{std::move(fd), 0});
  for (Conn& c : conns) {
    Conn* conn = &c;
    // Ours alone now (the gofer is gone), so non-blocking: the loop reads until EAGAIN.
    int fl = fcntl(conn->fd.get(), F_GETFL);
    if (fl < 0 || fcntl(conn->fd.get(), F_SETFL, fl | O_NONBLOCK) < 0) {
      logging::Error("container %s: a dead gofer's FUSE connection: %s", id.c_str(), sys::ErrnoText(errno).c_str());
      conn->fd.reset();
      continue;
    }
    auto watch = loop_->Add(conn->fd.get(), EPOLLIN, [this, conn, id](uint32_t) {
      while (OnReadable(conn, id)) {
      }
    });
    if (!watch.ok()) {
      logging::Error("container %s: watching a dead gofer's FUSE connection: %s", id.c_str(), sys::ErrnoText(watch.error()).c_str());
      conn->fd.reset();
      continue;
    }
    conn->watch = watch.value();
  }
  logging::Info("container %s: its gofer died; its files now answer EIO", id.c_str());
}

void DeadGofers::Forget(const std::string& id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  for (Conn& c : it->second)
    if (c.watch) loop_->Remove(c.watch);
  conns_.erase(it);
}

bool DeadGofers::OnReadable(Conn* conn, const std::string& id) {
  if (!conn->fd) return false;
  if (buf_.empty()) buf_.resize(kBufferSize);
  ssize_t n = read(conn->fd.get(), buf_.data(), buf_.size());
  if (n < 0) {
    if (errno == EINTR) return true;
    if (errno == ENOENT || errno == EAGAIN) return false;  // interrupted request / nothing more now
    // ENODEV: unmounted (the container is gone); EPERM: never mounted, and with our copy closed
    // the set-up child's lookups end with the connection instead of waiting for us.
    if (errno != ENODEV && errno != EPERM)
      logging::Error("container %s: reading a dead gofer's FUSE connection: %s", id.c_str(), sys::ErrnoText(errno).c_str());
    loop_->Remove(conn->watch);
    conn->watch = 0;
    conn->fd.reset();
    return false;
  }
  if (static_cast<size_t>(n) < kInHeader) return true;
  uint32_t opcode;
  uint64_t unique;
  memcpy(&opcode, buf_.data() + 4, sizeof opcode);
  memcpy(&unique, buf_.data() + 8, sizeof unique);
  if (opcode == kOpForget || opcode == kOpBatchForget || opcode == kOpInterrupt || opcode == kOpDestroy) return true;
  if (opcode == kOpInit) {
    struct {
      OutHeader h;
      InitOut init;
    } reply = {};
    reply.h = {sizeof reply, 0, unique};
    reply.init.major = 7;
    reply.init.minor = 31;
    reply.init.max_write = 4096;
    reply.init.time_gran = 1;
    return Write(conn->fd.get(), &reply, sizeof reply);
  }
  OutHeader h = {sizeof h, -EIO, unique};
  return Write(conn->fd.get(), &h, sizeof h);
}
