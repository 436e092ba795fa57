// Whether this process can read a path, and when it cannot, why, in words an operator acts on.
//
// std::filesystem::exists() says "false" both when a file is not there and when a folder on the
// way denies this user (stat: EACCES), so a reader told "no state DB yet" about a DB it only may
// not see (`hivehook status` run by a user outside the service's group). This tells them apart.
#pragma once

#include <sys/types.h>

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
  // For `denied` by a permission: the path that refused, as `why` names it ("permission denied on
  // /var/lib/hivehook/state/hivehook.db (-rw------- root:root)") without the advice, and its owner;
  // empty for other errors (why then is strerror and the path).
  std::string refused;
  std::string owner;
  std::filesystem::path refused_path;  // the folder or file that refused (with `refused`)
};

// Probes `path` for reading (a file: R_OK; each folder on the way: X_OK), as the calling process's
// real and effective ids allow (access(2), stat(2)).
PathAccess probe_read_access(const std::filesystem::path& path);

// Probes an SQLite database file for what opening it read-write needs (issue 16 retest P10): the
// folders on the way (X_OK), the file (R_OK|W_OK), its folder (W_OK: SQLite makes -wal, -shm and
// -journal beside it) and the -wal and -shm files when present (R_OK|W_OK). `readable` when all
// may be, `absent` when the file is not there (its folder writable).
PathAccess probe_database_access(const std::filesystem::path& path);

// Probes a folder for making and moving files in it (W_OK|X_OK; each folder on the way X_OK).
// `readable` here means writable.
PathAccess probe_write_access(const std::filesystem::path& folder);

// "user hivehook (uid 997)": who this process runs as (its effective uid), for messages that say
// why it may not do something.
std::string process_user();
// The name alone ("hivehook"; the uid in decimal when it has none).
std::string process_user_name();
// A uid's or gid's name from the passwd/group database; the number in decimal when it has none.
std::string user_name(uid_t uid);
std::string group_name(gid_t gid);
// This process's effective group's name ("hivehook", "nogroup"; the gid in decimal when it has none).
std::string process_group_name();

}  // namespace hivehook
