// The FUSE kernel protocol as far as the gofer speaks it (7.40: passthrough and backing ids; the
// transport over io_uring of 7.42, which needs nothing else of 7.41/7.42), written from the
// kernel's published ABI (include/uapi/linux/fuse.h). We do not include the system's
// linux/fuse.h: Debian 12's copy is 7.38 and lacks passthrough and the ring.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

namespace fuse {

// kVersionMajor and kVersionMinor are the protocol version the gofer answers INIT with.
constexpr uint32_t kVersionMajor = 7;
constexpr uint32_t kVersionMinor = 40;
// kRootId is the node id of the mount's root.
constexpr uint64_t kRootId = 1;
// kMinReadBuffer is the smallest buffer a read of /dev/fuse accepts.
constexpr size_t kMinReadBuffer = 8192;

// Opcode lists the requests of the protocol.
enum Opcode : uint32_t {
  kLookup = 1,
  kForget = 2,  // no reply
  kGetattr = 3,
  kSetattr = 4,
  kReadlink = 5,
  kSymlink = 6,
  kMknod = 8,
  kMkdir = 9,
  kUnlink = 10,
  kRmdir = 11,
  kRename = 12,
  kLink = 13,
  kOpen = 14,
  kRead = 15,
  kWrite = 16,
  kStatfs = 17,
  kRelease = 18,
  kFsync = 20,
  kSetxattr = 21,
  kGetxattr = 22,
  kListxattr = 23,
  kRemovexattr = 24,
  kFlush = 25,
  kInit = 26,
  kOpendir = 27,
  kReaddir = 28,
  kReleasedir = 29,
  kFsyncdir = 30,
  kGetlk = 31,
  kSetlk = 32,
  kSetlkw = 33,
  kAccess = 34,
  kCreate = 35,
  kInterrupt = 36,
  kBmap = 37,
  kDestroy = 38,
  kIoctl = 39,
  kPoll = 40,
  kNotifyReply = 41,
  kBatchForget = 42,  // no reply
  kFallocate = 43,
  kReaddirplus = 44,
  kRename2 = 45,
  kLseek = 46,
  kCopyFileRange = 47,
  kSetupmapping = 48,
  kRemovemapping = 49,
  kSyncfs = 50,
  kTmpfile = 51,
  kStatx = 52,
};

// INIT flags (fuse_init_in/out.flags; bits 32..63 travel in flags2).
constexpr uint64_t kAsyncRead = 1ull << 0;
constexpr uint64_t kPosixLocks = 1ull << 1;
constexpr uint64_t kAtomicOTrunc = 1ull << 3;
constexpr uint64_t kExportSupport = 1ull << 4;
constexpr uint64_t kBigWrites = 1ull << 5;
constexpr uint64_t kDontMask = 1ull << 6;
constexpr uint64_t kFlockLocks = 1ull << 10;
constexpr uint64_t kAutoInvalData = 1ull << 12;
constexpr uint64_t kDoReaddirplus = 1ull << 13;
constexpr uint64_t kReaddirplusAuto = 1ull << 14;
constexpr uint64_t kWritebackCache = 1ull << 16;
constexpr uint64_t kParallelDirops = 1ull << 18;
constexpr uint64_t kHandleKillprivV1 = 1ull << 19;
constexpr uint64_t kPosixAcl = 1ull << 20;
constexpr uint64_t kMaxPages = 1ull << 22;
constexpr uint64_t kCacheSymlinks = 1ull << 23;
constexpr uint64_t kHandleKillprivV2 = 1ull << 28;
constexpr uint64_t kSetxattrExt = 1ull << 29;
constexpr uint64_t kInitExt = 1ull << 30;
constexpr uint64_t kPassthrough = 1ull << 37;
// kOverIoUring: requests may travel over io_uring (offered only when the fuse module's
// enable_uring parameter is set).
constexpr uint64_t kOverIoUring = 1ull << 41;

// FOPEN_* flags of fuse_open_out.open_flags.
constexpr uint32_t kFopenDirectIo = 1u << 0;
constexpr uint32_t kFopenKeepCache = 1u << 1;
constexpr uint32_t kFopenNoflush = 1u << 5;
constexpr uint32_t kFopenPassthrough = 1u << 7;

// FATTR_* bits of fuse_setattr_in.valid.
constexpr uint32_t kFattrMode = 1u << 0;
constexpr uint32_t kFattrUid = 1u << 1;
constexpr uint32_t kFattrGid = 1u << 2;
constexpr uint32_t kFattrSize = 1u << 3;
constexpr uint32_t kFattrAtime = 1u << 4;
constexpr uint32_t kFattrMtime = 1u << 5;
constexpr uint32_t kFattrFh = 1u << 6;
constexpr uint32_t kFattrAtimeNow = 1u << 7;
constexpr uint32_t kFattrMtimeNow = 1u << 8;
constexpr uint32_t kFattrLockOwner = 1u << 9;
constexpr uint32_t kFattrCtime = 1u << 10;
constexpr uint32_t kFattrKillSuidgid = 1u << 11;

// kGetattrFh in fuse_getattr_in.getattr_flags: fh is valid.
constexpr uint32_t kGetattrFh = 1u << 0;
// kWriteKillSuidgid in fuse_write_in.write_flags: clear suid/sgid (with HANDLE_KILLPRIV_V2).
constexpr uint32_t kWriteKillSuidgid = 1u << 2;
// kOpenKillSuidgid in fuse_open_in.open_flags: clear suid/sgid on O_TRUNC (HANDLE_KILLPRIV_V2).
constexpr uint32_t kOpenKillSuidgid = 1u << 0;
// kFsyncFdatasync in fuse_fsync_in.fsync_flags: data only.
constexpr uint32_t kFsyncFdatasync = 1u << 0;

struct fuse_attr {
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  uint64_t atime;
  uint64_t mtime;
  uint64_t ctime;
  uint32_t atimensec;
  uint32_t mtimensec;
  uint32_t ctimensec;
  uint32_t mode;
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint32_t rdev;
  uint32_t blksize;
  uint32_t flags;
};

struct fuse_kstatfs {
  uint64_t blocks;
  uint64_t bfree;
  uint64_t bavail;
  uint64_t files;
  uint64_t ffree;
  uint32_t bsize;
  uint32_t namelen;
  uint32_t frsize;
  uint32_t padding;
  uint32_t spare[6];
};

struct fuse_in_header {
  uint32_t len;
  uint32_t opcode;
  uint64_t unique;
  uint64_t nodeid;
  uint32_t uid;
  uint32_t gid;
  uint32_t pid;
  uint16_t total_extlen;  // in units of 8 bytes, after the arguments
  uint16_t padding;
};

struct fuse_out_header {
  uint32_t len;
  int32_t error;
  uint64_t unique;
};

struct fuse_init_in {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint32_t flags2;  // only with FUSE_INIT_EXT
  uint32_t unused[11];
};

struct fuse_init_out {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint16_t max_background;
  uint16_t congestion_threshold;
  uint32_t max_write;
  uint32_t time_gran;
  uint16_t max_pages;
  uint16_t map_alignment;
  uint32_t flags2;
  uint32_t max_stack_depth;
  uint32_t unused[6];
};
// Sizes of fuse_init_out older kernels expect.
constexpr size_t kCompatInitOutSize = 8;
constexpr size_t kCompat22InitOutSize = 24;

struct fuse_entry_out {
  uint64_t nodeid;
  uint64_t generation;
  uint64_t entry_valid;
  uint64_t attr_valid;
  uint32_t entry_valid_nsec;
  uint32_t attr_valid_nsec;
  fuse_attr attr;
};

struct fuse_forget_in {
  uint64_t nlookup;
};

struct fuse_forget_one {
  uint64_t nodeid;
  uint64_t nlookup;
};

struct fuse_batch_forget_in {
  uint32_t count;
  uint32_t dummy;
};

struct fuse_getattr_in {
  uint32_t getattr_flags;
  uint32_t dummy;
  uint64_t fh;
};

struct fuse_attr_out {
  uint64_t attr_valid;
  uint32_t attr_valid_nsec;
  uint32_t dummy;
  fuse_attr attr;
};

struct fuse_mknod_in {
  uint32_t mode;
  uint32_t rdev;
  uint32_t umask;
  uint32_t padding;
};

struct fuse_mkdir_in {
  uint32_t mode;
  uint32_t umask;
};

struct fuse_rename_in {
  uint64_t newdir;
};

struct fuse_rename2_in {
  uint64_t newdir;
  uint32_t flags;
  uint32_t padding;
};

struct fuse_link_in {
  uint64_t oldnodeid;
};

struct fuse_setattr_in {
  uint32_t valid;
  uint32_t padding;
  uint64_t fh;
  uint64_t size;
  uint64_t lock_owner;
  uint64_t atime;
  uint64_t mtime;
  uint64_t ctime;
  uint32_t atimensec;
  uint32_t mtimensec;
  uint32_t ctimensec;
  uint32_t mode;
  uint32_t unused4;
  uint32_t uid;
  uint32_t gid;
  uint32_t unused5;
};

struct fuse_open_in {
  uint32_t flags;
  uint32_t open_flags;
};

struct fuse_create_in {
  uint32_t flags;
  uint32_t mode;
  uint32_t umask;
  uint32_t open_flags;
};

struct fuse_open_out {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};

struct fuse_release_in {
  uint64_t fh;
  uint32_t flags;
  uint32_t release_flags;
  uint64_t lock_owner;
};

struct fuse_flush_in {
  uint64_t fh;
  uint32_t unused;
  uint32_t padding;
  uint64_t lock_owner;
};

struct fuse_read_in {
  uint64_t fh;
  uint64_t offset;
  uint32_t size;
  uint32_t read_flags;
  uint64_t lock_owner;
  uint32_t flags;
  uint32_t padding;
};

struct fuse_write_in {
  uint64_t fh;
  uint64_t offset;
  uint32_t size;
  uint32_t write_flags;
  uint64_t lock_owner;
  uint32_t flags;
  uint32_t padding;
};
// kCompatWriteInSize is fuse_write_in's size before protocol 7.9.
constexpr size_t kCompatWriteInSize = 24;

struct fuse_write_out {
  uint32_t size;
  uint32_t padding;
};

struct fuse_statfs_out {
  fuse_kstatfs st;
};

struct fuse_fsync_in {
  uint64_t fh;
  uint32_t fsync_flags;
  uint32_t padding;
};

struct fuse_setxattr_in {
  uint32_t size;
  uint32_t flags;
  uint32_t setxattr_flags;  // only with FUSE_SETXATTR_EXT
  uint32_t padding;
};
// kCompatSetxattrInSize is fuse_setxattr_in's size without FUSE_SETXATTR_EXT.
constexpr size_t kCompatSetxattrInSize = 8;

struct fuse_getxattr_in {
  uint32_t size;
  uint32_t padding;
};

struct fuse_getxattr_out {
  uint32_t size;
  uint32_t padding;
};

struct fuse_interrupt_in {
  uint64_t unique;
};

struct fuse_fallocate_in {
  uint64_t fh;
  uint64_t offset;
  uint64_t length;
  uint32_t mode;
  uint32_t padding;
};

struct fuse_lseek_in {
  uint64_t fh;
  uint64_t offset;
  uint32_t whence;
  uint32_t padding;
};

struct fuse_lseek_out {
  uint64_t offset;
};

struct fuse_copy_file_range_in {
  uint64_t fh_in;
  uint64_t off_in;
  uint64_t nodeid_out;
  uint64_t fh_out;
  uint64_t off_out;
  uint64_t len;
  uint64_t flags;
};

struct fuse_dirent {
  uint64_t ino;
  uint64_t off;
  uint32_t namelen;
  uint32_t type;
  // followed by the name (not NUL-terminated), padded to 8 bytes
};

struct fuse_direntplus {
  fuse_entry_out entry_out;
  fuse_dirent dirent;
};

// DirentSize is the 8-byte aligned size of a fuse_dirent carrying a name of namelen bytes.
constexpr size_t DirentSize(size_t namelen) { return (sizeof(fuse_dirent) + namelen + 7) & ~size_t{7}; }
// DirentplusSize is the 8-byte aligned size of a fuse_direntplus carrying namelen bytes.
constexpr size_t DirentplusSize(size_t namelen) {
  return (sizeof(fuse_direntplus) + namelen + 7) & ~size_t{7};
}

// kNotifyInvalEntry is the notification code that drops a cached name.
constexpr int32_t kNotifyInvalEntry = 3;

struct fuse_notify_inval_entry_out {
  uint64_t parent;
  uint32_t namelen;
  uint32_t flags;
  // followed by the name and a NUL
};

struct fuse_backing_map {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};

// Device ioctls of /dev/fuse.
constexpr unsigned long kDevIocMagic = 229;
constexpr unsigned long kDevIocBackingOpen = _IOW(kDevIocMagic, 1, fuse_backing_map);
constexpr unsigned long kDevIocBackingClose = _IOW(kDevIocMagic, 2, uint32_t);

static_assert(sizeof(fuse_attr) == 88, "fuse_attr layout");
static_assert(sizeof(fuse_in_header) == 40, "fuse_in_header layout");
static_assert(sizeof(fuse_out_header) == 16, "fuse_out_header layout");
static_assert(sizeof(fuse_init_in) == 64, "fuse_init_in layout");
static_assert(sizeof(fuse_init_out) == 64, "fuse_init_out layout");
static_assert(sizeof(fuse_entry_out) == 128, "fuse_entry_out layout");
static_assert(sizeof(fuse_attr_out) == 104, "fuse_attr_out layout");
static_assert(sizeof(fuse_setattr_in) == 88, "fuse_setattr_in layout");
static_assert(sizeof(fuse_open_out) == 16, "fuse_open_out layout");
static_assert(sizeof(fuse_read_in) == 40, "fuse_read_in layout");
static_assert(sizeof(fuse_write_in) == 40, "fuse_write_in layout");
static_assert(sizeof(fuse_kstatfs) == 80, "fuse_kstatfs layout");
static_assert(sizeof(fuse_dirent) == 24, "fuse_dirent layout");
static_assert(sizeof(fuse_direntplus) == 152, "fuse_direntplus layout");
static_assert(sizeof(fuse_backing_map) == 16, "fuse_backing_map layout");
static_assert(sizeof(fuse_copy_file_range_in) == 56, "fuse_copy_file_range_in layout");

// FUSE over io_uring. Each ring entry is a header buffer and a payload buffer registered with
// IORING_OP_URING_CMD on the /dev/fuse fd (a ring set up with 128-byte SQEs, whose command area
// holds fuse_uring_cmd_req). A request arrives as: the fuse_in_header in in_out, the request's
// first argument (the per-opcode header, absent for LOOKUP, UNLINK, RMDIR, SYMLINK and
// REMOVEXATTR) in op_in, the other arguments in the payload, their size in payload_sz. The reply
// goes back as: the fuse_out_header in in_out, the reply's arguments in the payload, their size
// in payload_sz; COMMIT_AND_FETCH with commit_id hands it over and waits for the next request.

// kUringInOutSize and kUringOpInSize are the sizes of the two header areas of an entry.
constexpr size_t kUringInOutSize = 128;
constexpr size_t kUringOpInSize = 128;

struct fuse_uring_ent_in_out {
  uint64_t flags;
  uint64_t commit_id;  // the request's unique, given back on commit
  uint32_t payload_sz;
  uint32_t padding;
  uint64_t reserved;
};

struct fuse_uring_req_header {
  uint8_t in_out[kUringInOutSize];  // fuse_in_header, then fuse_out_header
  uint8_t op_in[kUringOpInSize];    // the request's first argument
  fuse_uring_ent_in_out ring_ent_in_out;
};

// UringCmd lists the io_uring command opcodes (sqe->cmd_op) of /dev/fuse.
enum UringCmd : uint32_t {
  kUringCmdRegister = 1,        // register an entry's buffers; completes with the first request
  kUringCmdCommitAndFetch = 2,  // hand over a reply; completes with the next request
};

struct fuse_uring_cmd_req {
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;  // the queue: one per possible CPU, requests go to their caller's CPU
  uint8_t padding[6];
};

// kUringIovSegments is the length of the iovec array an entry registers: header, payload.
constexpr unsigned kUringIovSegments = 2;

static_assert(sizeof(fuse_uring_ent_in_out) == 32, "fuse_uring_ent_in_out layout");
static_assert(sizeof(fuse_uring_req_header) == 288, "fuse_uring_req_header layout");
static_assert(sizeof(fuse_uring_cmd_req) == 24, "fuse_uring_cmd_req layout");

// OpcodeName is the protocol name of an opcode ("LOOKUP"), or "?" for one we do not know.
const char* OpcodeName(uint32_t opcode);

}  // namespace fuse
