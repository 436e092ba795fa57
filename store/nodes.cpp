#include "store/nodes.h"

#include <unistd.h>

#include <climits>

namespace hivehook {

namespace {
// The database's clock in unix ms: PostgreSQL's (every node reads the same clock), SQLite's.
std::string now_ms(sql::Dialect d) {
  return d == sql::Dialect::postgresql ? "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
                                       : "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
}

}  // namespace

const char* const kUnfinishedObject =
    "(state IN ('pending','succeeded','failed','move_failed') OR (state = 'duplicate' AND action = 'duplicate'"
    " AND final_path IS NULL))";

int64_t node_lock_key(uint32_t cls, const std::string& node) {
  uint32_t h = 2166136261u;  // FNV-1a, 32 bits
  for (unsigned char c : node) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int64_t>((static_cast<uint64_t>(cls) << 32) | h);
}

int64_t register_node(sql::Db& db, const NodeOptions& node) {
  const auto d = db.dialect();
  const std::string now = now_ms(d);
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof host - 1);
  sql::Transaction tx(db);
  auto st = db.prepare(
      "INSERT INTO nodes(name,epoch,pid,host,role,state,started_at,heartbeat_at,lease_until)"
      " VALUES(?,1,?,?,?,'live'," + now + "," + now + "," + now + " + ?)"
      " ON CONFLICT(name) DO UPDATE SET epoch = nodes.epoch + 1, pid = excluded.pid, host = excluded.host,"
      " role = excluded.role, state = 'live', started_at = excluded.started_at,"
      " heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until RETURNING epoch");
  st.bind(1, node.name).bind(2, static_cast<int64_t>(::getpid())).bind(3, std::string(host)).bind(4, node.role)
      .bind(5, static_cast<int64_t>(node.lease.count()));
  if (!st.step()) throw sql::StoreError("registering node " + node.name + " returned no epoch", SQLITE_ERROR);
  const int64_t epoch = st.int64(0);
  st.reset();
  // What no live node owns becomes this node's (see the header).
  const std::string unowned = d == sql::Dialect::postgresql ? "node IS NULL" : "COALESCE(node, '') <> ?";
  const bool bind_name = d != sql::Dialect::postgresql;
  for (const std::string& table_where :
       {std::string("objects SET node = ? WHERE ") + kUnfinishedObject + " AND ",
        std::string("runs SET node = ? WHERE state = 'started' AND "),
        std::string("outbox SET node = ? WHERE state = 'pending' AND ")}) {
    auto u = db.prepare("UPDATE " + table_where + unowned);
    u.bind(1, node.name);
    if (bind_name) u.bind(2, node.name);
    u.run();
  }
  tx.commit();
  return epoch;
}

std::string renew_lease_sql(sql::Dialect d) {
  const std::string now = now_ms(d);
  std::string sql = "UPDATE nodes SET heartbeat_at = " + now + ", lease_until = " + now +
                    " + ? WHERE name = ? AND epoch = ? AND state = 'live'";
  if (d == sql::Dialect::postgresql) sql += " AND lease_until > " + now;
  return sql;
}

std::vector<Takeover> take_over_expired_nodes(sql::Db& db, const std::string& me, int64_t my_epoch) {
  const std::string now = now_ms(sql::Dialect::postgresql);
  std::vector<Takeover> out;
  sql::Transaction tx(db);
  auto mine = db.prepare(check_lease_sql());
  mine.bind(1, me).bind(2, my_epoch);
  if (!mine.step())
    throw sql::StoreError("node " + me + " lost its lease (epoch " + std::to_string(my_epoch) +
                              "): it takes no other node's work over; the node stops",
                          SQLITE_PERM, "55P03");
  mine.reset();
  auto expired = db.prepare("SELECT name, epoch, host FROM nodes WHERE state = 'live' AND lease_until < " + now +
                            " AND name <> ? ORDER BY name FOR UPDATE SKIP LOCKED");
  expired.bind(1, me);
  while (expired.step()) {
    Takeover t;
    t.node = expired.text(0);
    t.epoch = expired.int64(1);
    t.host = expired.text(2);
    out.push_back(std::move(t));
  }
  expired.reset();
  for (auto& t : out) {
    auto fence = db.prepare("UPDATE nodes SET epoch = epoch + 1, state = 'expired' WHERE name = ?");
    fence.bind(1, t.node);
    fence.run();
    auto runs = db.prepare("UPDATE runs SET node = ? WHERE node = ? AND state = 'started' RETURNING run_id");
    runs.bind(1, me).bind(2, t.node);
    while (runs.step()) t.run_ids.push_back(runs.text(0));
    runs.reset();
    auto objects = db.prepare(std::string("UPDATE objects SET node = ? WHERE node = ? AND ") + kUnfinishedObject +
                              " RETURNING id");
    objects.bind(1, me).bind(2, t.node);
    while (objects.step()) t.object_ids.push_back(objects.int64(0));
    objects.reset();
    auto outbox = db.prepare("UPDATE outbox SET node = ? WHERE node = ? AND state = 'pending'");
    outbox.bind(1, me).bind(2, t.node);
    outbox.run();
    t.notifications = db.changes();
    // Its cluster-wide concurrency slots (store/rule_slots.h) are held by a session of its own,
    // which a stopped node keeps: ended, so that its runs, run again here, find their slots free.
    auto slots = db.prepare(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
        " AND split_part(application_name, ' ', 1) = 'hivehook' AND split_part(application_name, ' ', 3) = 'slots'"
        " AND split_part(application_name, ' ', 4) = ?");
    slots.bind(1, t.node);
    while (slots.step()) {
    }
  }
  tx.commit();
  return out;
}

std::string check_lease_sql() {
  return "SELECT 1 FROM nodes WHERE name = ? AND epoch = ? AND state = 'live' AND lease_until > " +
         now_ms(sql::Dialect::postgresql) + " FOR KEY SHARE";
}

void leave_cluster(sql::Db& db, const std::string& node, int64_t epoch) {
  try {
    if (db.in_transaction()) return;
    auto st = db.prepare("UPDATE nodes SET state = 'stopped', lease_until = " + now_ms(db.dialect()) +
                         " WHERE name = ? AND epoch = ?");
    st.bind(1, node).bind(2, epoch);
    st.run();
  } catch (const sql::StoreError&) {
  }
}

std::vector<NodeRecord> list_nodes(sql::Db& db) {
  auto st = db.prepare("SELECT name,host,role,state,epoch,pid,started_at,heartbeat_at,lease_until," +
                       now_ms(db.dialect()) + " FROM nodes ORDER BY name");
  std::vector<NodeRecord> out;
  while (st.step()) {
    NodeRecord n;
    n.name = st.text(0);
    n.host = st.text(1);
    n.role = st.text(2);
    n.state = st.text(3);
    n.epoch = st.int64(4);
    n.pid = st.int64(5);
    n.started_at = st.int64(6);
    n.heartbeat_at = st.int64(7);
    n.lease_until = st.int64(8);
    n.now_ms = st.int64(9);
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace hivehook
