// Building blocks the sentry and the gofer confine themselves with: a private root on a small
// tmpfs, and keeping only the capabilities a process uses.
#pragma once

#include <stdint.h>

#include <string>

namespace privileges {

// MountBase picks an existing directory of the host tree to mount a private root's tmpfs on
// (in the caller's own mount namespace, so the host never sees it); nullptr if none exists.
const char* MountBase();

// PivotInto makes dir the root of the caller's mount namespace and detaches the old root.
bool PivotInto(const std::string& dir, std::string* err);

// KeepCapabilities leaves the caller only the capabilities in keep (a mask of CAP_* bits), in
// the effective, permitted and bounding sets, with no inheritable or ambient ones.
bool KeepCapabilities(uint64_t keep, std::string* err);

}  // namespace privileges
