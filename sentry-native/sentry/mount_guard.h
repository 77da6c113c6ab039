// Masked and read-only paths: what the sentry does to a container's /proc and /sys (the spec's
// maskedPaths and readonlyPaths, which the shim merges with the sandbox's floor) and to a proc
// that a privileged container mounts itself (checked_mount.cc).
#pragma once

#include <sys/statvfs.h>

#include <string>
#include <vector>

namespace mount_guard {

// Mask hides path: a read-only empty tmpfs over a directory, /dev/null over anything else.
// 0 or the errno (ENOENT: nothing there to hide).
int Mask(const std::string& path);

// FlagsOf are the flags of a mount (from statvfs) that a remount of it must state again.
unsigned long FlagsOf(const struct statvfs& st);

// Apply masks base+each of masked, then makes base+each of readonly read-only (paths that do
// not exist are skipped); 0 or the first errno, with *failed the step and path ("masking X",
// "making X read-only").
int Apply(const std::string& base, const std::vector<std::string>& masked, const std::vector<std::string>& readonly,
          std::string* failed);

// MakeReadOnly bind-mounts path onto itself, with what is mounted below it, and remounts that
// read-only, keeping its other flags. 0 or the errno (ENOENT: nothing there).
int MakeReadOnly(const std::string& path);

}  // namespace mount_guard
