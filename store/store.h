// The state store: the single source of truth for objects, tasks, runs, audit events and the
// notification outbox, in SQLite (WAL; the default) or PostgreSQL (`state: postgresql://...`), the
// same tables and statements on both (store/sql.h). One owner writes (the daemon's loop thread, in
// batches that commit many transitions at once); readers (`status`, `audit`, `runs`) open it
// read-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "store/event.h"
#include "store/lease_keeper.h"
#include "store/nodes.h"
#include "store/sql.h"
#include "store/states.h"

namespace hivehook {

struct ObjectRecord {
  int64_t id = 0;
  std::string key;
  // Identity (DESIGN.md "Only complete files"): inode, size, mtime, ctime at discovery, plus eTag.
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  std::string etag;
  std::string sequencer;
  ObjectState state = ObjectState::pending;
  int64_t discovered_at = 0;
  int64_t updated_at = 0;
  std::string final_path;
  std::string error;     // why it is ignored, the last failed move, or (quarantined, failed_kept) why its rules failed
  std::string action;    // the final action decided with the outcome (archive|delete|keep|quarantine|keep_failed|duplicate)
  int move_attempts = 0;  // failed moves so far
  std::optional<int64_t> failed_since;  // unix ms of the first failed move while move_failed
};

struct TaskRecord {
  int64_t object_id = 0;
  std::string rule;
  int seq = 0;
  TaskState state = TaskState::queued;
  int attempts = 0;     // runs started
  int interrupted = 0;  // runs cut off by a crash or shutdown (not held against retries)
  std::optional<int64_t> next_at;
  // While `waiting`: what for, as JSON {"after": [RULE...], "requires": [RULE...]}; else empty.
  std::string waiting_for;
};

struct RunRecord {
  int64_t id = 0;
  std::string run_id;
  int64_t object_id = 0;
  std::string key;
  std::string rule;
  int attempt = 1;
  RunState state = RunState::started;
  int64_t started_at = 0;
  std::optional<int64_t> ended_at, duration_ms, exit_code, signal;
  std::string error, stdout_tail, stderr_tail, result;
  // The process that ran it (recovery kills an orphaned group): pid, process group, and its start
  // time (/proc/<pid>/stat starttime) so a reused pid is never mistaken for it.
  std::optional<int64_t> pid, pgid, proc_start;
  // Cluster mode (PostgreSQL state, docs/cluster.md): the node that ran it, as the runs table has it
  // (migration 6). Empty on SQLite (one node, as for events: Store::has_nodes) and for rows written
  // before migration 6. Filled by every query that reads runs; not written from here (insert_run
  // records the store's own node).
  std::string node;
};

struct OutboxRecord {
  int64_t id = 0;
  std::string delivery_id;
  std::string target;
  std::string event;
  std::optional<std::string> key, rule;
  std::string body;  // JSON
  std::string state = "pending";  // pending | sent | dead
  int attempts = 0;
  int64_t next_at = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> last_status;
  std::string last_detail;
};

struct OutboxCounts {
  uint64_t pending = 0;
  uint64_t dead = 0;
};

class Store {
 public:
  enum class Mode { owner, reader };

