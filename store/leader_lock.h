// Cluster mode (docs/cluster.md "The leader"): one node of a PostgreSQL cluster leads — it alone
// runs the reconcile scans of landing, fires `schedule:` rules and raises `expect:` deadlines — by
// holding a session-level advisory lock (pg_try_advisory_lock, PostgreSQL manual "Advisory Locks")
// on a connection of its own. The server releases the lock when that session ends, so a leader
// killed (`kill -9`) or whose host is gone is replaced at the others' next attempt. A leader that is
// alive but stopped (`SIGSTOP`, a VM freeze) or cut off keeps its session, so the lock alone would
// never move: a candidate that finds the lock held by a node whose lease ran out (store/nodes.h)
// ends that session (pg_terminate_backend, which needs the same database role or
// pg_signal_backend) and takes the lock. The stopped leader, once resumed, finds its own lease lost
// and stops (exit 70), so two leaders never act at once for longer than it takes to notice.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "store/sql.h"

namespace hivehook {

// The leader lock's key: "hhleader" as a number (classid 0x68686c65, objid 0x61646572 in pg_locks).
inline constexpr int64_t kLeaderLockKey = 0x68686c6561646572LL;

class LeaderLock {
 public:
  // Nothing is connected until the first hold(). `url`: the state's libpq URL; `node`: this node's
  // name (its session's application_name is "hivehook PID leader NODE", which status and other
  // candidates read); `lease`: the node's lease, the statement timeout of every attempt.
  LeaderLock(std::string url, std::string node, std::chrono::milliseconds lease);
  // A leader stopping (a clean stop: a killed one's session just ends) gives the lock back and
  // sends `NOTIFY hivehook, 'leader'`, so a candidate tries at once instead of at its next
  // quarter-lease try (store/notify_listener.h). Errors are ignored: the session ends anyway.
  ~LeaderLock();
  LeaderLock(const LeaderLock&) = delete;
  LeaderLock& operator=(const LeaderLock&) = delete;

  // One attempt, on the caller's thread (at most one statement timeout, `lease`, or libpq's
  // connect_timeout): true while this node holds the leader lock. Held before: checks that its
  // session still holds it (a reconnect after a server restart or a dropped connection starts a
  // session without it). Not held: ends the session of a leader whose node's lease ran out, then
  // tries the lock. Never throws: a fault (the server unreachable, a timeout) drops the connection
  // — releasing the lock if the session still had it — and returns false; `error()` says why.
  bool hold();
  bool held() const { return held_; }
  const std::string& error() const { return error_; }

  // The node holding the leader lock on `db`'s database, if any (PostgreSQL only; nullopt on SQLite
  // or when nobody leads). For `status`.
  static std::optional<std::string> leader(sql::Db& db);

 private:
  std::string url_, node_;
  std::chrono::milliseconds lease_;
  sql::Db db_;
  bool held_ = false;
  std::string error_;
};

}  // namespace hivehook
