// EventLoop: the sentry's single epoll loop. Handlers are keyed by a watch id, so an event for a
// watch removed earlier in the same batch is dropped instead of reaching a reused fd number.
#pragma once

#include <stdint.h>

#include <functional>
#include <unordered_map>

#include "result.h"
#include "unique_fd.h"

// EventLoop dispatches epoll readiness to per-fd handlers; one thread, no locks.
class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  // Init creates the epoll instance.
  Result<Void> Init();
  // Add watches fd for events and returns a watch id (errno on failure, e.g. EPERM for files).
  Result<uint64_t> Add(int fd, uint32_t events, Handler handler);
  // Modify changes the events of a watch.
  void Modify(uint64_t id, uint32_t events);
  // Remove stops watching; call it before closing the fd.
  void Remove(uint64_t id);
  // RunOnce waits for events (timeout_ms -1 = forever) and runs their handlers.
  void RunOnce(int timeout_ms);

 private:
  struct Entry {
    int fd;
    uint32_t events;
    Handler handler;
  };
  unique_fd epfd_;
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t next_id_ = 1;
};
