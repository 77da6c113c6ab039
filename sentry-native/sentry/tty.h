// Tty: copies between a terminal process's pty master (allocated in the container's devpts)
// and the stdio fds the shim passed: stdin -> master, master -> stdout. Non-blocking, bounded
// buffers (a full buffer stops reading its source), all in the event loop.
#pragma once

#include <functional>
#include <string>

#include "event_loop.h"
#include "unique_fd.h"

// Tty owns the pty master and the passed stdin/stdout of one terminal process.
class Tty {
 public:
  Tty(EventLoop* loop, unique_fd master, unique_fd in, unique_fd out);
  ~Tty();
  Tty(const Tty&) = delete;
  Tty& operator=(const Tty&) = delete;

  // Start begins copying.
  void Start();
  // Resize sets the window size (TIOCSWINSZ); errno on failure.
  int Resize(unsigned int width, unsigned int height);
  // CloseStdin stops copying stdin after flushing what is buffered, then sends VEOF.
  void CloseStdin();
  // ProcessExited drains the master's pending output into stdout, closes everything and then
  // calls done (at once when nothing is pending).
  void ProcessExited(std::function<void()> done);

 private:
  struct Fd {
    unique_fd fd;
    uint64_t watch = 0;
    uint32_t interest = 0;
    bool pollable = true;
  };

  void Pump();
  void Watch(Fd* f, uint32_t events);
  void CloseFd(Fd* f);
  void Finish();

  static constexpr size_t kBufferSize = 64 * 1024;

  EventLoop* loop_;
  Fd master_, in_, out_;
  std::string to_master_;  // read from stdin, not yet written to the master
  std::string to_out_;     // read from the master, not yet written to stdout
  bool veof_pending_ = false;
  bool master_open_ = true;    // false after EIO/EOF (slave side gone) or close
  bool exited_ = false;
  bool drained_ = false;
  bool finished_ = false;
  bool pumping_ = false;
  std::function<void()> done_;
};
