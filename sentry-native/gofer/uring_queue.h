// FUSE over io_uring: the kernel keeps one request queue per possible CPU and puts a request on
// its caller's CPU's queue; each queue is served here by a thread of its own pinned to that CPU,
// so that handing a request over and handing the reply back both wake a thread on the same CPU.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gofer {

class Connection;
class RingQueue;

// RingSet is the io_uring transport of one connection: its queue threads and their start-up.
// Each CPU the gofer may run on gets a thread pinned to it for its queue; one unpinned thread
// serves the queues of the other possible CPUs (offline, or outside the gofer's cpuset), which
// the kernel wants registered too.
// INIT: Prepare (threads set up rings and buffers), the INIT reply offers the transport, Start
// (threads register their entries; the kernel switches once every queue has one). The threads
// end when the kernel ends their entries (unmount or abort).
class RingSet {
 public:
  // queues is the number of possible CPUs; own_cpus are those the gofer may run on.
  RingSet(Connection& c, int queues, const std::vector<int>& own_cpus);
  // ~RingSet ends threads that were never started and joins them all.
  ~RingSet();
  RingSet(const RingSet&) = delete;
  RingSet& operator=(const RingSet&) = delete;

  // Prepare starts one thread per queue and waits until each is ready to register; false with
  // *err (the first failure: step and cause) if one is not, the threads have then ended.
  bool Prepare(std::string* err);
  // Start lets the prepared threads register their entries and serve.
  void Start();
  // Join waits for the threads to end once the connection has ended.
  void Join();
  // size is the number of queues; pinned, how many have a thread pinned to their CPU.
  int size() const { return nqueues_; }
  int pinned() const { return static_cast<int>(plan_.size()) - (plan_.empty() || plan_.back().cpu >= 0 ? 0 : 1); }

  // ReportReady is a queue thread's answer to Prepare (err empty: ready); it then waits for
  // Start (true) or the end (false).
  bool ReportReady(const std::string& err);

 private:
  enum class Go { kWait, kRun, kQuit };
  // Plan is one thread's share: the CPU it is pinned to (-1: none) and the queues it serves.
  struct Plan {
    int cpu;
    std::vector<int> qids;
  };
  void Quit();

  Connection& conn_;
  const int nqueues_;
  std::vector<Plan> plan_;
  std::vector<std::unique_ptr<RingQueue>> queues_;
  std::vector<pthread_t> threads_;
  bool joined_ = false;
  std::mutex mu_;  // guards the three fields below
  std::condition_variable cv_;
  int reported_ = 0;
  std::string first_err_;
  Go go_ = Go::kWait;
};

}  // namespace gofer
