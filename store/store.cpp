#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <limits>
#include <random>

#include "base/clock.h"
#include "store/postgres.h"
#include "store/schema.h"
#include "store/sqlite.h"

namespace hivehook {

namespace {

std::optional<std::string> opt_text(sql::Statement& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  return st.text(col);
}
std::optional<int64_t> opt_int(sql::Statement& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  return st.int64(col);
}

std::string select(const std::string& columns, const char* rest) { return "SELECT " + columns + rest; }

}  // namespace

ObjectRecord read_object_row(sql::Statement& st) {
  ObjectRecord o;
  o.id = st.int64(0);
  o.key = st.text(1);
  o.size = static_cast<uint64_t>(st.int64(2));
  o.mtime_ns = st.int64(3);
  o.inode = static_cast<uint64_t>(st.int64(4));
  o.etag = st.text(5);
  o.sequencer = st.text(6);
  o.state = object_state_from(st.text(7)).value_or(ObjectState::pending);
  o.discovered_at = st.int64(8);
  o.updated_at = st.int64(9);
  o.final_path = st.text(10);
  o.error = st.text(11);
  o.ctime_ns = st.int64(12);
  o.action = st.text(13);
  o.move_attempts = static_cast<int>(st.int64(14));
  o.failed_since = opt_int(st, 15);
  return o;
}

namespace {

std::optional<std::string> nonempty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

OutboxRecord outbox_row(const std::string& target, const std::string& event, std::optional<std::string> key,
                        const std::string& rule, nlohmann::json body, int64_t now_ms) {
  OutboxRecord o;
  o.delivery_id = new_uuid();
  o.target = target;
  o.event = event;
  o.key = std::move(key);
  o.rule = rule;
  body["delivery_id"] = o.delivery_id;
  o.body = safe_dump(body);
  o.next_at = now_ms;
  return o;
}

std::string new_uuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", (unsigned long long)(a >> 32),
                (unsigned long long)((a >> 16) & 0xffff), (unsigned long long)(a & 0xffff),
                (unsigned long long)(b >> 48), (unsigned long long)(b & 0xffffffffffffULL));
  return buf;
}

const char* event_columns(bool with_node) {
  return with_node ? "id,time,event,key,rule,run_id,attempt,detail,node" : "id,time,event,key,rule,run_id,attempt,detail";
}

AuditEvent read_event_row(sql::Statement& st, bool with_node) {
  AuditEvent e;
  e.id = st.int64(0);
  e.time_ms = st.int64(1);
  e.event = st.text(2);
  e.key = opt_text(st, 3);
  e.rule = opt_text(st, 4);
  e.run_id = opt_text(st, 5);
  if (!st.is_null(6)) e.attempt = static_cast<int>(st.int64(6));
  if (!st.is_null(7)) e.detail = nlohmann::json::parse(st.text(7), nullptr, false);
  if (e.detail.is_discarded()) e.detail = nullptr;
  if (with_node) e.node = opt_text(st, 8);
  return e;
}

