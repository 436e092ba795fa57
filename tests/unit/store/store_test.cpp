// The state store: schema, batching, reads, the audit.jsonl mirror and its repair, the owner lock.
#include <gtest/gtest.h>

#include "unit/support/temp_dir.h"
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/audit_log.h"
#include "store/nodes.h"
#include "store/owner_lock.h"
#include "store/queries.h"
#include "store/schema.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace hivehook {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  fs::path db() const { return dir_ / "state" / "hivehook.db"; }
  std::vector<std::string> lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  ObjectRecord object(Store& s, const std::string& key) {
    ObjectRecord o;
    o.id = s.next_object_id();
    o.key = key;
    o.size = 3;
    o.mtime_ns = 42;
    o.inode = 7;
    o.etag = "etag";
    o.sequencer = "0000000000000001";
    o.discovered_at = 1000;
    return o;
  }
  test::TempDir dir_;
};

TEST_F(StoreTest, CreatesPrivateFileAtCurrentSchema) {
  Store s(db(), Store::Mode::owner);
  struct stat st {};
  ASSERT_EQ(::stat(db().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto v = s.db().prepare("PRAGMA user_version");
  ASSERT_TRUE(v.step());
  EXPECT_EQ(v.int64(0), kSchemaVersion);
  auto j = s.db().prepare("PRAGMA journal_mode");
  ASSERT_TRUE(j.step());
  EXPECT_EQ(j.text(0), "wal");
}

TEST_F(StoreTest, RefusesANewerSchema) {
  {
    Store s(db(), Store::Mode::owner);
    s.db().exec("PRAGMA user_version = 99");
  }
  EXPECT_THROW(Store(db(), Store::Mode::owner), sql::StoreError);
}

TEST_F(StoreTest, CommitGroupsTransitionsAndReturnsTheirEvents) {
  Store s(db(), Store::Mode::owner);
  EXPECT_FALSE(s.in_batch());
  auto o = object(s, "t/a.csv");
  s.insert_object(o);
  AuditEvent e;
  e.event = "object.discovered";
  e.key = "t/a.csv";
  s.add_event(e);
  e.event = "run.started";
  e.rule = "r";
  e.attempt = 1;
  s.add_event(e);
  EXPECT_TRUE(s.in_batch());
  // A reader does not see uncommitted transitions.
  Store reader(db(), Store::Mode::reader);
  EXPECT_EQ(reader.last_event_id(), 0);
  auto events = s.commit();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "object.discovered");
  EXPECT_LT(events[0].id, events[1].id);
  EXPECT_FALSE(s.in_batch());
  EXPECT_EQ(reader.last_event_id(), events[1].id);
  EXPECT_TRUE(s.commit().empty());
}

TEST_F(StoreTest, ObjectsTasksAndRunsRoundTrip) {
  Store s(db(), Store::Mode::owner);
  auto o = object(s, "t/a b\n'c'.csv");
  s.insert_object(o);
  auto o2 = object(s, "t/a b\n'c'.csv");
  s.insert_object(o2);
  TaskRecord t{o2.id, "rule-a", 0, TaskState::queued, 0, 0, std::nullopt};
  s.insert_task(t);
  t.state = TaskState::retry_wait;
  t.attempts = 2;
  t.interrupted = 1;
  t.next_at = 12345;
  s.update_task(t);
  RunRecord r;
  r.run_id = new_uuid();
  r.object_id = o2.id;
  r.key = o2.key;
  r.rule = "rule-a";
  r.started_at = 5;
  s.insert_run(r);
  s.commit();

  auto last = s.last_object(o.key);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, o2.id);
  EXPECT_EQ(last->key, o.key);
  auto tasks = s.tasks_of(o2.id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].state, TaskState::retry_wait);
  EXPECT_EQ(tasks[0].attempts, 2);
  EXPECT_EQ(tasks[0].interrupted, 1);
  EXPECT_EQ(tasks[0].next_at, 12345);
  auto started = s.runs_in_state(RunState::started);
  ASSERT_EQ(started.size(), 1u);
  r.state = RunState::failed;
  r.exit_code = 3;
  r.stderr_tail = "boom";
  r.result = R"({"rows":1})";
  s.finish_run(r);
  o2.state = ObjectState::quarantined;
  o2.final_path = "/q/t/x";
  s.update_object(o2);
  s.commit();
  EXPECT_TRUE(s.runs_in_state(RunState::started).empty());
  auto failed = s.runs_in_state(RunState::failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].exit_code, 3);
  EXPECT_EQ(failed[0].stderr_tail, "boom");
  EXPECT_EQ(s.object(o2.id)->final_path, "/q/t/x");
  EXPECT_THROW(s.update_object(ObjectRecord{.id = 999999}), sql::StoreError) << "an update must change its row";
  s.commit();
  EXPECT_EQ(s.unfinished_objects().size(), 1u);
  // object ids continue after a reopen
  int64_t next = s.next_object_id();
  Store again(db(), Store::Mode::owner);
  EXPECT_EQ(again.next_object_id(), next);
}

