// unique_fd: RAII owner of one file descriptor; closes it when it goes out of scope.
#pragma once

#include <unistd.h>

#include <utility>

// unique_fd owns one file descriptor (or none, -1) and closes it on destruction or reset.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  // get returns the descriptor without giving up ownership.
  int get() const { return fd_; }
  // valid says whether a descriptor is owned.
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  // release gives up ownership and returns the descriptor.
  int release() { return std::exchange(fd_, -1); }
  // reset closes the owned descriptor (if any) and takes fd instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};
