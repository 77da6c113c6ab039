// The node table of one connection (see node_table.h).
#include "node_table.h"

#include <sys/ioctl.h>

#include "fuse_proto.h"

namespace gofer {

// The kernel holds an inode (and so a node fd here) for as long as it caches the name. Past
// half of the fd budget the oldest names are invalidated until three eighths remain; the rest
// of the budget is for open files, directories and the kernel's lag in sending FORGETs.
NodeTable::NodeTable(int fuse_fd, size_t max_nodes)
    : fuse_fd_(fuse_fd), high_water_(max_nodes / 2), low_water_(max_nodes * 3 / 8) {}

void NodeTable::SetRoot(unique_fd fd, const struct stat& st) {
  auto root = std::make_shared<Node>(fuse::kRootId, std::move(fd), st);
  root->nlookup = 1;
  std::lock_guard<std::mutex> lock(mu_);
  root->lru = lru_.end();
  by_id_[fuse::kRootId] = root;
  by_inode_[Key{st.st_dev, st.st_ino}] = fuse::kRootId;
  size_ = by_id_.size();
}

std::shared_ptr<Node> NodeTable::Get(uint64_t nodeid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(nodeid);
  return it == by_id_.end() ? nullptr : it->second;
}

std::shared_ptr<Node> NodeTable::Ref(unique_fd fd, const struct stat& st, uint64_t parent, const char* name) {
  std::lock_guard<std::mutex> lock(mu_);
  Key key{st.st_dev, st.st_ino};
  auto it = by_inode_.find(key);
  std::shared_ptr<Node> n;
  if (it != by_inode_.end()) {
    n = by_id_[it->second];  // fd is closed on return: the node holds one for this inode
    if (n->id == fuse::kRootId) {
      n->nlookup++;
      return n;
    }
    lru_.splice(lru_.end(), lru_, n->lru);
  } else {
    uint64_t id = next_id_++;
    n = std::make_shared<Node>(id, std::move(fd), st);
    by_id_[id] = n;
    by_inode_[key] = id;
    n->lru = lru_.insert(lru_.end(), id);
    size_ = by_id_.size();
  }
  n->nlookup++;
  n->parent = parent;
  if (name != nullptr) {
    n->name = name;
  } else {
    n->name.clear();
  }
  return n;
}

void NodeTable::Forget(uint64_t nodeid, uint64_t count) {
  std::shared_ptr<Node> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (nodeid == fuse::kRootId) return;
    auto it = by_id_.find(nodeid);
    if (it == by_id_.end()) return;
    Node& n = *it->second;
    n.nlookup = count >= n.nlookup ? 0 : n.nlookup - count;
    if (n.nlookup > 0) return;
    dropped = std::move(it->second);
    by_id_.erase(it);
    by_inode_.erase(Key{dropped->dev, dropped->ino});
    lru_.erase(dropped->lru);
    size_ = by_id_.size();
  }
  // The kernel dropped the inode, so no open can want this backing id any more.
  int backing = dropped->backing_id.load();
  if (backing > 0) {
    uint32_t id = static_cast<uint32_t>(backing);
    ioctl(fuse_fd_, fuse::kDevIocBackingClose, &id);
  }
}

void NodeTable::Pin(dev_t dev, ino_t ino) {
  std::lock_guard<std::mutex> lock(mu_);
  pinned_.insert(Key{dev, ino});
}

std::vector<NameRef> NodeTable::PruneCandidates() const {
  std::vector<NameRef> out;
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = by_id_.size();
  if (n <= low_water_) return out;
  size_t want = n - low_water_;
  for (auto it = lru_.begin(); it != lru_.end() && out.size() < want; ++it) {
    const Node& node = *by_id_.at(*it);
    if (node.type == S_IFDIR || pinned_.count(Key{node.dev, node.ino})) continue;
    if (node.parent != 0 && !node.name.empty()) out.emplace_back(node.parent, node.name);
  }
  return out;
}

}  // namespace gofer