  // Opens (owner: creating with mode 0600, WAL, migrations) or throws sql::StoreError naming the
  // file. `path` holding a postgresql:// (or postgres://) URL opens PostgreSQL instead (owner:
  // migrations; reader: a read-only session). `clock` stamps every row and event (a test passes a
  // manual one). `node` (owner only; store/nodes.h): the owner is that node of a cluster — it is
  // registered with a new epoch, its writer lock is its own (PostgreSQL: other nodes write beside
  // it), every object, run, event and notification it writes carries its name, recovery and delivery
  // read only its own, and on PostgreSQL every batch checks its lease first and last and is
  // refused whole once the lease was lost. Without one, the store is the state's single writer.
  Store(const std::filesystem::path& path, Mode mode, const Clock& clock = SystemClock::instance(),
        std::optional<NodeOptions> node = std::nullopt);
  ~Store();  // an uncommitted batch is rolled back
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The state for messages: the SQLite file, or the PostgreSQL URL with its password masked.
  std::string display() const;
  bool is_postgres() const { return db_.dialect() == sql::Dialect::postgresql; }
  // Rows name their node to readers: a PostgreSQL state at migration 6 or later (cluster mode). A
  // SQLite state has one node, so events and runs read there carry none (event_columns,
  // run_columns).
  bool has_nodes() const { return has_nodes_; }
  sql::Db& db() { return db_; }  // for the read-only queries of store/queries.cpp
  // The node this owner is ("" without one) and its epoch (the fencing token; 0 without a node).
  const std::string& node() const { return node_ ? node_->name : empty_; }
  int64_t epoch() const { return epoch_; }
  // Keeps the node's lease renewed on its own schedule (PostgreSQL node: a LeaseKeeper, on its own
  // connection and thread; `on_lost` is called on that thread, once, with the message, when the
  // lease was found lost — the node must stop). Returns false where there is none to keep that way
  // (no node, or SQLite: renew_lease() from the loop). Throws sql::StoreError when the keeper's
  // connection cannot be opened.
  bool keep_lease(LeaseKeeper::OnLost on_lost);
  // SQLite: renews the node's lease now, outside a batch (the loop's heartbeat). False when there is
  // no node, a keeper renews it (PostgreSQL), the store is busy with a batch, or the storage
  // refused (tried again at the next beat); throws sql::StoreError (SQLITE_PERM) when the lease
  // was lost: the node must stop.
  bool renew_lease();
  // Cluster mode on PostgreSQL: takes over the work of every other node whose lease ran out
  // (store/nodes.h take_over_expired_nodes), on a connection of its own, committed at once whatever
  // batch is open on the store's own; its rows are read through the store right after (they are
  // this node's now). Returns one entry per node taken over (none mostly; always none without a
  // node or on SQLite). Throws sql::StoreError: SQLITE_PERM when this node lost its own lease, a
  // storage fault's code when PostgreSQL could not be reached (try again later).
  std::vector<Takeover> take_over_expired_nodes();
  // Objects inserted once across the cluster: before recording a new object for `key` with identity
  // `o` (its size, mtime, inode, and its ctime, or its eTag when `o` has one: a chmod between two
  // nodes' looks moves the ctime only, issue 16 retest P9), the caller claims it. taken: another node already recorded
  // that very file (drop it); busy: another node is recording an object of that key right now, or
  // the storage refused (offer it again shortly); mine: go on — the claim holds until the batch
  // commits. Always mine without a node or on SQLite (one writer).
  enum class Claim { mine, taken, busy };
  Claim claim_object(const ObjectRecord& o);

  // ---- batching (owner) -------------------------------------------------------------------
  // Writes open a transaction (BEGIN IMMEDIATE) lazily; commit() makes every transition since
  // then durable at once and returns the events it wrote, in order, for the audit.jsonl mirror.
  // The open batch is an RAII transaction: destroyed uncommitted (an exception, a crash of the
  // caller) it is rolled back, never half-written.
  bool in_batch() const { return batch_.has_value() || !journal_.empty(); }
  // One write of the batch (for store/ modules with tables of their own, e.g. orchestration_state):
  // run at once inside the open batch and journaled, so that a batch the storage refused is written
  // again, whole, by a later commit(). `op` binds and runs its statements; it may run more than once.
  void write(std::function<void()> op);
  // Commits the batch. When the storage refuses (disk full, read-only, I/O error: SQLite's FULL,
  // IOERR, READONLY, CANTOPEN, BUSY) nothing is lost: the batch is rolled back and kept, the store
  // is degraded (fault() says why), further writes are kept too, and each later commit() writes
  // them all again; the first that succeeds ends the fault. Other errors throw sql::StoreError.
  // Returns the events made durable (none while degraded).
  std::vector<AuditEvent> commit();
  // Why writes fail now ("state DB /x/hh.db not writable: database or disk is full"), or nullopt.
  const std::optional<std::string>& fault() const { return fault_; }
  // Secrets redacted from every text the store writes (event details, errors, output tails,
  // notification bodies and delivery details).
  void set_redactor(std::function<std::string(std::string)> redact) { redact_ = std::move(redact); }
  // `text` through that redactor (unchanged when none is set): for text cut before it is written.
  std::string mask(std::string text) const { return redacted(std::move(text)); }