const std::string Store::kSql[] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SELECT COALESCE(MAX(id), 0) FROM objects",
    "SELECT COALESCE(MAX(id), 0) FROM events",
    "INSERT INTO events(id,time,event,key,rule,run_id,attempt,detail,node) VALUES(?,?,?,?,?,?,?,?,?)",
    std::string("INSERT INTO objects(") + kObjectColumns + ",node) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "UPDATE objects SET state=?, updated_at=?, final_path=?, error=?, action=?, move_attempts=?, failed_since=?,"
    " ctime_ns=? WHERE id=?",
    "INSERT INTO tasks(object_id,rule,seq,state,attempts,interrupted,next_at,waiting_for) VALUES(?,?,?,?,?,?,?,?)",
    "UPDATE tasks SET state=?, attempts=?, interrupted=?, next_at=?, waiting_for=? WHERE object_id=? AND rule=?",
    "INSERT INTO runs(run_id,object_id,key,rule,attempt,state,started_at,node) VALUES(?,?,?,?,?,?,?,?)",
    "UPDATE runs SET state=?, ended_at=?, duration_ms=?, exit_code=?, signal=?, error=?, stdout_tail=?,"
    " stderr_tail=?, result=? WHERE run_id=?",
    "UPDATE runs SET pid=?, pgid=?, proc_start=? WHERE run_id=?",
    "INSERT INTO outbox(delivery_id,target,event,key,rule,body,state,attempts,next_at,created_at,updated_at,node)"
    " VALUES(?,?,?,?,?,?,'pending',0,?,?,?,?)",
    "INSERT INTO delivery_attempts(outbox_id,attempt,time,delivered,status,detail) VALUES(?,?,?,?,?,?)"
    " ON CONFLICT(outbox_id,attempt) DO UPDATE SET time=excluded.time, delivered=excluded.delivered,"
    " status=excluded.status, detail=excluded.detail",
    "UPDATE outbox SET state=?, attempts=?, next_at=?, updated_at=?, last_status=?, last_detail=? WHERE id=?",
    select(kObjectColumns, " FROM objects WHERE key=? ORDER BY id DESC LIMIT 1"),
    select(kObjectColumns, " FROM objects WHERE id=?"),
    select(kObjectColumns,
           " FROM objects WHERE (state IN ('pending','succeeded','failed','move_failed')"
           " OR (state='duplicate' AND action='duplicate' AND final_path IS NULL)) AND COALESCE(node,'')=?"
           " ORDER BY id"),
    "SELECT object_id,rule,seq,state,attempts,interrupted,next_at,waiting_for FROM tasks WHERE object_id=? ORDER BY seq",
    // The owner's own reads of runs select node on both backends (an owner's state is migrated);
    // read_run_row takes it on PostgreSQL only (has_nodes).
    select(run_columns(true), " FROM runs WHERE state=? AND COALESCE(node,'')=? ORDER BY id"),
    select(run_columns(true), " FROM runs WHERE object_id=? AND state IN ('failed','timed_out') ORDER BY id"),
    select(kOutboxColumns,
           " FROM outbox WHERE state='pending' AND next_at<=? AND COALESCE(node,'')=? ORDER BY next_at, id LIMIT ?"),
    "SELECT state, COUNT(*) FROM outbox WHERE state IN ('pending','dead') GROUP BY state",
    "INSERT INTO rule_successes(rule, first_at, object_id) VALUES(?,?,?) ON CONFLICT(rule) DO NOTHING",
    "SELECT rule FROM rule_successes ORDER BY rule",
    "INSERT INTO events(time,event,key,rule,run_id,attempt,detail,node) VALUES(?,?,?,?,?,?,?,?) RETURNING id",
    "SELECT 1 FROM objects WHERE key=? AND size=? AND mtime_ns=? AND inode=?"
    " AND (ctime_ns=? OR (CAST(? AS TEXT)<>'' AND etag=?)) AND COALESCE(node,'')<>? LIMIT 1",
};

Store::Store(const std::filesystem::path& path, Mode mode, const Clock& clock, std::optional<NodeOptions> node)
    : path_(path), mode_(mode), clock_(clock), stmts_(static_cast<size_t>(Q::count)),
      node_(mode == Mode::owner ? std::move(node) : std::nullopt) {
  static_assert(sizeof kSql / sizeof kSql[0] == static_cast<int>(Q::count));
  // Every error names the state (DESIGN.md "Faults at run time": every message names its file).
  try {
    if (sql::is_postgres_url(path.string())) open_postgres(mode);
    else open_sqlite(mode);
    if (mode == Mode::owner && !is_postgres()) {
      next_object_id_ = max_of(Q::max_object_id) + 1;
      next_event_id_ = max_of(Q::max_event_id) + 1;
    }
    has_nodes_ = is_postgres() && schema_version(db_) >= 6;
    if (node_) {
      epoch_ = register_node(db_, *node_);
      if (is_postgres()) check_lease_ = db_.prepare(check_lease_sql());
      else renew_ = db_.prepare(renew_lease_sql(db_.dialect()));
    } else if (schema_version(db_) > kSchemaVersion) {
      throw sql::StoreError("state DB " + display() + " is newer than this hivehook", SQLITE_ERROR);
    }
  } catch (const sql::StoreError& e) {
    const std::string what = e.what();
    if (what.find(display()) != std::string::npos) throw;
    throw sql::StoreError("state DB " + display() + ": " + what, e.code(), e.sqlstate());
  }
}

