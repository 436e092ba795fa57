#include "store/schema.h"

#include <regex>
#include <string>

namespace hivehook {

namespace {

// Migration N takes schema version N-1 to N. Append only; never edit a released one. Written in
// SQLite's DDL; PostgreSQL runs postgres_ddl() of the same text (schema.h lists what it rewrites),
// so a migration is written once for both backends.
// Indexes are few on purpose: every index is pages written by every batch on the hot path. The
// queries that would use a state index (recovery at start-up, `status`, `runs --failed`) scan
// once; the per-object lookup by key is the one that runs per file and has its index.
const char* const kMigrations[] = {
    // 1: objects, their per-rule tasks, runs, audit events, the notification outbox.
    R"sql(
CREATE TABLE objects (
  id            INTEGER PRIMARY KEY,
  key           TEXT NOT NULL,
  size          INTEGER NOT NULL,
  mtime_ns      INTEGER NOT NULL,
  inode         INTEGER NOT NULL,
  etag          TEXT NOT NULL,
  sequencer     TEXT NOT NULL,
  state         TEXT NOT NULL,
  discovered_at INTEGER NOT NULL,          -- unix ms
  updated_at    INTEGER NOT NULL,
  final_path    TEXT,
  error         TEXT
);
CREATE INDEX objects_by_key ON objects(key, id);

CREATE TABLE tasks (
  object_id  INTEGER NOT NULL REFERENCES objects(id),
  rule       TEXT NOT NULL,
  seq        INTEGER NOT NULL,               -- order of the rule among the object's matches
  state      TEXT NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,     -- runs started (HIVEHOOK_ATTEMPT of the last)
  interrupted INTEGER NOT NULL DEFAULT 0,    -- of those, cut off by a crash or shutdown (not held against retries)
  next_at    INTEGER,                        -- unix ms, for retry_wait
  PRIMARY KEY (object_id, rule)
) WITHOUT ROWID;

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL UNIQUE,
  object_id   INTEGER NOT NULL REFERENCES objects(id),
  key         TEXT NOT NULL,
  rule        TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  state       TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  duration_ms INTEGER,
  exit_code   INTEGER,
  signal      INTEGER,
  error       TEXT,
  stdout_tail TEXT,
  stderr_tail TEXT,
  result      TEXT                            -- the job's $HIVEHOOK_RESULT JSON
);

CREATE TABLE events (
  id      INTEGER PRIMARY KEY,
  time    INTEGER NOT NULL,                   -- unix ms
  event   TEXT NOT NULL,
  key     TEXT,
  rule    TEXT,
  run_id  TEXT,
  attempt INTEGER,
  detail  TEXT                                -- JSON
);

CREATE TABLE outbox (
  id           INTEGER PRIMARY KEY,
  delivery_id  TEXT NOT NULL UNIQUE,
  target       TEXT NOT NULL,
  event        TEXT NOT NULL,
  key          TEXT,
  rule         TEXT,
  body         TEXT NOT NULL,                 -- JSON
  state        TEXT NOT NULL,                 -- pending | sent | dead
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  last_status  INTEGER,
  last_detail  TEXT
);
CREATE INDEX outbox_pending ON outbox(next_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
  outbox_id INTEGER NOT NULL REFERENCES outbox(id),
  attempt   INTEGER NOT NULL,
  time      INTEGER NOT NULL,
  delivered INTEGER NOT NULL,
  status    INTEGER,
  detail    TEXT,
  PRIMARY KEY (outbox_id, attempt)
) WITHOUT ROWID;

CREATE TABLE meta (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    // 2: orchestration (DESIGN.md "Orchestration"): what a waiting task waits for, and the first
    // success of each rule (what `requires:` waits for), filled from the runs already recorded.
    R"sql(
ALTER TABLE tasks ADD COLUMN waiting_for TEXT;   -- JSON {"after": [...], "requires": [...]} while waiting

CREATE TABLE rule_successes (
  rule      TEXT PRIMARY KEY,
  first_at  INTEGER NOT NULL,                    -- unix ms of the first success
  object_id INTEGER                              -- the object it succeeded on
) WITHOUT ROWID;
INSERT OR IGNORE INTO rule_successes(rule, first_at, object_id)
  SELECT rule, MIN(COALESCE(ended_at, started_at)), MIN(object_id) FROM runs WHERE state = 'succeeded' GROUP BY rule;
)sql",
    // 3: schedules and expectations (DESIGN.md "Orchestration"): each schedule's last firing and
    // its open one; how far each expectation's deadlines were checked; each expected partition.
    R"sql(
CREATE TABLE schedules (
  rule           TEXT PRIMARY KEY,
  last_fired_for INTEGER NOT NULL,               -- unix ms: scheduled time of the last firing (or the baseline)
  open           INTEGER NOT NULL DEFAULT 0,     -- 1: a firing not ended yet (runs again after a crash)
  open_for       INTEGER NOT NULL DEFAULT 0,     -- unix ms: scheduled time of the open firing
  catch_up       INTEGER NOT NULL DEFAULT 0,     -- 1: the open firing catches up a time missed while down
  attempts       INTEGER NOT NULL DEFAULT 0,
  interrupted    INTEGER NOT NULL DEFAULT 0,
  next_at        INTEGER                         -- unix ms of the open firing's next attempt
) WITHOUT ROWID;

CREATE TABLE expectation_checks (
  rule          TEXT PRIMARY KEY,
  checked_until INTEGER NOT NULL                 -- unix ms: deadlines up to here were checked
) WITHOUT ROWID;

CREATE TABLE expected_partitions (
  rule       TEXT NOT NULL,
  partition  TEXT NOT NULL,                      -- year=2023/month=03/day=15
  state      TEXT NOT NULL,                      -- arrived | late
  deadline   INTEGER NOT NULL,                   -- unix ms (0: arrived before its deadline was checked)
  changed_at INTEGER NOT NULL,
  PRIMARY KEY (rule, partition)
) WITHOUT ROWID;
)sql",
    // 4: "Trust under faults". Objects: the full identity (ctime), the final action decided with
    // the outcome (moves are retried as decided, whatever the rules say later), move retries.
    // Runs: the process that ran them, so recovery can kill an orphaned process group.
    R"sql(
ALTER TABLE objects ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN action TEXT;                 -- archive|delete|keep|quarantine|keep_failed|duplicate
ALTER TABLE objects ADD COLUMN move_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN failed_since INTEGER;        -- unix ms of the first failed move (move_failed)
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN pgid INTEGER;
ALTER TABLE runs ADD COLUMN proc_start INTEGER;             -- /proc/<pid>/stat starttime (clock ticks)
)sql",
    // 5: batches (DESIGN.md "Orchestration"): each group's batch of a `batch:` rule and its members.
    R"sql(
