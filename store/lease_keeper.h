// Cluster mode (docs/cluster.md): a node's lease renewed on a connection and a thread of its own,
// on its own schedule, whatever the daemon's loop is doing. A batch never renews the lease (it only
// checks it, store/nodes.h check_lease_sql), so no amount of work in one batch — a 10,000-file
// burst committed at once, a statement waiting on a lock — can starve the renewal. What the keeper
// proves is that the process runs and reaches PostgreSQL; a node that truly cannot renew (stopped,
// cut off from the database, its lease taken over) still loses its lease and stops.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "store/sql.h"

namespace hivehook {

class LeaseKeeper {
 public:
  // Called once, on a keeper's thread, when a renewal changed nothing — the lease ran out (the
  // process was stopped, or the database unreachable, for longer than the lease) or another node
  // took this one's work over (its epoch moved on) — or when, by this process's own monotonic
  // clock, a lease has passed since the last renewal that succeeded was sent (the database does
  // not answer, or the process was stopped): the server's lease ends no earlier than that, so the
  // node learns it is fenced before any other node can take its work over, without reaching the
  // database (a partition). `why` is a whole message naming the node.
  using OnLost = std::function<void(const std::string& why)>;

  // Opens a PostgreSQL connection of its own to `url` (throws sql::StoreError SQLITE_CANTOPEN as
  // sql::open_postgres does) and starts renewing `node`'s lease at `epoch` to `lease` ahead of the
  // server's clock, every `lease` / 3 (at least 100 ms). A renewal that fails for a passing fault
  // (connection lost, server restarting, the statement timeout — `lease`) is tried again every
  // `lease` / 10 (at least 50 ms) until it succeeds or the lease is found lost. `display`: the
  // state's name for messages (password masked).
  LeaseKeeper(const std::string& url, std::string display, std::string node, int64_t epoch,
              std::chrono::milliseconds lease, OnLost on_lost);
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;
  // Stops renewing (stop()).
  ~LeaseKeeper();

  // Stops the thread and waits for it (a renewal in flight finishes first, bounded by the
  // statement timeout). Idempotent. After it the lease runs out `lease` after the last renewal
  // unless the node leaves the cluster (store/nodes.h leave_cluster).
  void stop();
  // True once a renewal found the lease lost.
  bool lost() const { return lost_.load(); }
  // Renewals that succeeded so far (tests and status).
  uint64_t renewals() const { return renewals_.load(); }

 private:
  void run();
  // The fence's thread: waits for the local deadline (moved by each renewal) and loses the lease there.
  void watch_deadline();
  void lose(const std::string& why);
  // One renewal: true renewed, false lost; throws sql::StoreError on a fault.
  bool renew_once();

  sql::Db db_;
  sql::Statement renew_;
  std::string display_, node_;
  int64_t epoch_;
  std::chrono::milliseconds lease_;
  OnLost on_lost_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> lost_{false};
  std::atomic<uint64_t> renewals_{0};
  std::chrono::steady_clock::time_point deadline_;  // under mu_: last renewal's send + lease
  std::thread thread_;
  std::thread fence_;
};

}  // namespace hivehook
