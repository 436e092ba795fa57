#include "store/batch_state.h"

#include <algorithm>
#include <stdexcept>

#include "landing/key_order.h"

namespace hivehook {

namespace {
constexpr const char* kColumns =
    "rule, group_key, generation, state, opened_at, last_member_at, members, marker_seen, reason, completed_at,"
    " attempts, interrupted, next_at";

// kColumns, each qualified by `table` ("b."): the same columns in the same order, for a join.
std::string columns_of(std::string_view table) {
  std::string out;
  for (std::string_view rest = kColumns; !rest.empty();) {
    const std::size_t comma = rest.find(',');
    std::string_view col = rest.substr(0, comma);
    while (!col.empty() && col.front() == ' ') col.remove_prefix(1);
    out += (out.empty() ? "" : ", ") + std::string(table) + std::string(col);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

BatchRecord read_batch(sql::Statement& st) {
  BatchRecord b;
  b.rule = st.text(0);
  b.group = st.text(1);
  b.generation = st.int64(2);
  b.state = st.text(3);
  b.opened_at = st.int64(4);
  b.last_member_at = st.int64(5);
  b.members = static_cast<int>(st.int64(6));
  b.marker_seen = st.int64(7) != 0;
  b.reason = st.text(8);
  b.completed_at = st.int64(9);
  b.attempts = static_cast<int>(st.int64(10));
  b.interrupted = static_cast<int>(st.int64(11));
  if (!st.is_null(12)) b.next_at = st.int64(12);
  return b;
}

// Oldest first; among batches opened in the same millisecond (one scan), by rule, then group in
// key order (landing/key_order.h: sales/9 before sales/10), then generation.
void sort_batches(std::vector<BatchRecord>& v) {
  std::stable_sort(v.begin(), v.end(), [](const BatchRecord& x, const BatchRecord& y) {
    if (x.opened_at != y.opened_at) return x.opened_at < y.opened_at;
    if (x.rule != y.rule) return x.rule < y.rule;
    if (auto c = compare_keys(x.group, y.group); c != 0) return c < 0;
    return x.generation < y.generation;
  });
}
}  // namespace

void BatchState::require_batch() const {
  // Every caller announces its change with an audit event first, which opens the store's batch.
  if (!store_.in_batch()) throw std::logic_error("batch state written outside the store's batch");
}

std::optional<BatchRecord> BatchState::latest(const std::string& rule, const std::string& group) {
  auto st = store_.db().cached(std::string("SELECT ") + kColumns +
                                " FROM batches WHERE rule = ? AND group_key = ? ORDER BY generation DESC LIMIT 1");
  st->bind(1, rule).bind(2, group);
  if (!st->step()) return std::nullopt;
  return read_batch(*st);
}

std::optional<BatchRecord> BatchState::get(const std::string& rule, const std::string& group, int64_t generation) {
  auto st = store_.db().cached(std::string("SELECT ") + kColumns +
                                " FROM batches WHERE rule = ? AND group_key = ? AND generation = ?");
  st->bind(1, rule).bind(2, group).bind(3, generation);
  if (!st->step()) return std::nullopt;
  return read_batch(*st);
}

void BatchState::put(const BatchRecord& b) {
  require_batch();
  // Through the store's journal (Store::write), as every write of a batch: a batch the storage
  // refused (a full state disk) is written again whole, batch rows included, by a later commit.
  store_.write([this, b] {
    auto st = store_.db().cached(
        std::string("INSERT INTO batches(") + kColumns +
        ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(rule, group_key, generation) DO UPDATE SET"
        " state=excluded.state, opened_at=excluded.opened_at, last_member_at=excluded.last_member_at,"
        " members=excluded.members, marker_seen=excluded.marker_seen, reason=excluded.reason,"
        " completed_at=excluded.completed_at, attempts=excluded.attempts, interrupted=excluded.interrupted,"
        " next_at=excluded.next_at");
    st->bind(1, b.rule).bind(2, b.group).bind(3, b.generation).bind(4, b.state).bind(5, b.opened_at)
        .bind(6, b.last_member_at).bind(7, b.members).bind(8, b.marker_seen ? 1 : 0).bind(9, b.reason)
        .bind(10, b.completed_at).bind(11, b.attempts).bind(12, b.interrupted).bind(13, b.next_at);
    st->run();
  });
}

void BatchState::add_member(const BatchRecord& b, int64_t object_id, const std::string& key, bool marker) {
  require_batch();
  store_.write([this, rule = b.rule, group = b.group, generation = b.generation, object_id, key, marker] {
    auto st = store_.db().cached(
        "INSERT INTO batch_members(rule, group_key, generation, object_id, key, marker) VALUES(?,?,?,?,?,?)"
        " ON CONFLICT(rule, group_key, generation, object_id) DO NOTHING");
    st->bind(1, rule).bind(2, group).bind(3, generation).bind(4, object_id).bind(5, key).bind(6, marker ? 1 : 0);
    st->run();
  });
}

void BatchState::offer(const BatchOffer& o) {
  require_batch();
  store_.write([this, o] {
    auto st = store_.db().cached(
        "INSERT INTO batch_offers(rule, group_key, object_id, key, marker, node, offered_at) VALUES(?,?,?,?,?,?,?)"
        " ON CONFLICT(rule, group_key, object_id) DO NOTHING");
    st->bind(1, o.rule).bind(2, o.group).bind(3, o.object_id).bind(4, o.key).bind(5, o.marker ? 1 : 0)
        .bind(6, o.node).bind(7, o.offered_at);
    st->run();
    wake_leader_now();
  });
}

void BatchState::wake_leader() {
  require_batch();
  store_.write([this] { wake_leader_now(); });
}

void BatchState::wake_leader_now() {
  if (!store_.is_postgres()) return;
  // Delivered at the commit (store/notify_listener.h): the leader looks at its batches at once.
  auto wake = store_.db().cached("SELECT pg_notify('hivehook', 'batch')");
  wake->step();
  wake->reset();
}

std::vector<BatchOffer> BatchState::offers() {
  auto st = store_.db().cached(
      "SELECT rule, group_key, object_id, key, marker, node, offered_at FROM batch_offers ORDER BY object_id, rule");
  std::vector<BatchOffer> out;
  while (st->step()) {
    BatchOffer o;
    o.rule = st->text(0);
    o.group = st->text(1);
    o.object_id = st->int64(2);
    o.key = st->text(3);
    o.marker = st->int64(4) != 0;
    o.node = st->is_null(5) ? "" : st->text(5);
    o.offered_at = st->int64(6);
    out.push_back(std::move(o));
  }
  return out;
}

void BatchState::remove_offer(const BatchOffer& o) {
  require_batch();
  store_.write([this, rule = o.rule, group = o.group, object_id = o.object_id] {
    auto st = store_.db().cached("DELETE FROM batch_offers WHERE rule = ? AND group_key = ? AND object_id = ?");
    st->bind(1, rule).bind(2, group).bind(3, object_id);
    st->run();
  });
}

std::vector<BatchMember> BatchState::members(const BatchRecord& b) {
  auto st = store_.db().cached(
      "SELECT m.object_id, m.key, m.marker, COALESCE(o.state, ''), COALESCE(o.final_path, ''), COALESCE(o.size, 0),"
      " COALESCE(o.etag, ''), COALESCE(o.sequencer, ''), COALESCE(o.discovered_at, 0)"
      " FROM batch_members m LEFT JOIN objects o ON o.id = m.object_id"
      " WHERE m.rule = ? AND m.group_key = ? AND m.generation = ? ORDER BY m.object_id");
  st->bind(1, b.rule).bind(2, b.group).bind(3, b.generation);
  std::vector<BatchMember> out;
  while (st->step()) {
    BatchMember m;
    m.object_id = st->int64(0);
    m.key = st->text(1);
    m.marker = st->int64(2) != 0;
    m.object_state = st->text(3);
    m.final_path = st->text(4);
    m.size = st->int64(5);
    m.etag = st->text(6);
    m.sequencer = st->text(7);
    m.discovered_at = st->int64(8);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<BatchRecord> BatchState::unfinished(const std::string& rule) {
  auto st = store_.db().cached(std::string("SELECT ") + kColumns +
                                " FROM batches WHERE state IN ('open', 'complete', 'running')"
                                " AND (? = '' OR rule = ?)");
  st->bind(1, rule).bind(2, rule);
  std::vector<BatchRecord> out;
  while (st->step()) out.push_back(read_batch(*st));
  sort_batches(out);
  return out;
}

std::vector<BatchRecord> BatchState::abandoned_since(int64_t since_ms) {
  auto st = store_.db().cached(std::string("SELECT ") + kColumns +
                                " FROM batches WHERE state = 'abandoned' AND completed_at >= ?"
                                " ORDER BY completed_at DESC");
  st->bind(1, since_ms);
  std::vector<BatchRecord> out;
  while (st->step()) out.push_back(read_batch(*st));
  return out;
}

namespace {
std::vector<BatchRecord> batches_of_object(Store& store, int64_t object_id, const char* states) {
  const std::string sql = "SELECT " + columns_of("b.") +
                          " FROM batch_members m JOIN batches b ON b.rule = m.rule AND b.group_key = m.group_key"
                          " AND b.generation = m.generation WHERE m.object_id = ? AND b.state IN (" + states + ")";
  auto st = store.db().cached(sql);
  st->bind(1, object_id);
  std::vector<BatchRecord> out;
  while (st->step()) out.push_back(read_batch(*st));
  sort_batches(out);
  return out;
}
}  // namespace

std::vector<BatchRecord> BatchState::of_object(int64_t object_id) {
  return batches_of_object(store_, object_id, "'open', 'complete', 'running'");
}

std::vector<BatchRecord> BatchState::skipped_of_object(int64_t object_id) {
  return batches_of_object(store_, object_id, "'skipped'");
}

std::vector<BatchRecord> BatchState::ended_of_object(int64_t object_id) {
  return batches_of_object(store_, object_id, "'succeeded', 'failed', 'skipped'");
}

}  // namespace hivehook
