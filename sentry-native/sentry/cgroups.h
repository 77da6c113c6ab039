// Cgroups: a container's cgroup directories in every hierarchy (each v1 one and the unified one),
// made by the sentry before the container's processes join them, and removed again once no
// container of the sandbox holds them. Only directories this sentry created are ever removed.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "status.h"

// CgroupLeaf is the directory of one hierarchy that a container's processes join (cgroup.procs).
struct CgroupLeaf {
  std::string path;
  bool required = true;  // false for the hybrid "unified" tree: joining it is best effort
};

class Cgroups;

// CgroupHold is a container's claim on the cgroup directories the sentry created for it (or for
// another container of the sandbox that shares them). Destroying it releases the claim.
class CgroupHold {
 public:
  CgroupHold() = default;
  ~CgroupHold() { Release(); }
  CgroupHold(const CgroupHold&) = delete;
  CgroupHold& operator=(const CgroupHold&) = delete;

  // Release gives the claim up now (idempotent); unclaimed directories are queued for removal.
  void Release();

 private:
  friend class Cgroups;
  Cgroups* owner_ = nullptr;
  std::vector<std::string> dirs_;  // in creation order: parents before children
};

// Cgroups creates container cgroups and removes the directories the sentry created.
class Cgroups {
 public:
  // Create makes cgroup_path (absolute, relative to each hierarchy's root) in every cgroup
  // hierarchy mounted in the sentry's mount namespace. It fills leaves with the directories to
  // join and hold with the claim. On failure the caller drops hold, which removes what was made.
  Status Create(const std::string& cgroup_path, std::vector<CgroupLeaf>* leaves, CgroupHold* hold);
  // Sweep tries the queued removals again (rmdir, deepest first); true when none is left.
  bool Sweep();
  // pending says whether removals wait for a retry (their cgroup still has processes).
  bool pending() const { return !removals_.empty(); }
  // Finish sweeps until nothing is queued or the time is up; for the sentry's exit.
  void Finish(std::chrono::milliseconds limit);

 private:
  friend class CgroupHold;
  using Clock = std::chrono::steady_clock;
  struct Removal {
    std::string dir;
    Clock::time_point give_up;
  };
  // MakeDir makes dir (or finds it) and adds it to hold if this sentry made it; 0 or an errno.
  int MakeDir(const std::string& dir, CgroupHold* hold);
  void Release(std::vector<std::string> dirs);

  std::map<std::string, int> refs_;  // directories this sentry created -> containers holding them
  std::vector<Removal> removals_;    // unclaimed directories not removed yet, children first
};