  // ---- writes (owner) ---------------------------------------------------------------------
  // Each update checks that it changed exactly the row it names (sql::StoreError otherwise).
  int64_t add_event(AuditEvent e);
  // Event ids continue after `id` at least (a new store beside an existing audit.jsonl: the
  // mirror's ids never go backwards).
  // (PostgreSQL: the events' sequence is moved past `id` when the table is behind it.)
  void continue_event_ids_after(int64_t id);
  int64_t next_object_id();
  void insert_object(const ObjectRecord& o);
  // Writes the object's state, final_path, error, action and move bookkeeping as `o` holds them.
  void update_object(const ObjectRecord& o);
  void insert_task(const TaskRecord& t);
  void update_task(const TaskRecord& t);
  void insert_run(const RunRecord& r);
  void finish_run(const RunRecord& r);
  // The process a run was spawned as (pid, pgid, proc_start of `r`).
  void record_run_process(const RunRecord& r);
  // The first success of a rule on any object, kept forever (what `requires:` waits for); a later
  // success changes nothing. Cluster mode: also `NOTIFY hivehook, 'success RULE'` at the commit, so
  // that the other nodes release the objects waiting for it at once.
  void record_rule_success(const std::string& rule, int64_t object_id);
  void enqueue_outbox(const OutboxRecord& o);
  // One delivery attempt's outcome; state/next_at say what happens next.
  void record_delivery(int64_t outbox_id, int attempt, bool delivered, long status, const std::string& detail,
                       const std::string& new_state, int64_t next_at);

  // ---- reads --------------------------------------------------------------------------------
  std::optional<ObjectRecord> last_object(const std::string& key);
  std::optional<ObjectRecord> object(int64_t id);
  // Objects not at their end yet (pending; decided but not moved; a failed move; a duplicate not
  // yet moved), oldest first: recovery.
  std::vector<ObjectRecord> unfinished_objects();
  std::vector<TaskRecord> tasks_of(int64_t object_id);
  // Every rule that has succeeded at least once, on any object (sorted).
  std::vector<std::string> rules_succeeded();
  std::vector<RunRecord> runs_in_state(RunState state);
  // An object's failed and timed-out runs, oldest first (its quarantine report after a restart).
  std::vector<RunRecord> failed_runs_of(int64_t object_id);
  std::vector<OutboxRecord> pending_outbox(int64_t due_before_ms, int limit);
  OutboxCounts outbox_counts();
  int64_t last_event_id();
  // Events with id > after_id, oldest first (`mine`: only those this node wrote).
  std::vector<AuditEvent> events_after(int64_t after_id, int limit, bool mine = false);
  // Events with after_id < id <= up_to_id, oldest first (`mine` as above); at most `limit`.
  std::vector<AuditEvent> events_between(int64_t after_id, int64_t up_to_id, int limit, bool mine = false);
  // How many events have after_id < id <= up_to_id (`mine` as above): one indexed count, for the
  // audit mirror's look for events that became visible below ids it already mirrored.
  int64_t count_events_between(int64_t after_id, int64_t up_to_id, bool mine = false);

 private:
  // Every statement the store runs, prepared once at open and reused (kSql holds the texts).
  enum class Q {
    begin, commit, rollback, max_object_id, max_event_id, insert_event, insert_object, update_object,
    insert_task, update_task, insert_run, finish_run, run_process, enqueue_outbox, insert_delivery, update_outbox,
    last_object, object_by_id, unfinished_objects, tasks_of, runs_in_state, failed_runs_of, pending_outbox,
    outbox_counts, insert_rule_success, rules_succeeded, insert_event_returning, same_file_elsewhere, count
  };
  static const std::string kSql[static_cast<int>(Q::count)];
  sql::Statement& q(Q id);
  void ensure_batch();
  // The first statement of every batch on a PostgreSQL node, and its last before COMMIT: checks
  // the lease (store/nodes.h check_lease_sql), or throws StoreError (SQLITE_PERM) when it was lost.
  void check_lease_in_batch();
  sql::StoreError lease_lost() const;
  int64_t take_sequence_id(std::vector<int64_t>& pool, const char* table);
  std::optional<std::string> node_param() const;
  // Runs an UPDATE and checks it changed exactly one row (`what` names it in the error).
  void run_update(sql::Statement& st, const std::string& what);
  void open_postgres(Mode mode);
  void open_sqlite(Mode mode);
  int64_t max_of(Q id);  // SELECT MAX(...) statements
  void degrade(const sql::StoreError& e);
  std::string redacted(std::string text) const;
  static bool storage_fault(int sqlite_code);