int64_t Store::max_of(Q id) {
  auto& st = q(id);
  st.step();
  int64_t v = st.int64(0);
  st.reset();
  return v;
}

void Store::open_postgres(Mode mode) {
  db_ = sql::open_postgres(path_.string());
  sql::require_byte_transparent(db_, path_.string());
  if (mode == Mode::owner) {
    // The writer lock: one owner writes, and a session lost and found again writes only if it
    // still is that owner (hold_session_lock). "hhwriter" as a number.
    // Per node in a cluster ("hhwr" and the node's name as a number): nodes of other names write beside it.
    const std::string who = node_ ? "node " + node_->name : std::string("another hivehook");
    sql::hold_session_lock(db_, node_ ? node_lock_key(0x68687772u, node_->name) : 0x6868777269746572LL,
                           "state DB " + display() + " is owned by " + who + " (its writer lock is held); "
                           "only one `run` or `scan` may use it " + (node_ ? "as that node" : "at a time"));
    migrate(db_);
  } else {
    db_.exec("SET default_transaction_read_only = on");
    if (schema_version(db_) == 0) throw sql::StoreError("no hivehook state in " + display() + " yet", SQLITE_NOTFOUND);
  }
}

void Store::open_sqlite(Mode mode) {
  const std::filesystem::path& path = path_;
  if (mode == Mode::owner) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    // Create with 0600 before SQLite does, so the audit trail is private from the first byte.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::fchmod(fd, 0600);
      ::close(fd);
    }
    db_ = sql::open_sqlite(path.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec("PRAGMA synchronous=NORMAL");
    db_.exec("PRAGMA foreign_keys=OFF");
    db_.exec("PRAGMA cache_size=-16384");
    db_.exec("PRAGMA wal_autocheckpoint=4000");
    migrate(db_);
  } else {
    db_ = sql::open_sqlite(path.string(), SQLITE_OPEN_READONLY);
  }
}

std::string Store::display() const {
  return sql::is_postgres_url(path_.string()) ? sql::redact_url(path_.string()) : path_.string();
}

Store::~Store() {
  batch_.reset();
  keeper_.reset();  // no renewal after the node has left
  if (node_ && epoch_ && !fault_) leave_cluster(db_, node_->name, epoch_);
}

std::optional<std::string> Store::node_param() const {
  if (!node_) return std::nullopt;
  return node_->name;
}

// The lease's check in a batch (store/nodes.h check_lease_sql). It locks the node's row FOR KEY
// SHARE until the batch ends: the keeper's renewals go on beside it, a takeover (FOR UPDATE) waits
// for the batch or skips the node, so either this batch commits first or it is refused.
void Store::check_lease_in_batch() {
  auto& st = check_lease_;
  st.bind(1, node_->name).bind(2, epoch_);
  const bool held = st.step();
  st.reset();
  if (!held) throw lease_lost();
}

sql::StoreError Store::lease_lost() const {
  return sql::StoreError("state DB " + display() + ": node " + node_->name + " lost its lease (epoch " +
                             std::to_string(epoch_) + "): its work may be another node's now, so this batch is "
                             "refused whole; the node stops",
                         SQLITE_PERM, "55P03");
}

bool Store::keep_lease(LeaseKeeper::OnLost on_lost) {
  if (!node_ || !is_postgres() || mode_ != Mode::owner) return false;
  if (!keeper_) keeper_ = std::make_unique<LeaseKeeper>(path_.string(), display(), node_->name, epoch_, node_->lease,
                                                        std::move(on_lost));
  return true;
}