TEST_F(StoreTest, OutboxDueOrderAndDeliveryAttempts) {
  Store s(db(), Store::Mode::owner);
  for (int i = 0; i < 3; ++i) {
    OutboxRecord o;
    o.delivery_id = new_uuid();
    o.target = "hook";
    o.event = "object.succeeded";
    o.body = "{}";
    o.next_at = 100 - i;
    o.created_at = 1;
    s.enqueue_outbox(o);
  }
  s.commit();
  auto due = s.pending_outbox(99, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].next_at, 98);
  s.record_delivery(due[0].id, 1, false, 503, "HTTP 503", "pending", 500);
  s.record_delivery(due[1].id, 1, true, 200, "", "sent", 99);
  s.commit();
  EXPECT_EQ(s.pending_outbox(200, 10).size(), 1u);
  EXPECT_EQ(s.pending_outbox(1000, 10).size(), 2u);
  auto st = s.db().prepare("SELECT COUNT(*) FROM delivery_attempts");
  st.step();
  EXPECT_EQ(st.int64(0), 2);
}

TEST_F(StoreTest, AuditLogMirrorsCommitsAndRepairsAfterACrash) {
  Store s(db(), Store::Mode::owner);
  fs::path log = dir_ / "state" / "audit.jsonl";
  {
    AuditLog audit(log, s);
    for (int i = 0; i < 3; ++i) {
      AuditEvent e;
      e.event = "object.discovered";
      e.key = "k" + std::to_string(i);
      s.add_event(e);
    }
    audit.append(s.commit());
  }
  ASSERT_EQ(lines(log).size(), 3u);
  // A crash: two more events committed but never mirrored, and a torn last line.
  for (int i = 0; i < 2; ++i) {
    AuditEvent e;
    e.event = "run.started";
    s.add_event(e);
  }
  s.commit();
  {
    std::ofstream out(log, std::ios::app);
    out << R"({"id":4,"event":"run.sta)";
  }
  AuditLog repaired(log, s);
  auto ls = lines(log);
  ASSERT_EQ(ls.size(), 5u);
  for (size_t i = 0; i < ls.size(); ++i) {
    auto j = nlohmann::json::parse(ls[i]);
    EXPECT_EQ(j["id"].get<int64_t>(), static_cast<int64_t>(i + 1));
    EXPECT_TRUE(j.contains("time"));
  }
  EXPECT_EQ(repaired.last_id(), 5);
}

namespace {
std::vector<int64_t> ids_in(const std::vector<std::string>& ls) {
  std::vector<int64_t> ids;
  for (const auto& l : ls) ids.push_back(nlohmann::json::parse(l)["id"].get<int64_t>());
  return ids;
}
void add_discovered(Store& s, const std::string& key) {
  AuditEvent e;
  e.event = "object.discovered";
  e.key = key;
  s.add_event(e);
}
}  // namespace

