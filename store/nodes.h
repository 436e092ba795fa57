// Cluster mode (docs/cluster.md): the nodes sharing one state. Each node has a row in `nodes` with
// its epoch — bumped at every start, and by a takeover, so it fences: a batch carries the epoch it
// started with, and is refused once the row holds another — and its lease. On PostgreSQL the lease
// is renewed by a keeper on its own connection and thread (store/lease_keeper.h) and checked, not
// renewed, at both ends of every batch (check_lease_sql); it is kept on the server's clock
// (clock_timestamp()), so the nodes' clocks never have to agree. On SQLite (one node only) the
// daemon's loop renews it between batches, on SQLite's clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/node_name.h"
#include "store/sql.h"

namespace hivehook {

// Who a store owner is in the cluster.
struct NodeOptions {
  std::string name;                             // [A-Za-z0-9][A-Za-z0-9._-]{0,62} (valid_node_name)
  std::string role = "run";                     // run | scan | replay
  std::chrono::milliseconds lease{15000};       // how long its work stays its own without a renewal
};

// A row of `nodes`, as status shows it. `now_ms`: the database's clock when read (leases compare with it).
struct NodeRecord {
  std::string name, host, role, state;
  int64_t epoch = 0, pid = 0, started_at = 0, heartbeat_at = 0, lease_until = 0, now_ms = 0;
  bool live() const { return state == "live" && lease_until > now_ms; }
};

// A 64-bit advisory lock key for `node` within the lock class `cls` (32 bits): cls << 32 | FNV-1a(node).
int64_t node_lock_key(uint32_t cls, const std::string& node);

// Registers `node` as live with a new epoch, in a transaction of its own, and returns the epoch. Rows
// of an unknown node (written before cluster mode: node NULL) that are unfinished — pending or
// decided objects, started runs, pending notifications — become this node's. On SQLite (one owner
// at a time, so every earlier node has stopped) every unfinished row becomes this node's.
int64_t register_node(sql::Db& db, const NodeOptions& node);

// The statement that renews `node`'s lease at `epoch` (bind: lease ms, name, epoch). On PostgreSQL it
// changes nothing once the epoch moved on or the lease ran out (the node lost its work to others):
// a lease that ran out is never renewed again. It takes the row's FOR NO KEY UPDATE lock, which
// a batch's check (below) does not conflict with and a takeover's FOR UPDATE does.
std::string renew_lease_sql(sql::Dialect dialect);

// PostgreSQL: the statement a batch runs first and again just before its COMMIT (bind: name,
// epoch): a row while `node` is live at `epoch` with its lease running, none once it was lost. It
// takes the node row's FOR KEY SHARE lock until the batch ends: a renewal on the keeper's
// connection goes on beside it (no conflict with FOR NO KEY UPDATE), while a takeover (SELECT ...
// FOR UPDATE on the row) waits for the batch — or skips the node — so a batch either commits
// before a takeover or is refused. (PostgreSQL manual, "Explicit Locking", row-level lock modes.)
std::string check_lease_sql();

// The WHERE clause of an object that has not reached its end (pending, decided but not moved, a
// duplicate not yet set aside): what recovery re-queues and a takeover moves to the taker.
extern const char* const kUnfinishedObject;

// What a takeover took from one node whose lease ran out.
struct Takeover {
  std::string node, host;                // the node taken over, and the host it ran on
  int64_t epoch = 0;                     // the epoch it had; now epoch + 1, state 'expired'
  std::vector<std::string> run_ids;      // its started runs, now the taker's (to record interrupted)
  std::vector<int64_t> object_ids;       // its unfinished objects, now the taker's
  int64_t notifications = 0;             // its pending outbox rows, now the taker's
};

// PostgreSQL: takes over, in one transaction on `db`, the work of every other node still 'live'
// whose lease ran out (on the server's clock). Each such node's row is locked FOR UPDATE SKIP
// LOCKED — so two live nodes never take one node over twice, and a node with a batch still open
// (its row held FOR KEY SHARE: its process is stopped, not dead, or its session not yet ended) is
// skipped until that batch ends — its epoch is bumped (its later batches and renewals are refused:
// the fencing token moved on) and its state set 'expired'; its started runs, unfinished objects and
// pending notifications become `me`'s, and the session holding its cluster-wide concurrency slots
// (store/rule_slots.h) is ended. The caller records the runs interrupted and loads the objects, as
// its own recovery does. First checks that `me` at `my_epoch` still holds its own lease
// (throws StoreError SQLITE_PERM when not: a node that lost its lease takes nothing over). Returns
// one entry per node taken over, none mostly.
std::vector<Takeover> take_over_expired_nodes(sql::Db& db, const std::string& me, int64_t my_epoch);

// `node` stopped cleanly: its row says so and its lease ends now. Never throws.
void leave_cluster(sql::Db& db, const std::string& node, int64_t epoch);

// Every node, by name.
std::vector<NodeRecord> list_nodes(sql::Db& db);

}  // namespace hivehook
