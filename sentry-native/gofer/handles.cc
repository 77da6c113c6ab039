// Open file and directory handles of one connection (see handles.h).
#include "handles.h"

namespace gofer {

uint64_t HandleTable::Add(std::shared_ptr<Handle> h) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t fh = next_++;
  handles_[fh] = std::move(h);
  return fh;
}

std::shared_ptr<Handle> HandleTable::Get(uint64_t fh) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = handles_.find(fh);
  return it == handles_.end() ? nullptr : it->second;
}

void HandleTable::Remove(uint64_t fh) {
  std::shared_ptr<Handle> h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return;
    h = std::move(it->second);
    handles_.erase(it);
  }
  // h (and its fd) goes here, outside the lock.
}

}  // namespace gofer