// The fault of system.test_postgres: a batch whose COMMIT happened but was reported failed (its
// reply lost in a server restart) is never appended; the next commit's events moved the mirror's
// high-water mark past it, so its events were missing from audit.jsonl for good.
TEST_F(StoreTest, AuditLogMirrorMissedTheEventsOfACommitReportedFailedThatHappened) {
  Store s(db(), Store::Mode::owner);
  fs::path log = dir_ / "state" / "audit.jsonl";
  AuditLog audit(log, s);
  add_discovered(s, "a");
  audit.append(s.commit());
  add_discovered(s, "b");
  add_discovered(s, "c");
  s.commit();  // committed, but the daemon saw the commit fail: never appended
  add_discovered(s, "d");
  audit.append(s.commit());
  EXPECT_EQ(ids_in(lines(log)), (std::vector<int64_t>{1, 2, 3, 4}));
}

// The other way ids become visible out of order (PostgreSQL's sequences do not commit in order):
// an event with an id below the mirror's high-water mark appears after it; it is appended late,
// once, and neither a later look nor a reopen writes it again.
TEST_F(StoreTest, AuditLogMirrorMissedAnEventCommittedBelowItsHighWaterMark) {
  Store s(db(), Store::Mode::owner);
  fs::path log = dir_ / "state" / "audit.jsonl";
  {
    AuditLog audit(log, s);
    add_discovered(s, "a");
    audit.append(s.commit());
    s.continue_event_ids_after(5);  // ids 2..5 are not (yet) in the table
    add_discovered(s, "b");
    audit.append(s.commit());
    ASSERT_EQ(ids_in(lines(log)), (std::vector<int64_t>{1, 6}));
    s.db().exec("INSERT INTO events(id, time, event, key) VALUES(3, 1, 'object.discovered', 'late')");
    audit.fill_gaps();
    audit.fill_gaps();
    EXPECT_EQ(ids_in(lines(log)), (std::vector<int64_t>{1, 6, 3}));
    EXPECT_EQ(audit.last_id(), 6);
  }
  // Reopened (the destructor looked once more): the late line is known, the highest id too; an
  // event that appeared meanwhile among the last lines' ids is appended, once.
  s.db().exec("INSERT INTO events(id, time, event, key) VALUES(4, 1, 'object.discovered', 'later')");
  AuditLog reopened(log, s);
  EXPECT_EQ(reopened.last_id(), 6);
  EXPECT_EQ(ids_in(lines(log)), (std::vector<int64_t>{1, 6, 3, 4}));
  add_discovered(s, "c");
  reopened.append(s.commit());
  EXPECT_EQ(ids_in(lines(log)), (std::vector<int64_t>{1, 6, 3, 4, 7}));
}

TEST_F(StoreTest, InvalidUtf8InKeysNeverBreaksTheMirror) {
  AuditEvent e;
  e.id = 1;
  e.event = "object.ignored";
  e.key = std::string("t/bad\xff\xfe.csv");
  auto line = e.to_line();
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["event"], "object.ignored");
}

// Batches::on_ended parsed its SELECT for every finished object (16% of the daemon's samples): the
// cached statement is parsed once, and each use ends with a reset, so a query stepped only to its
// first row holds nothing (SQLite refuses DROP TABLE while a statement still reads the table).
TEST_F(StoreTest, CachedStatementIsPreparedOnceAndResetWhenItsUseEnds) {
  auto db = sql::open_sqlite((dir_ / "c.db").string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db.exec("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES(1),(2),(3)");
  const std::string q = "SELECT x FROM t WHERE x >= ? ORDER BY x";
  sql::Statement* first = nullptr;
  {
    auto st = db.cached(q);
    first = &*st;
    st->bind(1, 2);
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->int64(0), 2);
  }
  {
    auto st = db.cached(q);
    EXPECT_EQ(&*st, first);  // the same prepared statement
    st->bind(1, 3);
    ASSERT_TRUE(st->step());
    EXPECT_EQ(st->int64(0), 3);  // executed afresh with the new binding
  }
  EXPECT_NO_THROW(db.exec("DROP TABLE t"));  // no use left the statement mid-read
}

