#include "store/leader_lock.h"

#include <unistd.h>

#include "store/postgres.h"

namespace hivehook {

namespace {
// The advisory lock `kLeaderLockKey` as pg_locks shows it (a bigint key: classid is its high 32
// bits, objid its low 32, objsubid 1), in this database.
const std::string kLeaderRow =
    "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid::bigint = " + std::to_string(static_cast<uint64_t>(kLeaderLockKey) >> 32) +
    " AND l.objid::bigint = " + std::to_string(static_cast<uint64_t>(kLeaderLockKey) & 0xffffffffu);

// application_name "hivehook PID leader NODE": its fourth word.
const char* const kLeaderNode = "split_part(a.application_name, ' ', 4)";

}  // namespace

LeaderLock::LeaderLock(std::string url, std::string node, std::chrono::milliseconds lease)
    : url_(std::move(url)), node_(std::move(node)), lease_(lease) {}

LeaderLock::~LeaderLock() {
  if (!held_) return;
  try {
    db_.exec("SELECT pg_advisory_unlock(" + std::to_string(kLeaderLockKey) + ")");
    db_.exec("SELECT pg_notify('hivehook', 'leader')");
  } catch (const sql::StoreError&) {
  }
}

bool LeaderLock::hold() {
  try {
    if (!db_) db_ = sql::open_postgres(sql::with_application_name(url_, "hivehook " + std::to_string(::getpid()) + " leader " + node_));
    db_.exec("SET statement_timeout = " + std::to_string(lease_.count()));
    if (held_) {
      auto st = db_.prepare("SELECT 1 FROM pg_locks l WHERE " + kLeaderRow + " AND l.pid = pg_backend_pid()");
      held_ = st.step();
      if (held_) return true;
    }
    // A leader whose node's lease ran out (stopped, cut off, killed without its session ending
    // yet) is no leader: its session is ended, waiting (up to 5 s, PostgreSQL 14+) until it has, so
    // the lock is free when the try below runs (it was taken a moment later: a flaky unit test).
    auto unseat = db_.prepare(
        "SELECT pg_terminate_backend(a.pid, 5000) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE " +
        kLeaderRow + " AND a.pid <> pg_backend_pid() AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = " +
        kLeaderNode + " AND n.state = 'live' AND n.lease_until > CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT))");
    while (unseat.step()) {
    }
    auto take = db_.prepare("SELECT pg_try_advisory_lock(" + std::to_string(kLeaderLockKey) + ")");
    held_ = take.step() && take.text(0) == "t";
    error_.clear();
    return held_;
  } catch (const sql::StoreError& e) {
    error_ = e.what();
    held_ = false;
    db_ = sql::Db();  // the session ends: whatever it held is released
    return false;
  }
}

std::optional<std::string> LeaderLock::leader(sql::Db& db) {
  if (db.dialect() != sql::Dialect::postgresql) return std::nullopt;
  try {
    auto st = db.prepare(std::string("SELECT ") + kLeaderNode + " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE " +
                         kLeaderRow + " LIMIT 1");
    if (!st.step()) return std::nullopt;
    return st.text(0);
  } catch (const sql::StoreError&) {
    return std::nullopt;
  }
}

}  // namespace hivehook
