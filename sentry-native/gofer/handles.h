// Open file and directory handles of one connection (the fh of OPEN/OPENDIR replies).
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <memory>
#include <mutex>
#include <unordered_map>

#include "node_table.h"
#include "unique_fd.h"

namespace gofer {

// Handle is one open file or directory.
struct Handle {
  Handle(unique_fd fd_, std::shared_ptr<Node> node_) : fd(std::move(fd_)), node(std::move(node_)) {}

  const unique_fd fd;
  const std::shared_ptr<Node> node;
  // Directory reading state, guarded by dir_mu: dir_pos is the getdents64 cookie the fd's
  // position corresponds to (entries read but not sent move the kernel's position past it).
  std::mutex dir_mu;
  off_t dir_pos = 0;
};

// HandleTable maps fh values to handles. Thread-safe.
class HandleTable {
 public:
  // Add stores h and returns its fh.
  uint64_t Add(std::shared_ptr<Handle> h);
  // Get returns the handle fh, or null.
  std::shared_ptr<Handle> Get(uint64_t fh) const;
  // Remove drops handle fh (its fd closes once no request uses it).
  void Remove(uint64_t fh);

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Handle>> handles_;
  uint64_t next_ = 1;
};

}  // namespace gofer
