#include "store/queries.h"

#include <algorithm>
#include <set>

#include "landing/key_order.h"
#include "store/partitions.h"
#include "store/schema.h"

namespace hivehook {

namespace {
// "prefix%" for LIKE is wrong for keys holding % or _: compare the leading bytes instead.
constexpr const char* kPrefixClause = "substr(key, 1, length(CAST(? AS TEXT))) = ?";
}  // namespace

StatusCounts status_counts(Store& store) {
  StatusCounts c;
  auto& db = store.db();
  auto st = db.prepare("SELECT state, COUNT(*) FROM objects GROUP BY state");
  while (st.step()) c.objects[st.text(0)] = st.int64(1);
  auto tt = db.prepare(
      "SELECT t.state, COUNT(*) FROM tasks t JOIN objects o ON o.id = t.object_id WHERE t.state IN "
      "('queued','running','retry_wait') AND o.state IN ('pending','succeeded','failed') GROUP BY t.state");
  while (tt.step()) c.tasks[tt.text(0)] = tt.int64(1);
  auto ot = db.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state");
  while (ot.step()) c.outbox[ot.text(0)] = ot.int64(1);
  auto rt = db.prepare("SELECT COUNT(*) FROM runs WHERE state='started'");
  if (rt.step()) c.runs_in_flight = rt.int64(0);
  return c;
}

std::vector<RunRecord> list_runs(Store& store, const RunFilter& f) {
  std::string sql = "SELECT " + run_columns(store.has_nodes()) + " FROM runs WHERE 1=1";
  if (f.failed_only) sql += " AND state IN ('failed','timed_out')";
  if (f.key_prefix) sql += std::string(" AND ") + kPrefixClause;
  if (f.rule) sql += " AND rule = ?";
  if (f.before_id > 0) sql += " AND id < ?";
  sql += " ORDER BY id DESC";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  auto st = store.db().prepare(sql);
  int i = 1;
  if (f.key_prefix) {
    st.bind(i++, *f.key_prefix);
    st.bind(i++, *f.key_prefix);
  }
  if (f.rule) st.bind(i++, *f.rule);
  if (f.before_id > 0) st.bind(i++, f.before_id);
  std::vector<RunRecord> out;
  while (st.step()) out.push_back(read_run_row(st, store.has_nodes()));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<AuditEvent> list_events(Store& store, const EventFilter& f) {
  std::string sql = std::string("SELECT ") + event_columns(store.has_nodes()) + " FROM events WHERE id > ?";
  if (f.since_ms) sql += " AND time >= ?";
  if (f.rule) sql += " AND rule = ?";
  if (f.key_prefix) sql += std::string(" AND ") + kPrefixClause;
  sql += " ORDER BY id LIMIT ?";
  auto st = store.db().prepare(sql);
  int i = 1;
  st.bind(i++, f.after_id);
  if (f.since_ms) st.bind(i++, *f.since_ms);
  if (f.rule) st.bind(i++, *f.rule);
  if (f.key_prefix) {
    st.bind(i++, *f.key_prefix);
    st.bind(i++, *f.key_prefix);
  }
  st.bind(i++, f.limit);
  std::vector<AuditEvent> out;
  while (st.step()) out.push_back(read_event_row(st, store.has_nodes()));
  return out;
}

std::vector<OutboxRecord> dead_notifications(Store& store, int limit) {
  auto st = store.db().prepare(std::string("SELECT ") + kOutboxColumns +
                               " FROM outbox WHERE state='dead' ORDER BY id DESC LIMIT ?");
  st.bind(1, limit);
  std::vector<OutboxRecord> out;
  while (st.step()) out.push_back(read_outbox_row(st));
  return out;
}

namespace {
std::vector<ObjectRecord> objects_where(Store& store, const char* where, int limit) {
  auto st = store.db().prepare(std::string("SELECT ") + kObjectColumns + " FROM objects WHERE " + where + " LIMIT ?");
  st.bind(1, limit);
  std::vector<ObjectRecord> out;
  while (st.step()) out.push_back(read_object_row(st));
  return out;
}
}  // namespace

std::vector<ObjectRecord> stuck_objects(Store& store, int limit) {
  return objects_where(store, "state='move_failed' ORDER BY failed_since, id", limit);
}

std::vector<ObjectRecord> ignored_objects(Store& store, int limit) {
  // Only where the ignored file is still the latest arrival at its key: one fixed since (chmod,
  // renamed in again) ran as a new object and is not "never run" (issue 16 retest P2).
  return objects_where(store,
                       "state='ignored' AND id = (SELECT MAX(l.id) FROM objects l WHERE l.key = objects.key "
                       "AND l.state <> 'duplicate') ORDER BY id DESC",
                       limit);
}

std::vector<ObjectRecord> quarantined_objects(Store& store, const std::optional<std::string>& key) {
  std::string sql =
      "SELECT o.id, o.key, o.final_path FROM objects o WHERE o.state='quarantined'"
      " AND " + std::string(kLatestArrivalClause);
  if (key) sql += " AND o.key = ?";
  sql += " ORDER BY o.key";
  auto st = store.db().prepare(sql);
  if (key) st.bind(1, *key);
  std::vector<ObjectRecord> out;
  while (st.step()) {
    ObjectRecord o;
    o.id = st.int64(0);
    o.key = st.text(1);
    o.final_path = st.text(2);
    o.state = ObjectState::quarantined;
    out.push_back(std::move(o));
  }
  return out;
}

PresentCounts present_counts(Store& store) {
  PresentCounts c;
  auto& db = store.db();
  // The latest arrival per key, for the states that describe where a key's file is now.
  auto latest = db.prepare(
      std::string("SELECT o.state, COUNT(*) FROM objects o WHERE o.state IN ('quarantined','unmatched','kept','failed_kept')"
                  " AND ") + kLatestArrivalClause + " GROUP BY o.state");
  while (latest.step()) {
    if (latest.text(0) == "quarantined") c.in_quarantine = latest.int64(1);
    else c.left_in_landing += latest.int64(1);
  }
  auto open = db.prepare("SELECT COUNT(*) FROM objects WHERE state IN ('pending','succeeded','failed')");
  if (open.step()) c.in_progress = open.int64(0);
  // Tasks of objects still in progress only: an object that ended early (superseded, vanished)
  // before its task ran left it queued in stores written before G4 of issue 14's retest was fixed.
  auto tasks = db.prepare(
      "SELECT t.state, COUNT(*) FROM tasks t JOIN objects o ON o.id = t.object_id WHERE t.state IN "
      "('queued','retry_wait','waiting') AND o.state IN ('pending','succeeded','failed') GROUP BY t.state");
  while (tasks.step()) {
    std::string s = tasks.text(0);
    (s == "queued" ? c.queued : s == "retry_wait" ? c.retry_wait : c.waiting) = tasks.int64(1);
  }
  // Batch runs and schedule firings waiting out a retry's backoff (their next attempt is stored;
  // they have no task row). A state DB from before orchestration has neither table.
  try {
    auto batches = db.prepare("SELECT COUNT(*) FROM batches WHERE state='running' AND next_at IS NOT NULL");
    if (batches.step()) c.retry_wait += batches.int64(0);
    auto schedules = db.prepare("SELECT COUNT(*) FROM schedules WHERE open=1 AND next_at IS NOT NULL");
    if (schedules.step()) c.retry_wait += schedules.int64(0);
    // Batch runs and firings waiting for a worker (`workers`, the rule's concurrency): running in
    // their table, no retry due, no run started yet.
    auto queued_batches = db.prepare(
        "SELECT COUNT(*) FROM batches b WHERE b.state='running' AND b.next_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM runs r WHERE r.rule = b.rule AND r.key = b.group_key AND r.object_id = 0 AND r.state='started')");
    if (queued_batches.step()) c.queued += queued_batches.int64(0);
    auto queued_firings = db.prepare(
        "SELECT COUNT(*) FROM schedules s WHERE s.open=1 AND s.next_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM runs r WHERE r.rule = s.rule AND r.key = '' AND r.object_id = 0 AND r.state='started')");
    if (queued_firings.step()) c.queued += queued_firings.int64(0);
  } catch (const sql::StoreError&) {
  }
  auto runs = db.prepare("SELECT COUNT(*) FROM runs WHERE state='started'");
  if (runs.step()) c.running = runs.int64(0);
  auto stuck = db.prepare("SELECT COUNT(*) FROM objects WHERE state='move_failed'");
  if (stuck.step()) c.stuck = stuck.int64(0);
  auto outbox = db.prepare("SELECT COUNT(*) FROM outbox WHERE state='pending'");
  if (outbox.step()) c.outbox_pending = outbox.int64(0);
  return c;
}

std::vector<WaitingRule> waiting_tasks(Store& store) {
  std::vector<WaitingRule> out;
  // Per rule, its count and first key in key order (landing/key_order.h: day=9 before day=10 — SQL's
  // MIN(key) is byte order), the order the rule's objects are released in.
  auto st = store.db().prepare(
      "SELECT t.rule, o.key FROM tasks t JOIN objects o ON o.id = t.object_id"
      " WHERE t.state = 'waiting' ORDER BY t.rule");
  while (st.step()) {
    std::string rule = st.text(0), key = st.text(1);
    if (out.empty() || out.back().rule != rule) out.push_back({std::move(rule), 0, key, ""});
    auto& w = out.back();
    ++w.objects;
    if (compare_keys(key, w.first_key) < 0) w.first_key = std::move(key);
  }
  auto what = store.db().prepare(
      "SELECT t.waiting_for FROM tasks t JOIN objects o ON o.id = t.object_id"
      " WHERE t.state = 'waiting' AND t.rule = ? AND o.key = ? LIMIT 1");
  for (auto& w : out) {
    what.bind(1, w.rule).bind(2, w.first_key);
    if (what.step()) w.waiting_for = what.text(0);
    what.reset();
  }
  return out;
}

std::map<std::string, int64_t> objects_updated_since(Store& store, int64_t since_ms) {
  std::map<std::string, int64_t> out;
  auto st = store.db().prepare("SELECT state, COUNT(*) FROM objects WHERE updated_at >= ? GROUP BY state");
  st.bind(1, since_ms);
  while (st.step()) out[st.text(0)] = st.int64(1);
  return out;
}


std::vector<ObjectRecord> list_objects(Store& store, const ObjectFilter& f) {
  std::string sql = std::string("SELECT ") + kObjectColumns + " FROM objects o WHERE 1=1";
  std::optional<std::string> prefix = f.key_prefix;
  if (f.table && !prefix) prefix = *f.table + "/";
  if (prefix) sql += std::string(" AND ") + kPrefixClause;
  if (f.state) sql += " AND state = ?";
  if (f.before_id > 0) sql += " AND id < ?";
  if (f.latest_only) sql += std::string(" AND ") + kLatestArrivalClause;
  sql += " ORDER BY id DESC";
  auto st = store.db().prepare(sql);
  int i = 1;
  if (prefix) {
    st.bind(i++, *prefix);
    st.bind(i++, *prefix);
  }
  if (f.state) st.bind(i++, *f.state);
  if (f.before_id > 0) st.bind(i++, f.before_id);
  std::vector<ObjectRecord> out;
  while (st.step()) {
    ObjectRecord o = read_object_row(st);
    if (f.table && key_table(o.key) != *f.table) continue;
    if (f.partition && key_partition(o.key) != *f.partition) continue;
    out.push_back(std::move(o));
    if (f.limit > 0 && static_cast<int>(out.size()) >= f.limit) break;
  }
  return out;
}

std::vector<RunRecord> runs_of_object(Store& store, int64_t object_id) {
  auto st = store.db().prepare("SELECT " + run_columns(store.has_nodes()) + " FROM runs WHERE object_id = ? ORDER BY id");
  st.bind(1, object_id);
  std::vector<RunRecord> out;
  while (st.step()) out.push_back(read_run_row(st, store.has_nodes()));
  return out;
}

std::optional<RunRecord> run_by_id(Store& store, const std::string& run_id) {
  auto st = store.db().prepare("SELECT " + run_columns(store.has_nodes()) + " FROM runs WHERE run_id = ?");
  st.bind(1, run_id);
  if (!st.step()) return std::nullopt;
  return read_run_row(st, store.has_nodes());
}

std::map<std::string, std::vector<RunRecord>> recent_runs_by_rule(Store& store, int per_rule, int scan) {
  auto st = store.db().prepare("SELECT " + run_columns(store.has_nodes()) + " FROM runs ORDER BY id DESC LIMIT ?");
  st.bind(1, scan);
  std::map<std::string, std::vector<RunRecord>> out;
  while (st.step()) {
    RunRecord r = read_run_row(st, store.has_nodes());
    auto& v = out[r.rule];
    if (static_cast<int>(v.size()) < per_rule) v.push_back(std::move(r));
  }
  return out;
}

std::vector<QuarantineEntry> quarantine_report(Store& store, int limit, int64_t before_id, std::size_t max_runs) {
  auto st = store.db().prepare(std::string("SELECT ") + kObjectColumns +
                               " FROM objects o WHERE o.state = 'quarantined' AND " + kLatestArrivalClause +
                               (before_id > 0 ? " AND o.id < ?" : "") + " ORDER BY o.id DESC LIMIT ?");
  int i = 1;
  if (before_id > 0) st.bind(i++, before_id);
  st.bind(i++, limit);
  std::vector<QuarantineEntry> out;
  std::map<int64_t, std::size_t> index;
  while (st.step()) {
    QuarantineEntry e;
    e.object = read_object_row(st);
    index[e.object.id] = out.size();
    out.push_back(std::move(e));
  }
  if (out.empty()) return out;
  // The failed runs of those objects: they are never older than the oldest object's discovery.
  int64_t oldest = out.back().object.discovered_at;
  for (const auto& e : out) oldest = std::min(oldest, e.object.discovered_at);
  const int64_t from = first_id_at_or_after(store, "runs", "started_at", oldest - 1000);
  auto rt = store.db().prepare("SELECT " + run_columns(store.has_nodes()) +
                               " FROM runs WHERE id >= ? AND state IN ('failed', 'timed_out') ORDER BY id");
  rt.bind(1, from);
  while (rt.step()) {
    RunRecord r = read_run_row(rt, store.has_nodes());
    if (auto it = index.find(r.object_id); it != index.end()) {
      auto& runs = out[it->second].failed_runs;
      if (max_runs > 0 && runs.size() == max_runs) runs.erase(runs.begin());
      runs.push_back(std::move(r));
    }
  }
  return out;
}

int64_t first_id_at_or_after(Store& store, const char* table, const char* time_column, int64_t since_ms) {
  auto& db = store.db();
  // `id` (INTEGER PRIMARY KEY: SQLite's rowid; an identity column on PostgreSQL) grows with time.
  auto bounds = db.prepare(std::string("SELECT MIN(id), MAX(id) FROM ") + table);
  if (!bounds.step() || bounds.is_null(0)) return 1;
  int64_t lo = bounds.int64(0), hi = bounds.int64(1) + 1;  // answer in [lo, hi]
  auto at = db.prepare(std::string("SELECT id, ") + time_column + " FROM " + table +
                       " WHERE id >= ? ORDER BY id LIMIT 1");
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    at.reset();
    at.bind(1, mid);
    if (!at.step()) {
      hi = mid;
      continue;
    }
    const int64_t row = at.int64(0);
    if (at.int64(1) >= since_ms) hi = mid;  // the first row at or after mid is in time: answer <= row
    else lo = row + 1;
  }
  return lo;
}

bool run_started_for(Store& store, const std::string& rule, const std::string& key) {
  auto st = store.db().prepare("SELECT 1 FROM runs WHERE rule = ? AND key = ? AND object_id = 0 AND state = 'started'");
  st.bind(1, rule).bind(2, key);
  return st.step();
}

std::optional<FiringRun> last_firing_run(Store& store, const std::string& rule) {
  auto st = store.db().prepare(
      "SELECT run_id, attempt, state, error, ended_at FROM runs WHERE rule = ? AND object_id = 0 AND key = ''"
      " ORDER BY id DESC LIMIT 1");
  st.bind(1, rule);
  if (!st.step()) return std::nullopt;
  FiringRun r;
  r.run_id = st.text(0);
  r.attempt = static_cast<int>(st.int64(1));
  r.state = st.text(2);
  r.error = st.is_null(3) ? "" : st.text(3);
  if (!st.is_null(4)) r.ended_at = st.int64(4);
  return r;
}

}  // namespace hivehook
