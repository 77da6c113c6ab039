// DeadGofers answers for a container's gofer once it has died: every request on the container's
// FUSE connections gets EIO, so the container's file operations fail at once with the error
// gVisor gives when its gofer is gone (the kernel itself would say ENOTCONN, and only once no
// process holds the connection's device any more). The sentry keeps a copy of each connection's
// /dev/fuse fd for this; the shim says when the gofer died (GoferDied). Connections served over
// io_uring are not answered here: their requests wait in the dead gofer's rings, which only the
// kernel can end, once the sentry's copies (the last ones) are closed (ENOTCONN).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "event_loop.h"
#include "unique_fd.h"

class DeadGofers {
 public:
  explicit DeadGofers(EventLoop* loop) : loop_(loop) {}

  // Answer starts answering EIO on fds, the FUSE connections of container id's dead gofer.
  void Answer(const std::string& id, std::vector<unique_fd> fds);
  // Forget stops answering for a container and closes its fds.
  void Forget(const std::string& id);

 private:
  struct Conn {
    unique_fd fd;
    uint64_t watch = 0;
  };
  // OnReadable reads one request of conn and answers it; false when the connection is done.
  bool OnReadable(Conn* conn, const std::string& id);

  EventLoop* loop_;
  std::map<std::string, std::vector<Conn>> conns_;
  std::vector<char> buf_;  // one request; sized for the largest WRITE a gofer accepts
};
