// The node table of one connection: every inode the kernel knows by a node id, held by an
// O_PATH fd, with the kernel's lookup count (FORGET drops a node when it reaches 0).
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "unique_fd.h"

namespace gofer {

// Node is one inode known to the kernel. fd, id, dev, ino and type never change; the fields
// below them are guarded by the table's lock.
struct Node {
  Node(uint64_t id_, unique_fd fd_, const struct stat& st)
      : id(id_), fd(std::move(fd_)), dev(st.st_dev), ino(st.st_ino), type(st.st_mode & S_IFMT) {}

  const uint64_t id;
  // fd is O_PATH|O_NOFOLLOW: it names the inode without opening it and never follows a link.
  const unique_fd fd;
  const dev_t dev;
  const ino_t ino;
  const mode_t type;
  // backing_id is the passthrough backing id registered for this inode: 0 none yet, -1 the
  // kernel refused one (the inode is served with READ/WRITE), > 0 the id. It lives as long
  // as the node: the kernel wants one backing id for all opens of an inode.
  std::atomic<int> backing_id{0};

  uint64_t nlookup = 0;
  // parent and name: where the kernel last looked the node up (maybe stale after a rename),
  // to ask the kernel to drop it under fd pressure.
  uint64_t parent = 0;
  std::string name;
  std::list<uint64_t>::iterator lru;  // position in the table's lookup order
};

// NameRef is a (parent node id, name) pair the kernel may hold a dentry for.
using NameRef = std::pair<uint64_t, std::string>;

// NodeTable maps node ids and (st_dev, st_ino) to nodes. Thread-safe.
class NodeTable {
 public:
  // fuse_fd is the connection's /dev/fuse fd, to close backing ids of forgotten nodes.
  // max_nodes is how many node fds the process can afford (see HighWater).
  NodeTable(int fuse_fd, size_t max_nodes);

  // SetRoot installs node id 1, which is never forgotten.
  void SetRoot(unique_fd fd, const struct stat& st);
  // Get returns the node with id nodeid, or null.
  std::shared_ptr<Node> Get(uint64_t nodeid) const;
  // Ref returns the node of st's inode, creating one that owns fd if the inode is new (else
  // fd is closed), and counts one lookup by the kernel of name in directory node parent.
  std::shared_ptr<Node> Ref(unique_fd fd, const struct stat& st, uint64_t parent, const char* name);
  // Forget takes n lookups off node nodeid and drops it at 0.
  void Forget(uint64_t nodeid, uint64_t n);
  // Size is the number of nodes.
  size_t Size() const { return size_.load(std::memory_order_relaxed); }
  // OverHighWater says whether so many nodes are held that the kernel should drop some.
  bool OverHighWater() const { return Size() > high_water_; }
  // PruneCandidates returns the names of the least recently looked-up nodes that take the
  // table down to its low-water mark. Directories and pinned inodes are never candidates: the
  // kernel's d_invalidate detaches every mount on or under a dropped name, and the container's
  // mount points are directories, or files the shim pins.
  std::vector<NameRef> PruneCandidates() const;
  // Pin keeps the inode (dev, ino) off the candidates.
  void Pin(dev_t dev, ino_t ino);

 private:
  struct Key {
    dev_t dev;
    ino_t ino;
    bool operator==(const Key& o) const { return dev == o.dev && ino == o.ino; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.ino ^ (uint64_t{k.dev} << 40)); }
  };

  const int fuse_fd_;
  const size_t high_water_;
  const size_t low_water_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Node>> by_id_;
  std::unordered_map<Key, uint64_t, KeyHash> by_inode_;
  std::unordered_set<Key, KeyHash> pinned_;  // guarded by mu_
  std::list<uint64_t> lru_;  // node ids, least recently looked up first
  std::atomic<size_t> size_{0};
  uint64_t next_id_ = 2;
};

}  // namespace gofer
