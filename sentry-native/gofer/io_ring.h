// A minimal io_uring of our own over the raw syscalls (no liburing on the nodes): one ring per
// thread, 128-byte SQEs, for the IORING_OP_URING_CMD requests of FUSE over io_uring.
#pragma once

#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>

#include "unique_fd.h"

namespace gofer {

// IoRing is one io_uring instance, used by the thread that set it up and only by it.
class IoRing {
 public:
  IoRing() = default;
  ~IoRing();
  IoRing(const IoRing&) = delete;
  IoRing& operator=(const IoRing&) = delete;

  // Setup creates a ring of at least entries 128-byte SQEs; 0 or an errno. It asks for task
  // work to run only when this thread waits (DEFER_TASKRUN), falling back on older kernels.
  int Setup(unsigned entries);
  // GetSqe returns a zeroed SQE to fill, or null when the submission queue is full.
  io_uring_sqe* GetSqe();
  // SubmitAndWait submits the SQEs got since the last call and waits for at least wait_nr
  // completions; 0 or an errno (EINTR: call again).
  int SubmitAndWait(unsigned wait_nr);
  // PeekCqe returns the oldest unconsumed completion, or null; SeenCqe consumes it.
  const io_uring_cqe* PeekCqe() const;
  void SeenCqe();

 private:
  unique_fd fd_;
  void* ring_ = nullptr;  // SQ and CQ rings, one mapping (IORING_FEAT_SINGLE_MMAP)
  size_t ring_size_ = 0;
  uint8_t* sqes_ = nullptr;
  size_t sqes_size_ = 0;
  unsigned sq_entries_ = 0;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_local_tail_ = 0;  // SQEs got, published to *sq_tail_ by SubmitAndWait
  unsigned to_submit_ = 0;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned cq_mask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
};

}  // namespace gofer