CREATE TABLE batches (
  rule           TEXT NOT NULL,
  group_key      TEXT NOT NULL,                  -- the rendered batch.group template
  generation     INTEGER NOT NULL,               -- 1, 2, ...: a group that ended and got new objects
  state          TEXT NOT NULL,                  -- open | complete | running | succeeded | failed | skipped
  opened_at      INTEGER NOT NULL,               -- unix ms: the first member joined
  last_member_at INTEGER NOT NULL,               -- unix ms: the latest member joined (quiet counts from it)
  members        INTEGER NOT NULL DEFAULT 0,     -- objects collected, the marker not counted
  marker_seen    INTEGER NOT NULL DEFAULT 0,
  reason         TEXT,                           -- marker | count | quiet: what completed it
  completed_at   INTEGER,
  attempts       INTEGER NOT NULL DEFAULT 0,     -- runs started
  interrupted    INTEGER NOT NULL DEFAULT 0,     -- of those, cut off by a crash or shutdown
  next_at        INTEGER,                        -- unix ms of the next attempt
  PRIMARY KEY (rule, group_key, generation)
) WITHOUT ROWID;

CREATE TABLE batch_members (
  rule       TEXT NOT NULL,
  group_key  TEXT NOT NULL,
  generation INTEGER NOT NULL,
  object_id  INTEGER NOT NULL REFERENCES objects(id),
  key        TEXT NOT NULL,
  marker     INTEGER NOT NULL DEFAULT 0,         -- 1: the group's marker (not in Records[])
  PRIMARY KEY (rule, group_key, generation, object_id)
) WITHOUT ROWID;
CREATE INDEX batch_members_by_object ON batch_members(object_id);
)sql",
    // 6: cluster mode (docs/cluster.md): the nodes sharing a state, each with its epoch (the fencing
    // token, bumped at each start and each takeover) and its lease; the node that owns each object,
    // run, event and outbox row (recovery and delivery take only their own).
    R"sql(
CREATE TABLE nodes (
  name         TEXT PRIMARY KEY,
  epoch        INTEGER NOT NULL,               -- 1, 2, ...: bumped at each start (and each takeover)
  pid          INTEGER NOT NULL,
  host         TEXT NOT NULL,
  role         TEXT NOT NULL,                  -- run | scan | replay
  state        TEXT NOT NULL,                  -- live | stopped
  started_at   INTEGER NOT NULL,               -- unix ms
  heartbeat_at INTEGER NOT NULL,               -- unix ms of the last renewal (PostgreSQL: the server's clock)
  lease_until  INTEGER NOT NULL                -- unix ms: the node's work is its own until then
) WITHOUT ROWID;
ALTER TABLE objects ADD COLUMN node TEXT;
ALTER TABLE runs ADD COLUMN node TEXT;
ALTER TABLE events ADD COLUMN node TEXT;
ALTER TABLE outbox ADD COLUMN node TEXT;
)sql",
    // 7: cluster mode's batches (docs/cluster.md "Batches across nodes"): a file a node that does not
    // lead admitted, offered to the leader, which alone decides batches (store/batch_state.h).
    R"sql(