  std::filesystem::path path_;
  Mode mode_;
  const Clock& clock_;
  sql::Db db_;
  std::vector<sql::Statement> stmts_;  // indexed by Q, prepared lazily (a reader prepares few)
  std::optional<sql::Transaction> batch_;
  int64_t next_object_id_ = 1;
  int64_t next_event_id_ = 1;
  std::optional<NodeOptions> node_;
  bool has_nodes_ = false;
  int64_t epoch_ = 0;
  std::string empty_;
  std::vector<int64_t> object_ids_;  // PostgreSQL: ids reserved from the objects' sequence, next last
  sql::Statement renew_;        // SQLite: the loop's renewal (renew_lease)
  sql::Statement check_lease_;  // PostgreSQL: the batches' check
  std::unique_ptr<LeaseKeeper> keeper_;
  sql::Db takeover_db_;  // PostgreSQL: the takeovers' connection, opened at the first  // PostgreSQL: the renewals, on their own connection and thread
  std::vector<AuditEvent> batch_events_;
  std::vector<std::function<void()>> journal_;  // every write since the last commit
  std::optional<std::string> fault_;
  std::function<std::string(std::string)> redact_;
};

// Row readers shared by the store and the CLI's queries.
ObjectRecord read_object_row(sql::Statement& st);  // columns: kObjectColumns
inline constexpr const char* kObjectColumns =
    "id,key,size,mtime_ns,inode,etag,sequencer,state,discovered_at,updated_at,final_path,error,ctime_ns,action,"
    "move_attempts,failed_since";
// "o is the latest arrival at its key" (objects aliased `o`): the newest object at the key that is
// not a `duplicate`. A re-drop of the same bytes is recorded and its landing copy deleted; it
// replaced nothing, so the object it duplicates stays the key's arrival for replay, retry, the
// partition grid, quarantine and the present counts (issue 15 retest, F1: a re-sent day vanished
// from replay plans and read as "1 duplicate, not loaded" in `partitions`).
inline constexpr const char* kLatestArrivalClause =
    "o.id = (SELECT MAX(id) FROM objects WHERE key = o.key AND state <> 'duplicate')";
// Columns: id,time,event,key,rule,run_id,attempt,detail, then node when `with_node` (PostgreSQL).
AuditEvent read_event_row(sql::Statement& st, bool with_node = false);
// The select list read_event_row reads (with node on a PostgreSQL state).
const char* event_columns(bool with_node);
// Columns: kRunColumns, then node when `with_node` (Store::has_nodes).
RunRecord read_run_row(sql::Statement& st, bool with_node = false);
// The select list read_run_row reads (with node on a PostgreSQL state, as event_columns).
std::string run_columns(bool with_node);
OutboxRecord read_outbox_row(sql::Statement& st);  // columns: kOutboxColumns
inline constexpr const char* kOutboxColumns =
    "id,delivery_id,target,event,key,rule,body,state,attempts,next_at,created_at,last_status,last_detail,updated_at";
inline constexpr const char* kRunColumns =
    "id,run_id,object_id,key,rule,attempt,state,started_at,ended_at,duration_ms,exit_code,signal,error,"
    "stdout_tail,stderr_tail,result,pid,pgid,proc_start";

// A fresh random run id / delivery id (UUID v4 text, as Lambda's aws_request_id).
std::string new_uuid();

// One notification for the outbox, due now (`now_ms`, unix ms): a fresh delivery_id, also written
// into `body` (DESIGN.md "Notifications": every body names its delivery_id), the body dumped
// safely (store/event.h safe_dump). The one way the pipeline builds outbox rows.
OutboxRecord outbox_row(const std::string& target, const std::string& event, std::optional<std::string> key,
                        const std::string& rule, nlohmann::json body, int64_t now_ms);

}  // namespace hivehook