TEST_F(StoreTest, OneOwnerAtATime) {
  std::string err;
  auto first = OwnerLock::acquire(db(), "run", &err);
  ASSERT_TRUE(first) << err;
  auto holder = OwnerLock::holder(db());
  ASSERT_TRUE(holder);
  EXPECT_EQ(*holder, ::getpid());
  // flock is per open file description: a second acquire in this process is refused too.
  auto second = OwnerLock::acquire(db(), "scan", &err);
  EXPECT_FALSE(second);
  EXPECT_NE(err.find("owned by another hivehook"), std::string::npos) << err;
  EXPECT_NE(err.find(std::to_string(::getpid())), std::string::npos) << err;
  first.reset();
  EXPECT_FALSE(OwnerLock::holder(db()));
  EXPECT_TRUE(OwnerLock::acquire(db(), "scan", &err));
}

TEST_F(StoreTest, F1ASecondDaemonOnOneLandingFolderIsRefusedWhateverItsStateDb) {
  // Issue 10 retest 3, F1: two daemons with two state DBs (or after `rm state/hivehook.db*`, which
  // also removes the DB's lock file) watched one landing and ran every file twice, at once.
  const auto landing = db().parent_path() / "landing";
  std::filesystem::create_directories(landing);
  std::string err;
  auto first = LandingLock::acquire(landing, &err);
  ASSERT_TRUE(first) << err;
  // flock is per open file description: a second acquire in this process is refused too, and
  // another path to the same folder (a symlink) is the same folder.
  std::filesystem::create_directory_symlink(landing, db().parent_path() / "landing-link");
  EXPECT_FALSE(LandingLock::acquire(db().parent_path() / "landing-link", &err));
  EXPECT_NE(err.find("is watched by another hivehook (pid " + std::to_string(::getpid()) + ")"), std::string::npos)
      << err;
  first.reset();
  EXPECT_TRUE(LandingLock::acquire(landing, &err)) << err;
}

TEST_F(StoreTest, ASecondNodeOnASqliteStateIsRefusedNamingPostgres) {
  std::string err;
  auto first = OwnerLock::acquire(db(), "run", &err, "a");
  ASSERT_TRUE(first) << err;
  EXPECT_FALSE(OwnerLock::acquire(db(), "run", &err, "b"));
  EXPECT_NE(err.find("cluster mode"), std::string::npos) << err;
  EXPECT_NE(err.find("PostgreSQL"), std::string::npos) << err;
}

// Issue 17: a SQLite state has one node, so its runs name none to their readers (as its events
// do), though the row records the node (recovery's own). `runs`, the API and the console then show
// no node column.
TEST_F(StoreTest, ARunOnSqliteNamesNoNodeToItsReaders) {
  NodeOptions n;
  n.name = "host-a";
  Store s(db(), Store::Mode::owner, SystemClock::instance(), n);
  EXPECT_FALSE(s.has_nodes());
  ObjectRecord o;
  o.id = s.next_object_id();
  o.key = "t/a.csv";
  s.insert_object(o);
  RunRecord r;
  r.run_id = new_uuid();
  r.object_id = o.id;
  r.key = o.key;
  r.rule = "load";
  r.started_at = 5;
  s.insert_run(r);
  s.commit();
  auto st = s.db().prepare("SELECT node FROM runs WHERE run_id = ?");
  st.bind(1, r.run_id);
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "host-a");
  ASSERT_EQ(s.runs_in_state(RunState::started).size(), 1u);
  EXPECT_EQ(s.runs_in_state(RunState::started)[0].node, "");
  Store reader(db(), Store::Mode::reader);
  EXPECT_FALSE(reader.has_nodes());
  ASSERT_EQ(list_runs(reader, RunFilter{}).size(), 1u);
  EXPECT_EQ(list_runs(reader, RunFilter{})[0].node, "");
  EXPECT_EQ(run_by_id(reader, r.run_id)->node, "");
}

