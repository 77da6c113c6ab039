// The gofer's command line (see options.h).
#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <limits>

namespace gofer {

const char kUsage[] =
    "usage: runsc-ts-gofer --id <container-id> [--mode exclusive|shared] [--passthrough-depth N]\n"
    "                      [--threads N] [--io-uring auto|on|off] [--log-fd N] [--debug]\n"
    "                      --serve <fuse-fd>:<host-path> ...\n"
    "                      [--serve-shared <fuse-fd>:<host-path> ...] [--serve-ro <fuse-fd>:<host-path> ...]\n"
    "                      [--pin <path in the root> ...]\n";

namespace {

bool ParseInt(const std::string& s, int min, int max, int* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long v = strtol(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ParseServe(const std::string& v, Served* out) {
  size_t colon = v.find(':');
  if (colon == std::string::npos) return false;
  if (!ParseInt(v.substr(0, colon), 0, std::numeric_limits<int>::max(), &out->fuse_fd)) return false;
  out->host_path = v.substr(colon + 1);
  return !out->host_path.empty() && out->host_path[0] == '/';
}

}  // namespace

bool ParseOptions(int argc, char** argv, Options* out, std::string* err) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    std::string value;
    size_t eq = a.find('=');
    bool inline_value = a.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto take = [&](std::string* v) {
      if (inline_value) {
        *v = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--debug") {
      out->debug = true;
      continue;
    }
    if (a != "--id" && a != "--mode" && a != "--passthrough-depth" && a != "--threads" &&
        a != "--log-fd" && a != "--io-uring" && a != "--serve" && a != "--serve-shared" && a != "--serve-ro" &&
        a != "--pin") {
      *err = "unknown argument " + a;
      return false;
    }
    if (!take(&v)) {
      *err = a + " needs a value";
      return false;
    }
    if (a == "--id") {
      out->id = v;
    } else if (a == "--mode") {
      if (v == "exclusive") {
        out->mode = Mode::kExclusive;
      } else if (v == "shared") {
        out->mode = Mode::kShared;
      } else {
        *err = "--mode: want exclusive or shared, got \"" + v + "\"";
        return false;
      }
    } else if (a == "--passthrough-depth") {
      if (!ParseInt(v, 0, 2, &out->passthrough_depth)) {
        *err = "--passthrough-depth: want 0, 1 or 2, got \"" + v + "\"";
        return false;
      }
    } else if (a == "--threads") {
      if (!ParseInt(v, 1, 64, &out->threads)) {
        *err = "--threads: want 1..64, got \"" + v + "\"";
        return false;
      }
    } else if (a == "--io-uring") {
      if (v == "auto") {
        out->io_uring = IoUringMode::kAuto;
      } else if (v == "on") {
        out->io_uring = IoUringMode::kOn;
      } else if (v == "off") {
        out->io_uring = IoUringMode::kOff;
      } else {
        *err = "--io-uring: want auto, on or off, got \"" + v + "\"";
        return false;
      }
    } else if (a == "--log-fd") {
      if (!ParseInt(v, 0, std::numeric_limits<int>::max(), &out->log_fd)) {
        *err = "--log-fd: want a file descriptor number, got \"" + v + "\"";
        return false;
      }
    } else if (a == "--pin") {
      out->pins.push_back(v);
    } else {  // --serve, --serve-shared, --serve-ro
      Served s;
      if (!ParseServe(v, &s)) {
        *err = a + ": want <fuse-fd>:<absolute host path>, got \"" + v + "\"";
        return false;
      }
      s.shared = a == "--serve-shared";
      s.read_only = a == "--serve-ro";
      out->served.push_back(s);
    }
  }
  if (out->id.empty()) {
    *err = "--id is required";
    return false;
  }
  if (out->served.empty()) {
    *err = "at least one --serve is required";
    return false;
  }
  return true;
}

}  // namespace gofer