CREATE TABLE batch_offers (
  rule       TEXT NOT NULL,
  group_key  TEXT NOT NULL,                      -- the group the offering node rendered
  object_id  INTEGER NOT NULL,
  key        TEXT NOT NULL,
  marker     INTEGER NOT NULL DEFAULT 0,
  node       TEXT,                               -- the node that admitted the file
  offered_at INTEGER NOT NULL,                   -- unix ms
  PRIMARY KEY (rule, group_key, object_id)
) WITHOUT ROWID;
)sql",
};

// What a migration needs on PostgreSQL only, run after its DDL (nullptr: nothing).
const char* postgres_only(int version) {
  switch (version) {
    case 6:
      // Object and event ids come from the tables' identity sequences from now on (several nodes
      // insert); until now the one owner numbered them itself, so the sequences start after them.
      return "SELECT setval(pg_get_serial_sequence('objects', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM objects;"
             "SELECT setval(pg_get_serial_sequence('events', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM events;";
    default:
      return nullptr;
  }
}

// Key of the advisory lock that serializes migrations of one PostgreSQL state between nodes.
constexpr int64_t kMigrationLock = 0x68697665686f6f6bLL;  // "hivehook"

}  // namespace

std::string postgres_ddl(std::string ddl) {
  static const std::regex kRowidKey(R"(\bINTEGER\s+PRIMARY\s+KEY\b)");
  static const std::regex kInteger(R"(\bINTEGER\b)");
  static const std::regex kReal(R"(\bREAL\b)");
  static const std::regex kBlob(R"(\bBLOB\b)");
  static const std::regex kWithoutRowid(R"(\)\s*WITHOUT\s+ROWID)");
  static const std::regex kReferences(R"(\s+REFERENCES\s+\w+\s*\(\s*\w+\s*\))");
  static const std::regex kInsertOrIgnore(R"(INSERT\s+OR\s+IGNORE\s+INTO([^;]*);)");
  ddl = std::regex_replace(ddl, kRowidKey, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
  ddl = std::regex_replace(ddl, kInteger, "BIGINT");
  ddl = std::regex_replace(ddl, kReal, "DOUBLE PRECISION");
  ddl = std::regex_replace(ddl, kBlob, "BYTEA");
  ddl = std::regex_replace(ddl, kWithoutRowid, ")");
  ddl = std::regex_replace(ddl, kReferences, "");
  ddl = std::regex_replace(ddl, kInsertOrIgnore, "INSERT INTO$1 ON CONFLICT DO NOTHING;");
  return ddl;
}

int schema_version(sql::Db& db) {
  if (db.dialect() == sql::Dialect::sqlite) {
    auto st = db.prepare("PRAGMA user_version");
    st.step();
    return static_cast<int>(st.int64(0));
  }
  auto exists = db.prepare("SELECT to_regclass('hivehook_schema') IS NOT NULL");
  if (!exists.step() || exists.text(0) != "t") return 0;
  auto st = db.prepare("SELECT COALESCE(MAX(version), 0) FROM hivehook_schema");
  st.step();
  return static_cast<int>(st.int64(0));
}

void migrate(sql::Db& db) {
  constexpr int latest = static_cast<int>(sizeof kMigrations / sizeof kMigrations[0]);
  static_assert(latest == kSchemaVersion);
  const bool pg = db.dialect() == sql::Dialect::postgresql;
  auto too_new = [&](int v) {
    if (v > latest)
      throw sql::StoreError("state DB has schema version " + std::to_string(v) + ", newer than this hivehook (" +
                                std::to_string(latest) + "): upgrade hivehook",
                            SQLITE_ERROR);
  };
  int v = schema_version(db);
  too_new(v);
  if (v == latest) return;
  if (pg) {
    // One transaction for all: several nodes starting at once migrate one after the other.
    sql::Transaction tx(db);
    db.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
    db.exec("CREATE TABLE IF NOT EXISTS hivehook_schema (version BIGINT NOT NULL)");
    v = schema_version(db);  // another node may have migrated meanwhile
    too_new(v);
    for (; v < latest; ++v) {
      db.exec(postgres_ddl(kMigrations[v]));
      if (const char* more = postgres_only(v + 1)) db.exec(more);
    }
    db.exec("DELETE FROM hivehook_schema");
    db.exec("INSERT INTO hivehook_schema(version) VALUES (" + std::to_string(latest) + ")");
    tx.commit();
    return;
  }
  for (; v < latest; ++v) {
    sql::Transaction tx(db);
    db.exec(kMigrations[v]);
    db.exec("PRAGMA user_version = " + std::to_string(v + 1));
    tx.commit();
  }
}

}  // namespace hivehook
