// ProcessTable: every traced task with its container (see process_table.h).
#include "process_table.h"

Task* ProcessTable::Find(pid_t tid) {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : &it->second;
}

Task& ProcessTable::Add(pid_t tid) {
  Task& t = tasks_[tid];
  if (t.tid == 0) {
    t.tid = tid;
    t.tgid = tid;
  }
  return t;
}

void ProcessTable::Remove(pid_t tid) {
  auto it = tasks_.find(tid);
  if (it == tasks_.end()) return;
  if (Task* parent = Find(it->second.vfork_parent)) {
    if (parent->vfork_child == tid) parent->vfork_child = 0;
  }
  if (Task* child = Find(it->second.vfork_child)) {
    if (child->vfork_parent == tid) child->vfork_parent = 0;
  }
  tasks_.erase(tid);
}

std::vector<pid_t> ProcessTable::TasksOf(const std::string& container_id) const {
  std::vector<pid_t> out;
  for (const auto& kv : tasks_)
    if (kv.second.assigned && kv.second.container_id == container_id) out.push_back(kv.first);
  return out;
}

std::vector<pid_t> ProcessTable::LeadersOf(const std::string& container_id) const {
  std::vector<pid_t> out;
  for (const auto& kv : tasks_)
    if (kv.second.assigned && kv.second.container_id == container_id && kv.second.tid == kv.second.tgid)
      out.push_back(kv.first);
  return out;
}

size_t ProcessTable::CountOf(const std::string& container_id) const {
  size_t n = 0;
  for (const auto& kv : tasks_)
    if (kv.second.assigned && kv.second.container_id == container_id) n++;
  return n;
}

std::vector<pid_t> ProcessTable::All() const {
  std::vector<pid_t> out;
  for (const auto& kv : tasks_) out.push_back(kv.first);
  return out;
}