std::vector<Takeover> Store::take_over_expired_nodes() {
  if (!node_ || !is_postgres() || mode_ != Mode::owner) return {};
  try {
    if (!takeover_db_) {
      takeover_db_ = sql::open_postgres(path_.string());
      takeover_db_.exec("SET application_name = 'hivehook takeover " + node_->name + "'");
    }
    return hivehook::take_over_expired_nodes(takeover_db_, node_->name, epoch_);
  } catch (const sql::StoreError& e) {
    throw sql::StoreError("state DB " + display() + ": " + e.what(), e.code(), e.sqlstate());
  }
}

bool Store::renew_lease() {
  if (!node_ || is_postgres() || in_batch() || fault_) return false;
  try {
    renew_.bind(1, static_cast<int64_t>(node_->lease.count())).bind(2, node_->name).bind(3, epoch_);
    renew_.run();
    if (db_.changes() != 1) throw lease_lost();
    return true;
  } catch (const sql::StoreError& e) {
    if (storage_fault(e.code())) return false;
    throw;
  }
}

Store::Claim Store::claim_object(const ObjectRecord& o) {
  if (!node_ || !is_postgres()) return Claim::mine;
  if (fault_) return Claim::busy;
  try {
    ensure_batch();
    // Held until the batch commits: a node recording an object of this key meanwhile waits or
    // backs off (pg_try_: never a deadlock between two batches claiming keys in other orders).
    auto lock = db_.prepare("SELECT pg_try_advisory_xact_lock(1751607147, hashtext(CAST(? AS TEXT)))");
    lock.bind(1, o.key);
    if (!lock.step() || lock.text(0) != "t") return Claim::busy;
    auto& st = q(Q::same_file_elsewhere);
    st.bind(1, o.key).bind(2, static_cast<int64_t>(o.size)).bind(3, o.mtime_ns).bind(4, static_cast<int64_t>(o.inode))
        .bind(5, o.ctime_ns).bind(6, o.etag).bind(7, o.etag).bind(8, node_->name);
    const bool taken = st.step();
    st.reset();
    return taken ? Claim::taken : Claim::mine;
  } catch (const sql::StoreError& e) {
    if (!storage_fault(e.code())) throw;
    degrade(e);
    return Claim::busy;
  }
}

int64_t Store::take_sequence_id(std::vector<int64_t>& pool, const char* table) {
  if (pool.empty()) {
    auto st = db_.prepare(std::string("SELECT nextval(pg_get_serial_sequence('") + table +
                          "', 'id')) FROM generate_series(1, 64) ORDER BY 1 DESC");
    while (st.step()) pool.push_back(st.int64(0));
  }
  const int64_t id = pool.back();
  pool.pop_back();
  return id;
}

sql::Statement& Store::q(Q id) {
  auto& st = stmts_[static_cast<size_t>(id)];
  if (!st) st = db_.prepare(id == Q::begin ? std::string(db_.begin_sql()) : kSql[static_cast<int>(id)]);
  return st;
}

void Store::ensure_batch() {
  if (batch_) return;
  batch_.emplace(db_, q(Q::begin), q(Q::commit), q(Q::rollback));
  if (!node_ || !is_postgres()) return;
  try {
    check_lease_in_batch();
  } catch (...) {
    batch_.reset();
    throw;
  }
}

void Store::run_update(sql::Statement& st, const std::string& what) {
  st.run();
  if (db_.changes() != 1)
    throw sql::StoreError("state DB " + display() + ": " + what + " changed " + std::to_string(db_.changes()) +
                              " rows, expected 1",
                          SQLITE_MISMATCH);
}

