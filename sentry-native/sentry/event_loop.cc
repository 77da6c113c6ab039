// EventLoop: the sentry's single epoll loop (see event_loop.h).
#include "event_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "log.h"

Result<Void> EventLoop::Init() {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return Result<Void>::Error(errno);
  epfd_.reset(fd);
  return Void{};
}

Result<uint64_t> EventLoop::Add(int fd, uint32_t events, Handler handler) {
  uint64_t id = next_id_++;
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = id;
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return Result<uint64_t>::Error(errno);
  entries_[id] = Entry{fd, events, std::move(handler)};
  return id;
}

void EventLoop::Modify(uint64_t id, uint32_t events) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.events == events) return;
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = id;
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, it->second.fd, &ev) < 0)
    logging::Error("epoll_ctl(MOD, fd %d): %s", it->second.fd, strerror(errno));
  it->second.events = events;
}

void EventLoop::Remove(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  entries_.erase(it);
}

void EventLoop::RunOnce(int timeout_ms) {
  struct epoll_event events[64];
  int n = epoll_wait(epfd_.get(), events, 64, timeout_ms);
  if (n < 0) {
    if (errno != EINTR) logging::Error("epoll_wait: %s", strerror(errno));
    return;
  }
  for (int i = 0; i < n; i++) {
    auto it = entries_.find(events[i].data.u64);
    if (it == entries_.end()) continue;  // removed by an earlier handler of this batch
    Handler h = it->second.handler;      // copy: the handler may remove its own watch
    h(events[i].events);
  }
}
