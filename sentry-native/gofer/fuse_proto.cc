// Names of the FUSE opcodes, for debug logs (see fuse_proto.h).
#include "fuse_proto.h"

namespace fuse {

const char* OpcodeName(uint32_t opcode) {
  switch (opcode) {
    case kLookup: return "LOOKUP";
    case kForget: return "FORGET";
    case kGetattr: return "GETATTR";
    case kSetattr: return "SETATTR";
    case kReadlink: return "READLINK";
    case kSymlink: return "SYMLINK";
    case kMknod: return "MKNOD";
    case kMkdir: return "MKDIR";
    case kUnlink: return "UNLINK";
    case kRmdir: return "RMDIR";
    case kRename: return "RENAME";
    case kLink: return "LINK";
    case kOpen: return "OPEN";
    case kRead: return "READ";
    case kWrite: return "WRITE";
    case kStatfs: return "STATFS";
    case kRelease: return "RELEASE";
    case kFsync: return "FSYNC";
    case kSetxattr: return "SETXATTR";
    case kGetxattr: return "GETXATTR";
    case kListxattr: return "LISTXATTR";
    case kRemovexattr: return "REMOVEXATTR";
    case kFlush: return "FLUSH";
    case kInit: return "INIT";
    case kOpendir: return "OPENDIR";
    case kReaddir: return "READDIR";
    case kReleasedir: return "RELEASEDIR";
    case kFsyncdir: return "FSYNCDIR";
    case kGetlk: return "GETLK";
    case kSetlk: return "SETLK";
    case kSetlkw: return "SETLKW";
    case kAccess: return "ACCESS";
    case kCreate: return "CREATE";
    case kInterrupt: return "INTERRUPT";
    case kBmap: return "BMAP";
    case kDestroy: return "DESTROY";
    case kIoctl: return "IOCTL";
    case kPoll: return "POLL";
    case kNotifyReply: return "NOTIFY_REPLY";
    case kBatchForget: return "BATCH_FORGET";
    case kFallocate: return "FALLOCATE";
    case kReaddirplus: return "READDIRPLUS";
    case kRename2: return "RENAME2";
    case kLseek: return "LSEEK";
    case kCopyFileRange: return "COPY_FILE_RANGE";
    case kSetupmapping: return "SETUPMAPPING";
    case kRemovemapping: return "REMOVEMAPPING";
    case kSyncfs: return "SYNCFS";
    case kTmpfile: return "TMPFILE";
    case kStatx: return "STATX";
  }
  return "?";
}

}  // namespace fuse
