// The gofer's command line: which /dev/fuse fds serve which host paths, and how.
#pragma once

#include <string>
#include <vector>

namespace gofer {

// Mode says who else may change the served files, which decides how long the kernel caches.
enum class Mode { kExclusive, kShared };

// IoUringMode says whether requests travel over io_uring (FUSE_OVER_IO_URING): kAuto when the
// kernel offers it, kOn or fail, kOff never.
enum class IoUringMode { kAuto, kOn, kOff };

// Served is one --serve: an inherited, open /dev/fuse fd and the host path it serves. shared:
// given as --serve-shared, it is served in shared mode whatever --mode says (a bind of a host
// directory that the host or other pods may change, next to an exclusive root).
struct Served {
  int fuse_fd = -1;
  std::string host_path;
  bool shared = false;
  // read_only: --serve-ro, an exclusive root the gofer itself may never change (an image layer
  // that other containers share): bound read-only in the gofer's root.
  bool read_only = false;
};

// Options is the parsed command line.
struct Options {
  std::string id;
  Mode mode = Mode::kExclusive;
  // passthrough_depth is init_out.max_stack_depth; 0 turns kernel passthrough off.
  int passthrough_depth = 2;
  int threads = 2;
  int log_fd = -1;  // -1: stderr
  bool debug = false;
  IoUringMode io_uring = IoUringMode::kAuto;
  std::vector<Served> served;
  // pins: paths in the first served tree (the root) that are mount points in the container.
  std::vector<std::string> pins;
};

// kUsage is printed on a command-line error.
extern const char kUsage[];

// ParseOptions parses argv; on error it returns false and sets *err to a one-line reason.
bool ParseOptions(int argc, char** argv, Options* out, std::string* err);

}  // namespace gofer