TEST_F(StoreTest, ANodeOnSqliteRegistersAndTakesEveryUnfinishedObject) {
  int64_t id = 0;
  {
    NodeOptions n;
    n.name = "old-host";
    Store s(db(), Store::Mode::owner, SystemClock::instance(), n);
    ObjectRecord o;
    o.id = id = s.next_object_id();
    o.key = "t/a.csv";
    s.insert_object(o);
    s.commit();
  }
  NodeOptions n;
  n.name = "new-host";  // the host was renamed: SQLite has one owner, so its work is this one's
  Store s(db(), Store::Mode::owner, SystemClock::instance(), n);
  ASSERT_EQ(s.unfinished_objects().size(), 1u);
  EXPECT_EQ(s.unfinished_objects()[0].id, id);
  EXPECT_TRUE(s.renew_lease());
  auto nodes = list_nodes(s.db());
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "new-host");
  EXPECT_TRUE(nodes[0].live());
  EXPECT_EQ(nodes[1].state, "stopped");
}

}  // namespace
}  // namespace hivehook

namespace hivehook {
namespace {

// A state DB from before orchestration (schema 1) keeps what its runs proved: every rule that
// succeeded there counts as succeeded for `requires:` after the upgrade (migration 2).
TEST(StoreMigration, RulesThatSucceededBeforeTheUpgradeCountForRequires) {
  namespace fs = std::filesystem;
  const test::TempDir tmp;
  const fs::path& dir = tmp.path();
  fs::path file = dir / "hivehook.db";
  {
    Store s(file, Store::Mode::owner);
    // Back to schema 1, as the previous release left it, with runs on record.
    s.db().exec("DROP TABLE batch_offers; DROP TABLE batch_members; DROP TABLE batches;"
                " DROP TABLE schedules; DROP TABLE expectation_checks; DROP TABLE expected_partitions;"
                " DROP TABLE rule_successes; ALTER TABLE tasks DROP COLUMN waiting_for;"
                " ALTER TABLE objects DROP COLUMN ctime_ns; ALTER TABLE objects DROP COLUMN action;"
                " ALTER TABLE objects DROP COLUMN move_attempts; ALTER TABLE objects DROP COLUMN failed_since;"
                " ALTER TABLE runs DROP COLUMN pid; ALTER TABLE runs DROP COLUMN pgid;"
                " ALTER TABLE runs DROP COLUMN proc_start; DROP TABLE nodes; ALTER TABLE objects DROP COLUMN node;"
                " ALTER TABLE runs DROP COLUMN node; ALTER TABLE events DROP COLUMN node;"
                " ALTER TABLE outbox DROP COLUMN node; PRAGMA user_version = 1");
    s.db().exec("INSERT INTO runs(run_id,object_id,key,rule,attempt,state,started_at,ended_at) VALUES"
                " ('r1',1,'dim/a.csv','dims',1,'failed',100,200),"
                " ('r2',1,'dim/a.csv','dims',2,'succeeded',300,400),"
                " ('r3',2,'t/a.csv','facts',1,'failed',500,600)");
  }
  Store s(file, Store::Mode::owner);
  EXPECT_EQ(s.rules_succeeded(), std::vector<std::string>{"dims"});
  auto st = s.db().prepare("SELECT first_at, object_id FROM rule_successes WHERE rule = 'dims'");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64(0), 400);
  EXPECT_EQ(st.int64(1), 1);
}

TEST(StoreMigration, AWaitingTaskKeepsWhatItWaitsFor) {
  namespace fs = std::filesystem;
  const test::TempDir tmp;
  const fs::path& dir = tmp.path();
  Store s(dir / "hivehook.db", Store::Mode::owner);
  TaskRecord t;
  t.object_id = 1;
  t.rule = "facts";
  t.state = TaskState::waiting;
  t.waiting_for = R"({"after":[],"requires":["dims"]})";
  s.insert_task(t);
  s.commit();
  auto back = s.tasks_of(1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].state, TaskState::waiting);
  EXPECT_EQ(back[0].waiting_for, t.waiting_for);
  t.state = TaskState::queued;
  t.waiting_for.clear();
  s.update_task(t);
  s.commit();
  EXPECT_EQ(s.tasks_of(1)[0].waiting_for, "");
  s.record_rule_success("dims", 1);
  s.record_rule_success("dims", 2);  // a later success changes nothing
  s.commit();
  EXPECT_EQ(s.rules_succeeded(), std::vector<std::string>{"dims"});
}

}  // namespace
}  // namespace hivehook
