// One owner per state DB: an exclusive flock on "<the DB's real path>.lock", holding the owner's pid
// for messages, and on the DB file itself (its inode), so a symlink, a hard link or another
// relative path to the same DB is refused (DESIGN.md "Faults at run time": one owner per state).
// A PostgreSQL state (`state: postgresql://...`) is owned by a session-level advisory lock held on
// a connection of its own (owner_lock_postgres.cpp): it ends with the process, however it dies.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/unique_fd.h"
#include "store/sql.h"

namespace hivehook {

class OwnerLock {
 public:
  // Takes the lock, or returns nullopt with *error naming the current owner ("... pid 1234 (hivehook run)").
  // `node` (cluster mode, docs/cluster.md): on PostgreSQL the lock is that node's own, so daemons of
  // other names share the state and one of the same name is refused; a SQLite state has one owner
  // whatever the name (its message says cluster mode needs PostgreSQL).
  static std::optional<OwnerLock> acquire(const std::filesystem::path& db_path, const std::string& role,
                                          std::string* error, const std::string& node = {});
  // The pid holding the lock, if any (used by `status` to tell whether the daemon is up; on
  // PostgreSQL, any node's).
  static std::optional<int> holder(const std::filesystem::path& db_path, std::string* role = nullptr);

 private:
  OwnerLock(UniqueFd fd, UniqueFd db) : fd_(std::move(fd)), db_(std::move(db)) {}
  explicit OwnerLock(sql::Db pg) : pg_(std::move(pg)) {}
  static std::optional<OwnerLock> acquire_postgres(const std::string& url, const std::string& role,
                                                   std::string* error, const std::string& node);
  static std::optional<int> holder_postgres(const std::string& url, std::string* role);
  UniqueFd fd_;
  UniqueFd db_;  // the DB file itself, flocked
  sql::Db pg_;   // the session holding the advisory lock
};

// One daemon per landing tree as well (issue 10 retest 3, F1): the DB lock alone let a second
// `run`/`scan` whose config names the same landing with another state DB (a copied config, a
// fresh setup, `run --new-state` after `rm state/hivehook.db*`, which also removes the DB's lock
// file) watch the same files, and every file ran twice, two copies at once. An exclusive flock on
// the landing folder itself (its inode; nothing is written into landing), held for the process's
// life. Not taken on a PostgreSQL state: cluster nodes share landing by design (docs/cluster.md).
class LandingLock {
 public:
  // Takes the lock, or returns nullopt with *error naming the holder's pid (read from /proc/locks).
  static std::optional<LandingLock> acquire(const std::filesystem::path& landing, std::string* error);

 private:
  explicit LandingLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace hivehook
