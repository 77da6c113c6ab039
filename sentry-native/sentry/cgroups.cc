// Cgroups: making, joining lists and removing container cgroup directories (see cgroups.h).
#include "cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "log.h"
#include "procfs.h"
#include "sys.h"

namespace {

// kRetryFor bounds how long a removal waits for the last processes of a cgroup to leave it.
constexpr std::chrono::seconds kRetryFor(2);

struct CgroupMount {
  std::string mount_point;
  bool v1 = false;
};

// CgroupMounts lists the cgroup and cgroup2 mounts of the sentry's mount namespace.
std::vector<CgroupMount> CgroupMounts() {
  std::vector<CgroupMount> out;
  for (const procfs::MountInfo& m : procfs::ReadMountInfo())
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") out.push_back(CgroupMount{m.mount_point, m.fstype == "cgroup"});
  return out;
}

// SplitCgroupPath splits an absolute cgroup path into its components; false if one is "..".
bool SplitCgroupPath(const std::string& path, std::vector<std::string>* parts) {
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "..") return false;
    if (!part.empty() && part != ".") parts->push_back(part);
    i = j + 1;
  }
  return true;
}

// InheritCpuset fills an empty cpuset.cpus / cpuset.mems (a new v1 cpuset cgroup) from the
// parent, without which no task can join it (ENOSPC), as runc does.
void InheritCpuset(const std::string& parent, const std::string& dir) {
  for (const char* file : {"/cpuset.cpus", "/cpuset.mems"}) {
    auto mine = sys::ReadFile(dir + file);
    if (!mine.ok() || (!mine->empty() && mine.value() != "\n")) continue;
    auto theirs = sys::ReadFile(parent + file);
    if (theirs.ok()) (void)sys::WriteFile(dir + file, theirs.value());
  }
}

// HasSubdirectories says whether dir holds child cgroups (which are not ours to wait for).
bool HasSubdirectories(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (e->d_type == DT_DIR) {
      found = true;
      break;
    }
  }
  closedir(d);
  return found;
}

bool IsBelow(const std::string& dir, const std::string& ancestor) {
  return dir.size() > ancestor.size() && dir.compare(0, ancestor.size(), ancestor) == 0 && dir[ancestor.size()] == '/';
}

}  // namespace

void CgroupHold::Release() {
  if (!owner_) return;
  Cgroups* owner = owner_;
  owner_ = nullptr;
  owner->Release(std::move(dirs_));
  dirs_.clear();
}

Status Cgroups::Create(const std::string& cgroup_path, std::vector<CgroupLeaf>* leaves, CgroupHold* hold) {
  hold->owner_ = this;
  if (cgroup_path.empty()) return Status();
  std::vector<std::string> parts;
  if (cgroup_path[0] != '/' || !SplitCgroupPath(cgroup_path, &parts))
    return Status(kInvalidArgument, "cgroup path \"" + cgroup_path + "\" must be absolute and without \"..\"");
  std::vector<CgroupMount> mounts = CgroupMounts();
  bool have_v1 = std::any_of(mounts.begin(), mounts.end(), [](const CgroupMount& m) { return m.v1; });
  for (const CgroupMount& m : mounts) {
    bool required = m.v1 || !have_v1;  // the hybrid "unified" tree is best effort
    std::string dir;
    int err = 0;
    // A parent that another sandbox made can vanish under us (it removes it once empty): then
    // mkdir below it fails with ENOENT, and we start over.
    for (int attempt = 0; attempt < 5; attempt++) {
      dir = m.mount_point;
      for (const std::string& part : parts) {
        std::string parent = dir;
        dir += "/" + part;
        err = MakeDir(dir, hold);
        if (err != 0) break;
        InheritCpuset(parent, dir);
      }
      if (err != ENOENT) break;
    }
    if (err == 0) {
      leaves->push_back(CgroupLeaf{dir, required});
    } else if (required) {
      return Status(kUnknown, "creating cgroup " + dir + ": " + sys::ErrnoText(err));
    }
  }
  return Status();
}

int Cgroups::MakeDir(const std::string& dir, CgroupHold* hold) {
  if (mkdir(dir.c_str(), 0755) == 0) {
    refs_[dir] = 1;
    hold->dirs_.push_back(dir);
    return 0;
  }
  if (errno != EEXIST) return errno;
  // Ours if another container of this sandbox made it (and holds it still, or let it go but it is
  // not removed yet: then it is taken back); else it is not ours to remove.
  auto queued = std::find_if(removals_.begin(), removals_.end(), [&](const Removal& r) { return r.dir == dir; });
  if (queued != removals_.end()) {
    removals_.erase(queued);
    refs_[dir] = 0;
  }
  auto it = refs_.find(dir);
  if (it != refs_.end()) {
    it->second++;
    hold->dirs_.push_back(dir);
  }
  return 0;
}

void Cgroups::Release(std::vector<std::string> dirs) {
  auto give_up = Clock::now() + kRetryFor;
  std::vector<Removal> queued;
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {  // children first
    auto ref = refs_.find(*it);
    if (ref == refs_.end() || --ref->second > 0) continue;
    refs_.erase(ref);
    queued.push_back(Removal{*it, give_up});
  }
  if (queued.empty()) return;
  removals_.insert(removals_.end(), queued.begin(), queued.end());
  // Deepest first, across containers too: a parent is tried only after every child queued.
  std::stable_sort(removals_.begin(), removals_.end(), [](const Removal& a, const Removal& b) {
    return std::count(a.dir.begin(), a.dir.end(), '/') > std::count(b.dir.begin(), b.dir.end(), '/');
  });
  Sweep();
}

bool Cgroups::Sweep() {
  auto now = Clock::now();
  std::vector<std::string> waiting;  // kept for a retry: their parents must wait too
  for (auto it = removals_.begin(); it != removals_.end();) {
    const std::string& dir = it->dir;
    bool child_waits = std::any_of(waiting.begin(), waiting.end(), [&](const std::string& w) { return IsBelow(w, dir); });
    if (child_waits) {
      waiting.push_back(dir);
      ++it;
      continue;
    }
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) {
      logging::Debug("cgroup %s: removed", dir.c_str());
      it = removals_.erase(it);
      continue;
    }
    int e = errno;
    bool foreign_children = e == EBUSY && HasSubdirectories(dir);
    if (e == EBUSY && !foreign_children && now < it->give_up) {  // its last processes are leaving
      waiting.push_back(dir);
      ++it;
      continue;
    }
    if (foreign_children) {
      logging::Info("cgroup %s: left in place: it holds cgroups the sandbox did not create", dir.c_str());
    } else {
      logging::Error("cgroup %s: removing: %s", dir.c_str(), sys::ErrnoText(e).c_str());
    }
    it = removals_.erase(it);
  }
  return removals_.empty();
}

void Cgroups::Finish(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (!Sweep() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (const Removal& r : removals_) logging::Error("cgroup %s: still busy at exit; left in place", r.dir.c_str());
  removals_.clear();
}
