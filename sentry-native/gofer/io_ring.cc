// A minimal io_uring over the raw syscalls (see io_ring.h).
#include "io_ring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace gofer {
namespace {

// kSqeSize is the size of one SQE of a ring set up with IORING_SETUP_SQE128.
constexpr size_t kSqeSize = 128;

long IoUringSetup(unsigned entries, io_uring_params* p) { return syscall(SYS_io_uring_setup, entries, p); }

long IoUringEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return syscall(SYS_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0);
}

template <typename T>
T* At(void* base, unsigned offset) {
  return reinterpret_cast<T*>(static_cast<uint8_t*>(base) + offset);
}

}  // namespace

IoRing::~IoRing() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
  if (ring_ != nullptr) munmap(ring_, ring_size_);
}

int IoRing::Setup(unsigned entries) {
  // The kernel posts a FUSE request to the ring as task work of the thread that waits on it:
  // DEFER_TASKRUN runs it when that thread asks for completions, with no interrupting signal.
  // It needs 6.1 (and SINGLE_ISSUER); COOP_TASKRUN (5.19) is the next best.
  const unsigned kTries[] = {
      IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_SQE128 | IORING_SETUP_COOP_TASKRUN,
      IORING_SETUP_SQE128,
  };
  io_uring_params p;
  long fd = -1;
  for (unsigned flags : kTries) {
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    fd = IoUringSetup(entries, &p);
    if (fd >= 0 || errno != EINVAL) break;
  }
  if (fd < 0) return errno;
  fd_.reset(static_cast<int>(fd));
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) return EOPNOTSUPP;  // before 5.4

  ring_size_ = std::max<size_t>(p.sq_off.array + p.sq_entries * sizeof(unsigned),
                                p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe));
  void* ring = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_.get(),
                    IORING_OFF_SQ_RING);
  if (ring == MAP_FAILED) return errno;
  ring_ = ring;
  sqes_size_ = p.sq_entries * kSqeSize;
  void* sqes = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_.get(),
                    IORING_OFF_SQES);
  if (sqes == MAP_FAILED) return errno;
  sqes_ = static_cast<uint8_t*>(sqes);

  sq_entries_ = p.sq_entries;
  sq_head_ = At<unsigned>(ring_, p.sq_off.head);
  sq_tail_ = At<unsigned>(ring_, p.sq_off.tail);
  sq_mask_ = *At<unsigned>(ring_, p.sq_off.ring_mask);
  // SQE i always sits in array slot i: SQEs are used in ring order.
  unsigned* array = At<unsigned>(ring_, p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) array[i] = i;
  sq_local_tail_ = *sq_tail_;
  cq_head_ = At<unsigned>(ring_, p.cq_off.head);
  cq_tail_ = At<unsigned>(ring_, p.cq_off.tail);
  cq_mask_ = *At<unsigned>(ring_, p.cq_off.ring_mask);
  cqes_ = At<io_uring_cqe>(ring_, p.cq_off.cqes);
  return 0;
}

io_uring_sqe* IoRing::GetSqe() {
  unsigned head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
  if (sq_local_tail_ - head >= sq_entries_) return nullptr;
  auto* sqe = reinterpret_cast<io_uring_sqe*>(sqes_ + (sq_local_tail_ & sq_mask_) * kSqeSize);
  memset(sqe, 0, kSqeSize);
  sq_local_tail_++;
  to_submit_++;
  return sqe;
}

int IoRing::SubmitAndWait(unsigned wait_nr) {
  __atomic_store_n(sq_tail_, sq_local_tail_, __ATOMIC_RELEASE);
  long n = IoUringEnter(fd_.get(), to_submit_, wait_nr, IORING_ENTER_GETEVENTS);
  if (n < 0) return errno;
  // The kernel consumes SQEs in order; those it took are no longer ours to submit.
  to_submit_ -= std::min<unsigned>(to_submit_, static_cast<unsigned>(n));
  return 0;
}

const io_uring_cqe* IoRing::PeekCqe() const {
  unsigned head = *cq_head_;
  if (head == __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE)) return nullptr;
  return &cqes_[head & cq_mask_];
}

void IoRing::SeenCqe() { __atomic_store_n(cq_head_, *cq_head_ + 1, __ATOMIC_RELEASE); }

}  // namespace gofer
