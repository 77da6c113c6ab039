// The file system operations: one function per FUSE request, each replying exactly once with
// the host's result or errno (ops_entry.cc, ops_file.cc, ops_dir.cc, ops_xattr.cc).
#pragma once

#include "connection.h"

namespace gofer {
namespace ops {

// Names, attributes and the namespace (ops_entry.cc).
void Lookup(Worker& w, Args& a);
void Getattr(Worker& w, Args& a);
void Setattr(Worker& w, Args& a);
void Readlink(Worker& w, Args& a);
void Symlink(Worker& w, Args& a);
void Mknod(Worker& w, Args& a);
void Mkdir(Worker& w, Args& a);
void Unlink(Worker& w, Args& a);
void Rmdir(Worker& w, Args& a);
// Rename serves RENAME, and RENAME2 (with flags) when v2.
void Rename(Worker& w, Args& a, bool v2);
void Link(Worker& w, Args& a);
void Statfs(Worker& w, Args& a);

// Open files and their data (ops_file.cc).
void Open(Worker& w, Args& a);
void Create(Worker& w, Args& a);
void Tmpfile(Worker& w, Args& a);
void Read(Worker& w, Args& a);
void Write(Worker& w, Args& a);
void Flush(Worker& w, Args& a);
void Release(Worker& w, Args& a);
void Fsync(Worker& w, Args& a);
void Lseek(Worker& w, Args& a);
void Fallocate(Worker& w, Args& a);
void CopyFileRange(Worker& w, Args& a);

// Directories (ops_dir.cc); Readdir serves READDIRPLUS when plus.
void Opendir(Worker& w, Args& a);
void Readdir(Worker& w, Args& a, bool plus);
void Releasedir(Worker& w, Args& a);
void Fsyncdir(Worker& w, Args& a);

// Extended attributes (ops_xattr.cc).
void Setxattr(Worker& w, Args& a);
void Getxattr(Worker& w, Args& a);
void Listxattr(Worker& w, Args& a);
void Removexattr(Worker& w, Args& a);

}  // namespace ops
}  // namespace gofer
