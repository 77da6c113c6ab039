// ControlConnection: the ttrpc framing on the control socketpair to the shim. Reads frames and
// the SCM_RIGHTS fds sent with them (a FIFO queue), hands each Request to the dispatcher in
// arrival order, and writes Response frames (buffered, non-blocking) on the request's stream.
#pragma once

#include <stdint.h>

#include <deque>
#include <functional>
#include <string>

#include "event_loop.h"
#include "status.h"
#include "unique_fd.h"

// ControlConnection owns the control socket and its framing.
class ControlConnection {
 public:
  // Dispatch is called for every Request frame: stream id, method name, payload.
  using Dispatch = std::function<void(uint32_t stream, const std::string& service,
                                      const std::string& method, const std::string& payload)>;

  ControlConnection(EventLoop* loop, unique_fd sock, Dispatch dispatch, std::function<void()> on_eof);
  ~ControlConnection();

  // Start registers the socket with the loop.
  Result<Void> Start();
  // Reply sends a successful Response with payload on stream.
  void Reply(uint32_t stream, const std::string& payload);
  // ReplyError sends a Response carrying status on stream.
  void ReplyError(uint32_t stream, const Status& status);
  // TakeFd pops the oldest received fd (invalid unique_fd when the queue is empty).
  unique_fd TakeFd();
  // QueuedFds is the number of received fds not yet taken.
  size_t QueuedFds() const { return fds_.size(); }
  // Flushed says whether every reply has been written to the socket.
  bool Flushed() const { return out_.empty(); }
  // FlushBlocking writes what is buffered, waiting for the socket (used before exiting).
  void FlushBlocking();
  // closed says whether the connection has reached EOF or failed.
  bool closed() const { return closed_; }

  static constexpr uint32_t kMaxFrame = 4 << 20;

 private:
  void OnEvents(uint32_t events);
  void ReadSome();
  void ParseFrames();
  void WriteSome();
  void UpdateInterest();
  void Close();
  void SendFrame(uint32_t stream, const std::string& data);

  EventLoop* loop_;
  unique_fd sock_;
  Dispatch dispatch_;
  std::function<void()> on_eof_;
  uint64_t watch_ = 0;
  std::string in_;
  std::string out_;
  std::deque<unique_fd> fds_;
  uint64_t discard_ = 0;  // bytes of an oversized frame still to skip
  bool closed_ = false;
  bool eof_reported_ = false;
};
