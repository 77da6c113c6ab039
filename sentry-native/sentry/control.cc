// ControlConnection: ttrpc framing on the control socketpair (see control.h).
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>

#include "log.h"
#include "messages.h"
#include "sys.h"

namespace {

constexpr size_t kHeaderSize = 10;
constexpr uint8_t kTypeRequest = 1;
constexpr uint8_t kTypeResponse = 2;
constexpr size_t kMaxFdsPerRead = 64;

uint32_t Be32(const std::string& s, size_t off) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[off])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[off + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[off + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[off + 3]));
}

void PutBe32(std::string* s, uint32_t v) {
  s->push_back(static_cast<char>(v >> 24));
  s->push_back(static_cast<char>(v >> 16));
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v));
}

}  // namespace

ControlConnection::ControlConnection(EventLoop* loop, unique_fd sock, Dispatch dispatch,
                                     std::function<void()> on_eof)
    : loop_(loop), sock_(std::move(sock)), dispatch_(std::move(dispatch)), on_eof_(std::move(on_eof)) {}

ControlConnection::~ControlConnection() {
  if (watch_) loop_->Remove(watch_);
}

Result<Void> ControlConnection::Start() {
  auto nb = sys::SetNonBlocking(sock_.get());
  if (!nb.ok()) return nb;
  auto cloexec = sys::SetCloexec(sock_.get());
  if (!cloexec.ok()) return cloexec;
  auto id = loop_->Add(sock_.get(), EPOLLIN, [this](uint32_t ev) { OnEvents(ev); });
  if (!id.ok()) return Result<Void>::Error(id.error());
  watch_ = id.value();
  return Void{};
}

void ControlConnection::OnEvents(uint32_t events) {
  if (closed_) return;
  if (events & EPOLLOUT) WriteSome();
  if (closed_) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadSome();
}

void ControlConnection::ReadSome() {
  // Read until EAGAIN so one readiness event drains the socket (level-triggered anyway).
  for (int rounds = 0; rounds < 64 && !closed_; rounds++) {
    char buf[65536];
    union {
      char space[CMSG_SPACE(sizeof(int) * kMaxFdsPerRead)];
      struct cmsghdr align;
    } control;
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof(control.space);
    ssize_t n = recvmsg(sock_.get(), &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      logging::Error("control socket: recvmsg: %s", strerror(errno));
      Close();
      return;
    }
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        fds_.emplace_back(fd);
      }
    }
    if (mh.msg_flags & MSG_CTRUNC) logging::Error("control socket: file descriptors were truncated");
    if (n == 0) {
      Close();
      return;
    }
    in_.append(buf, static_cast<size_t>(n));
    ParseFrames();
  }
}

void ControlConnection::ParseFrames() {
  for (;;) {
    if (discard_ > 0) {
      size_t drop = static_cast<size_t>(std::min<uint64_t>(discard_, in_.size()));
      in_.erase(0, drop);
      discard_ -= drop;
      if (discard_ > 0) return;
    }
    if (in_.size() < kHeaderSize) break;
    uint32_t length = Be32(in_, 0);
    uint32_t stream = Be32(in_, 4);
    uint8_t type = static_cast<uint8_t>(in_[8]);
    if (length > kMaxFrame) {
      logging::Error("control: frame of %u bytes on stream %u exceeds the 4 MiB limit", length, stream);
      in_.erase(0, kHeaderSize);
      discard_ = length;
      if (type == kTypeRequest)
        ReplyError(stream, Status(kResourceExhausted, "message length " + std::to_string(length) +
                                                          " exceeds maximum message size"));
      continue;
    }
    if (in_.size() < kHeaderSize + length) break;
    std::string data = in_.substr(kHeaderSize, length);
    in_.erase(0, kHeaderSize + length);
    if (type != kTypeRequest) {
      logging::Error("control: ignoring frame of type %u on stream %u", type, stream);
      continue;
    }
    msg::TtrpcRequest req;
    if (!msg::Decode(data, &req)) {
      ReplyError(stream, Status(kInvalidArgument, "malformed ttrpc request"));
      continue;
    }
    dispatch_(stream, req.service, req.method, req.payload);
    if (closed_) return;
  }
  // Every fd arrives with the first bytes of its request. With no partial frame left, any fd
  // still queued belongs to no request: close it instead of handing it to a later one.
  if (in_.empty() && discard_ == 0 && !fds_.empty()) {
    logging::Error("control: closing %zu file descriptor(s) no request took", fds_.size());
    fds_.clear();
  }
}

unique_fd ControlConnection::TakeFd() {
  if (fds_.empty()) return unique_fd();
  unique_fd fd = std::move(fds_.front());
  fds_.pop_front();
  return fd;
}

void ControlConnection::SendFrame(uint32_t stream, const std::string& data) {
  if (closed_) return;
  PutBe32(&out_, static_cast<uint32_t>(data.size()));
  PutBe32(&out_, stream);
  out_.push_back(static_cast<char>(kTypeResponse));
  out_.push_back(0);
  out_.append(data);
  WriteSome();
}

void ControlConnection::Reply(uint32_t stream, const std::string& payload) {
  SendFrame(stream, msg::EncodeResponse(0, "", payload));
}

void ControlConnection::ReplyError(uint32_t stream, const Status& status) {
  logging::Debug("control: stream %u fails: code %d: %s", stream, status.code, status.message.c_str());
  SendFrame(stream, msg::EncodeResponse(status.code, status.message, ""));
}

void ControlConnection::WriteSome() {
  while (!out_.empty() && !closed_) {
    ssize_t n = send(sock_.get(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      logging::Error("control socket: send: %s", strerror(errno));
      Close();
      return;
    }
    out_.erase(0, static_cast<size_t>(n));
  }
  UpdateInterest();
}

void ControlConnection::FlushBlocking() {
  while (!out_.empty() && !closed_) {
    struct pollfd p = {sock_.get(), POLLOUT, 0};
    poll(&p, 1, 1000);
    size_t before = out_.size();
    WriteSome();
    if (out_.size() == before && !(p.revents & POLLOUT)) break;  // peer stuck or gone
  }
}

void ControlConnection::UpdateInterest() {
  if (watch_ && !closed_) loop_->Modify(watch_, EPOLLIN | (out_.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT)));
}

void ControlConnection::Close() {
  if (closed_) return;
  closed_ = true;
  if (watch_) loop_->Remove(watch_);
  watch_ = 0;
  fds_.clear();
  out_.clear();
  if (!eof_reported_) {
    eof_reported_ = true;
    if (on_eof_) on_eof_();
  }
}
