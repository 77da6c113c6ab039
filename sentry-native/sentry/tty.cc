// Tty: pty copying in the event loop (see tty.h).
#include "tty.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "sys.h"

Tty::Tty(EventLoop* loop, unique_fd master, unique_fd in, unique_fd out) : loop_(loop) {
  master_.fd = std::move(master);
  in_.fd = std::move(in);
  out_.fd = std::move(out);
}

Tty::~Tty() {
  CloseFd(&master_);
  CloseFd(&in_);
  CloseFd(&out_);
}

void Tty::Start() {
  for (Fd* f : {&master_, &in_, &out_}) {
    if (!f->fd) continue;
    (void)sys::SetNonBlocking(f->fd.get());
  }
  Pump();
}

int Tty::Resize(unsigned int width, unsigned int height) {
  if (!master_.fd) return EBADF;
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(height);
  ws.ws_col = static_cast<unsigned short>(width);
  return ioctl(master_.fd.get(), TIOCSWINSZ, &ws) < 0 ? errno : 0;
}

void Tty::CloseStdin() {
  if (in_.fd) CloseFd(&in_);
  if (!veof_pending_ && master_open_) veof_pending_ = true;
  Pump();
}

void Tty::ProcessExited(std::function<void()> done) {
  exited_ = true;
  done_ = std::move(done);
  Pump();
}

void Tty::Watch(Fd* f, uint32_t events) {
  if (!f->fd || !f->pollable || f->interest == events) return;
  if (events == 0) {
    // A hung-up fd reports EPOLLHUP even with no interest: leave the set instead.
    loop_->Remove(f->watch);
    f->watch = 0;
  } else if (f->watch == 0) {
    auto id = loop_->Add(f->fd.get(), events, [this](uint32_t) { Pump(); });
    if (!id.ok()) {
      if (id.error() == EPERM) f->pollable = false;  // a regular file: always ready
      else logging::Error("tty: epoll_ctl: %s", strerror(id.error()));
      f->interest = 0;
      return;
    }
    f->watch = id.value();
  } else {
    loop_->Modify(f->watch, events);
  }
  f->interest = events;
}

void Tty::CloseFd(Fd* f) {
  if (f->watch) loop_->Remove(f->watch);
  f->watch = 0;
  f->interest = 0;
  f->fd.reset();
}

void Tty::Pump() {
  if (finished_ || pumping_) return;
  pumping_ = true;
  char buf[16384];
  bool progress = true;
  while (progress) {
    progress = false;
    // stdin -> buffer
    while (in_.fd && to_master_.size() < kBufferSize) {
      ssize_t n = read(in_.fd.get(), buf, std::min(sizeof(buf), kBufferSize - to_master_.size()));
      if (n > 0) {
        to_master_.append(buf, static_cast<size_t>(n));
        progress = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      // EOF (or a broken stdin): the same as CloseStdin.
      CloseFd(&in_);
      if (master_open_) veof_pending_ = true;
      progress = true;
      break;
    }
    // buffer -> master, then VEOF once everything before it is written
    while (master_open_ && master_.fd && (!to_master_.empty() || veof_pending_)) {
      if (to_master_.empty()) {
        struct termios t;
        char eof = tcgetattr(master_.fd.get(), &t) == 0 ? static_cast<char>(t.c_cc[VEOF]) : '\x04';
        to_master_.push_back(eof);
        veof_pending_ = false;
      }
      ssize_t n = write(master_.fd.get(), to_master_.data(), to_master_.size());
      if (n > 0) {
        to_master_.erase(0, static_cast<size_t>(n));
        progress = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      to_master_.clear();  // EIO: nobody reads the terminal any more
      veof_pending_ = false;
      break;
    }
    // master -> buffer
    while (master_open_ && master_.fd && to_out_.size() < kBufferSize) {
      ssize_t n = read(master_.fd.get(), buf, std::min(sizeof(buf), kBufferSize - to_out_.size()));
      if (n > 0) {
        to_out_.append(buf, static_cast<size_t>(n));
        progress = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        if (exited_) drained_ = true;  // the process is gone and nothing more is pending
        break;
      }
      master_open_ = false;  // EIO: every slave fd is closed
      drained_ = true;
      progress = true;
      break;
    }
    // buffer -> stdout
    if (!out_.fd) to_out_.clear();
    while (out_.fd && !to_out_.empty()) {
      ssize_t n = write(out_.fd.get(), to_out_.data(), to_out_.size());
      if (n > 0) {
        to_out_.erase(0, static_cast<size_t>(n));
        progress = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      CloseFd(&out_);  // EPIPE: the reader went away; output is dropped from now on
      to_out_.clear();
      break;
    }
    // Non-pollable fds (regular files) are always ready: only loop again on progress.
  }
  pumping_ = false;
  if (exited_ && drained_ && to_out_.empty()) {
    Finish();
    return;
  }
  Watch(&in_, to_master_.size() < kBufferSize ? static_cast<uint32_t>(EPOLLIN) : 0u);
  uint32_t master_events = 0;
  if (master_open_ && to_out_.size() < kBufferSize) master_events |= EPOLLIN;
  if (master_open_ && (!to_master_.empty() || veof_pending_)) master_events |= EPOLLOUT;
  Watch(&master_, master_events);
  Watch(&out_, to_out_.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
}

void Tty::Finish() {
  finished_ = true;
  CloseFd(&master_);
  CloseFd(&in_);
  CloseFd(&out_);
  if (done_) {
    auto done = std::move(done_);
    done_ = nullptr;
    done();  // may not destroy this Tty (the owner keeps it until the container goes)
  }
}