bool Store::storage_fault(int code) {
  switch (code & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

std::string Store::redacted(std::string text) const { return redact_ ? redact_(std::move(text)) : text; }

// One write: applied at once inside the open batch, and kept so that a batch whose storage failed
// can be written again, whole, when the disk accepts writes again.
void Store::write(std::function<void()> op) {
  journal_.push_back(std::move(op));
  if (fault_) return;  // degraded: kept for the replay
  try {
    ensure_batch();
    journal_.back()();
  } catch (const sql::StoreError& e) {
    if (!storage_fault(e.code())) {
      journal_.pop_back();  // refused (not a storage fault): never replayed
      throw;
    }
    degrade(e);
  }
}

void Store::degrade(const sql::StoreError& e) {
  batch_.reset();  // rolled back: the journal holds every write since the last commit
  if (!fault_) fault_ = "state DB " + display() + " not writable: " + e.what();
}

std::vector<AuditEvent> Store::commit() {
  std::vector<AuditEvent> out;
  if (journal_.empty() && !batch_) return out;
  try {
    if (fault_) {  // write the whole batch again: the storage may be back
      ensure_batch();
      for (auto& op : journal_) op();
    }
    if (batch_) {
      // The lease is checked again as the batch's last statement: a node stopped in the middle of
      // a batch for longer than its lease (its check at the start passed) must not commit it.
      // Until COMMIT the node's row stays locked FOR KEY SHARE, so no takeover comes in between.
      if (node_ && is_postgres()) check_lease_in_batch();
      batch_->commit();
    }
    batch_.reset();
  } catch (const sql::StoreError& e) {
    if (!storage_fault(e.code())) {
      batch_.reset();  // rolled back now: a batch refused (a lost lease) holds no lock on the node's row
      throw;
    }
    fault_.reset();
    degrade(e);
    return out;
  }
  fault_.reset();
  journal_.clear();
  out.swap(batch_events_);
  return out;
}

int64_t Store::add_event(AuditEvent e) {
  if (e.time_ms == 0) e.time_ms = clock_.now_ms();
  std::string detail = e.detail.is_null() ? std::string() : redacted(safe_dump(e.detail));
  if (!detail.empty() && redact_) e.detail = nlohmann::json::parse(detail, nullptr, false);
  if (is_postgres()) {
    // The id comes from the table's sequence when the row is written (several nodes insert events;
    // a batch written again gets fresh ones), and is set on the event the commit returns.
    e.id = 0;
    e.node = node_param();
    const size_t index = batch_events_.size();
    batch_events_.push_back(e);
    struct Unpush {  // refused (not a storage fault): the event is not part of the batch
      std::vector<AuditEvent>& v;
      size_t size;
      bool done = false;
      ~Unpush() { if (!done && v.size() > size) v.resize(size); }
    } unpush{batch_events_, index};
    write([this, e, detail, index] {
      auto& st = q(Q::insert_event_returning);
      st.bind(1, e.time_ms).bind(2, e.event).bind(3, e.key).bind(4, e.rule).bind(5, e.run_id);
      if (e.attempt) st.bind(6, *e.attempt); else st.bind(6, std::nullopt);
      st.bind(7, nonempty(detail)).bind(8, node_param());
      if (!st.step()) throw sql::StoreError("state DB " + display() + ": an event insert returned no id", SQLITE_ERROR);
      const int64_t id = st.int64(0);
      st.reset();
      if (index < batch_events_.size()) batch_events_[index].id = id;
    });
    unpush.done = true;
    return 0;
  }
  e.id = next_event_id_++;
  write([this, e, detail] {
    auto& st = q(Q::insert_event);
    st.bind(1, e.id).bind(2, e.time_ms).bind(3, e.event).bind(4, e.key).bind(5, e.rule).bind(6, e.run_id);
    if (e.attempt) st.bind(7, *e.attempt); else st.bind(7, std::nullopt);
    st.bind(8, nonempty(detail)).bind(9, node_param());
    st.run();
  });
  batch_events_.push_back(std::move(e));
  return batch_events_.back().id;
}

void Store::continue_event_ids_after(int64_t id) {
  next_event_id_ = std::max(next_event_id_, id + 1);
  if (!is_postgres() || mode_ != Mode::owner) return;
  auto st = db_.prepare(
      "SELECT CASE WHEN (SELECT COALESCE(MAX(id), 0) FROM events) < ? THEN"
      " setval(pg_get_serial_sequence('events', 'id'), ?) END");
  st.bind(1, id).bind(2, id);
  st.run();
}

int64_t Store::next_object_id() {
  if (is_postgres()) return take_sequence_id(object_ids_, "objects");
  return next_object_id_++;
}

void Store::insert_object(const ObjectRecord& in) {
  ObjectRecord o = in;
  o.error = redacted(o.error);
  write([this, o] {
    auto& st = q(Q::insert_object);
    st.bind(1, o.id).bind(2, o.key).bind(3, static_cast<int64_t>(o.size)).bind(4, o.mtime_ns)
        .bind(5, static_cast<int64_t>(o.inode)).bind(6, o.etag).bind(7, o.sequencer).bind(8, to_string(o.state))
        .bind(9, o.discovered_at).bind(10, o.updated_at ? o.updated_at : o.discovered_at)
        .bind(11, nonempty(o.final_path)).bind(12, nonempty(o.error)).bind(13, o.ctime_ns).bind(14, nonempty(o.action))
        .bind(15, o.move_attempts).bind(16, o.failed_since).bind(17, node_param());
    st.run();
  });
  if (o.id >= next_object_id_) next_object_id_ = o.id + 1;
}

void Store::update_object(const ObjectRecord& in) {
  ObjectRecord o = in;
  o.error = redacted(o.error);
  const int64_t now = clock_.now_ms();
  write([this, o, now] {
    auto& st = q(Q::update_object);
    st.bind(1, to_string(o.state)).bind(2, now).bind(3, nonempty(o.final_path)).bind(4, nonempty(o.error))
        .bind(5, nonempty(o.action)).bind(6, o.move_attempts).bind(7, o.failed_since).bind(8, o.ctime_ns)
        .bind(9, o.id);  // ctime: a change of metadata only is recorded (issue 16 retest P9)
    run_update(st, "object " + std::to_string(o.id));
  });
}

void Store::insert_task(const TaskRecord& t) {
  write([this, t] {
    auto& st = q(Q::insert_task);
    st.bind(1, t.object_id).bind(2, t.rule).bind(3, t.seq).bind(4, to_string(t.state)).bind(5, t.attempts)
        .bind(6, t.interrupted).bind(7, t.next_at).bind(8, nonempty(t.waiting_for));
    st.run();
  });
}

void Store::update_task(const TaskRecord& t) {
  write([this, t] {
    auto& st = q(Q::update_task);
    st.bind(1, to_string(t.state)).bind(2, t.attempts).bind(3, t.interrupted).bind(4, t.next_at)
        .bind(5, nonempty(t.waiting_for)).bind(6, t.object_id).bind(7, t.rule);
    run_update(st, "task " + std::to_string(t.object_id) + "/" + t.rule);
  });
}

void Store::record_rule_success(const std::string& rule, int64_t object_id) {
  const int64_t now = clock_.now_ms();
  write([this, rule, object_id, now] {
    auto& st = q(Q::insert_rule_success);
    st.bind(1, rule).bind(2, now).bind(3, object_id);
    st.run();
    if (node_ && is_postgres()) {
      // Other nodes' objects waiting for this rule (`requires:`) are released within milliseconds:
      // a NOTIFY in the batch is delivered when it commits (store/notify_listener.h).
      auto wake = db_.prepare("SELECT pg_notify('hivehook', ?)");
      wake.bind(1, "success " + rule);
      wake.step();
    }
  });
}

std::vector<std::string> Store::rules_succeeded() {
  auto& st = q(Q::rules_succeeded);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  st.reset();
  return out;
}

void Store::insert_run(const RunRecord& r) {
  write([this, r] {
    auto& st = q(Q::insert_run);
    st.bind(1, r.run_id).bind(2, r.object_id).bind(3, r.key).bind(4, r.rule).bind(5, r.attempt)
        .bind(6, to_string(r.state)).bind(7, r.started_at).bind(8, node_param());
    st.run();
  });
}

void Store::finish_run(const RunRecord& in) {
  RunRecord r = in;
  r.error = redacted(r.error);
  r.stdout_tail = redacted(r.stdout_tail);
  r.stderr_tail = redacted(r.stderr_tail);
  r.result = redacted(r.result);
  write([this, r] {
    auto& st = q(Q::finish_run);
    st.bind(1, to_string(r.state)).bind(2, r.ended_at).bind(3, r.duration_ms).bind(4, r.exit_code)
        .bind(5, r.signal).bind(6, nonempty(r.error)).bind(7, nonempty(r.stdout_tail))
        .bind(8, nonempty(r.stderr_tail)).bind(9, nonempty(r.result)).bind(10, r.run_id);
    run_update(st, "run " + r.run_id);
  });
}

void Store::record_run_process(const RunRecord& r) {
  write([this, r] {
    auto& st = q(Q::run_process);
    st.bind(1, r.pid).bind(2, r.pgid).bind(3, r.proc_start).bind(4, r.run_id);
    run_update(st, "run " + r.run_id);
  });
}

void Store::enqueue_outbox(const OutboxRecord& in) {
  OutboxRecord o = in;
  o.body = redacted(o.body);
  const int64_t now = clock_.now_ms();
  write([this, o, now] {
    auto& st = q(Q::enqueue_outbox);
    st.bind(1, o.delivery_id).bind(2, o.target).bind(3, o.event).bind(4, o.key).bind(5, o.rule).bind(6, o.body)
        .bind(7, o.next_at ? o.next_at : now).bind(8, o.created_at ? o.created_at : now).bind(9, now)
        .bind(10, node_param());
    st.run();
  });
}

void Store::record_delivery(int64_t outbox_id, int attempt, bool delivered, long status, const std::string& raw_detail,
                            const std::string& new_state, int64_t next_at) {
  const int64_t now = clock_.now_ms();
  std::optional<int64_t> code;
  if (status) code = status;
  write([this, outbox_id, attempt, delivered, code, detail = redacted(raw_detail), new_state, next_at, now] {
    auto& a = q(Q::insert_delivery);
    a.bind(1, outbox_id).bind(2, attempt).bind(3, now).bind(4, delivered ? 1 : 0).bind(5, code).bind(6, detail);
    a.run();
    auto& u = q(Q::update_outbox);
    u.bind(1, new_state).bind(2, attempt).bind(3, next_at).bind(4, now).bind(5, code).bind(6, detail)
        .bind(7, outbox_id);
    run_update(u, "outbox entry " + std::to_string(outbox_id));
  });
}

std::optional<ObjectRecord> Store::last_object(const std::string& key) {
  auto& st = q(Q::last_object);
  st.bind(1, key);
  std::optional<ObjectRecord> out;
  if (st.step()) out = read_object_row(st);
  st.reset();
  return out;
}

std::optional<ObjectRecord> Store::object(int64_t id) {
  auto& st = q(Q::object_by_id);
  st.bind(1, id);
  std::optional<ObjectRecord> out;
  if (st.step()) out = read_object_row(st);
  st.reset();
  return out;
}

std::vector<ObjectRecord> Store::unfinished_objects() {
  auto& st = q(Q::unfinished_objects);
  st.bind(1, node());
  std::vector<ObjectRecord> out;
  while (st.step()) out.push_back(read_object_row(st));
  st.reset();
  return out;
}

std::vector<TaskRecord> Store::tasks_of(int64_t object_id) {
  auto& st = q(Q::tasks_of);
  st.bind(1, object_id);
  std::vector<TaskRecord> out;
  while (st.step()) {
    TaskRecord t;
    t.object_id = st.int64(0);
    t.rule = st.text(1);
    t.seq = static_cast<int>(st.int64(2));
    t.state = task_state_from(st.text(3)).value_or(TaskState::queued);
    t.attempts = static_cast<int>(st.int64(4));
    t.interrupted = static_cast<int>(st.int64(5));
    t.next_at = opt_int(st, 6);
    t.waiting_for = opt_text(st, 7).value_or("");
    out.push_back(std::move(t));
  }
  st.reset();
  return out;
}

std::vector<RunRecord> Store::runs_in_state(RunState state) {
  auto& st = q(Q::runs_in_state);
  st.bind(1, to_string(state)).bind(2, node());
  std::vector<RunRecord> out;
  while (st.step()) out.push_back(read_run_row(st, has_nodes_));
  st.reset();
  return out;
}

std::string run_columns(bool with_node) { return std::string(kRunColumns) + (with_node ? ",node" : ""); }

RunRecord read_run_row(sql::Statement& st, bool with_node) {
  RunRecord r;
  r.id = st.int64(0);
  r.run_id = st.text(1);
  r.object_id = st.int64(2);
  r.key = st.text(3);
  r.rule = st.text(4);
  r.attempt = static_cast<int>(st.int64(5));
  r.state = run_state_from(st.text(6)).value_or(RunState::started);
  r.started_at = st.int64(7);
  r.ended_at = opt_int(st, 8);
  r.duration_ms = opt_int(st, 9);
  r.exit_code = opt_int(st, 10);
  r.signal = opt_int(st, 11);
  r.error = st.text(12);
  r.stdout_tail = st.text(13);
  r.stderr_tail = st.text(14);
  r.result = st.text(15);
  r.pid = opt_int(st, 16);
  r.pgid = opt_int(st, 17);
  r.proc_start = opt_int(st, 18);
  if (with_node) r.node = opt_text(st, 19).value_or("");
  return r;
}

std::vector<RunRecord> Store::failed_runs_of(int64_t object_id) {
  auto& st = q(Q::failed_runs_of);
  st.bind(1, object_id);
  std::vector<RunRecord> out;
  while (st.step()) out.push_back(read_run_row(st, has_nodes_));
  st.reset();
  return out;
}

OutboxRecord read_outbox_row(sql::Statement& st) {
  OutboxRecord o;
  o.id = st.int64(0);
  o.delivery_id = st.text(1);
  o.target = st.text(2);
  o.event = st.text(3);
  o.key = opt_text(st, 4);
  o.rule = opt_text(st, 5);
  o.body = st.text(6);
  o.state = st.text(7);
  o.attempts = static_cast<int>(st.int64(8));
  o.next_at = st.int64(9);
  o.created_at = st.int64(10);
  o.last_status = opt_int(st, 11);
  o.last_detail = st.text(12);
  o.updated_at = st.int64(13);
  return o;
}

std::vector<OutboxRecord> Store::pending_outbox(int64_t due_before_ms, int limit) {
  auto& st = q(Q::pending_outbox);
  st.bind(1, due_before_ms).bind(2, node()).bind(3, limit);
  std::vector<OutboxRecord> out;
  while (st.step()) out.push_back(read_outbox_row(st));
  st.reset();
  return out;
}

OutboxCounts Store::outbox_counts() {
  auto& st = q(Q::outbox_counts);
  OutboxCounts c;
  while (st.step()) (st.text(0) == "pending" ? c.pending : c.dead) = static_cast<uint64_t>(st.int64(1));
  st.reset();
  return c;
}

int64_t Store::last_event_id() {
  auto& st = q(Q::max_event_id);
  st.step();
  int64_t v = st.int64(0);
  st.reset();
  return v;
}

std::vector<AuditEvent> Store::events_after(int64_t after_id, int limit, bool mine) {
  return events_between(after_id, std::numeric_limits<int64_t>::max(), limit, mine);
}

std::vector<AuditEvent> Store::events_between(int64_t after_id, int64_t up_to_id, int limit, bool mine) {
  const bool by_node = mine && node_ && is_postgres();
  auto st = db_.prepare(std::string("SELECT ") + event_columns(is_postgres()) + " FROM events WHERE id>? AND id<=?" +
                        (by_node ? " AND node=?" : "") + " ORDER BY id LIMIT ?");
  st.bind(1, after_id).bind(2, up_to_id);
  if (by_node) st.bind(3, node_->name).bind(4, limit);
  else st.bind(3, limit);
  std::vector<AuditEvent> out;
  while (st.step()) out.push_back(read_event_row(st, is_postgres()));
  return out;
}

int64_t Store::count_events_between(int64_t after_id, int64_t up_to_id, bool mine) {
  const bool by_node = mine && node_ && is_postgres();
  auto st = db_.prepare(std::string("SELECT COUNT(*) FROM events WHERE id>? AND id<=?") + (by_node ? " AND node=?" : ""));
  st.bind(1, after_id).bind(2, up_to_id);
  if (by_node) st.bind(3, node_->name);
  return st.step() ? st.int64(0) : 0;
}

}  // namespace hivehook
