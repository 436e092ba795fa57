// Whether this process can read a path, and when it cannot, why, in words an operator acts on.
//
// std::filesystem::exists() says "false" both when a file is not there and when a folder on the
// way denies this user (stat: EACCES), so a reader told "no state DB yet" about a DB it only may
// not see (`hivehook status` run by a user outside the service's group). This tells them apart.
#pragma once

#include <filesystem>
#include <string>

namespace hivehook {

struct PathAccess {
  enum class State {
    absent,    // nothing there (ENOENT/ENOTDIR): not created yet
    readable,  // there, and this process may read it
    denied,    // there or not, this process may not tell or read it (EACCES, EPERM, EIO, ...)
  };
  State state = State::absent;
  // For `denied`: "permission denied on /var/lib/hivehook (drwxr-x--- hivehook:hivehook): run as
  // root or as user hivehook" -- the folder or file that refused, its mode, owner and group, and who
  // may read it (root, or its owner).
  std::string why;
};

// Probes `path` for reading (a file: R_OK; each folder on the way: X_OK), as the calling process's
// real and effective ids allow (access(2), stat(2)).
PathAccess probe_read_access(const std::filesystem::path& path);

}  // namespace hivehook
