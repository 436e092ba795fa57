// The PostgreSQL backend against a real server on loopback (tests/support/pg-cluster): the store's
// statements and state machines' rows, the audit mirror, the owner lock, byte-transparent keys,
// and a server restart (reconnect outside a transaction; a batch cut off inside one is rolled back
// whole, never half-applied on the new connection). Skipped when no PostgreSQL server is installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>

#include "store/audit_log.h"
#include "store/batch_state.h"
#include "store/leader_lock.h"
#include "store/notify_listener.h"
#include "store/rule_slots.h"
#include "store/nodes.h"
#include "store/owner_lock.h"
#include "store/postgres.h"
#include "store/queries.h"
#include "store/schema.h"
#include "store/store.h"

namespace hivehook {
namespace {

namespace fs = std::filesystem;

std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 512> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int rc = ::pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

const std::string kScript = std::string(HIVEHOOK_SOURCE_DIR) + "/tests/support/pg-cluster";

class PostgresStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("hivehook-pgtest-" + std::to_string(::getpid())));
    int status = 0;
    server_ = new std::string(run(kScript + " start " + dir_->string() + " 2>&1", &status));
    if (status != 0) {
      skip_ = status == 77 ? "no PostgreSQL server binaries" : "pg-cluster failed: " + *server_;
      server_->clear();
    }
  }
  static void TearDownTestSuite() {
    int status = 0;
    if (!server_->empty()) run(kScript + " stop " + dir_->string() + " 2>&1", &status);
    fs::remove_all(*dir_);
    delete dir_;
    delete server_;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(++count_);
    admin("CREATE DATABASE " + name_ + " TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'");
    url_ = server_->substr(0, server_->rfind('/') + 1) + name_;
  }
  void TearDown() override {
    if (skip_.empty()) admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  static void admin_in(const std::string& url, const std::string& sql) {
    auto db = sql::open_postgres(url);
    db.exec(sql);
  }
  static void admin(const std::string& sql) {
    auto db = sql::open_postgres(*server_);
    db.exec(sql);
  }
  static void restart_server() {
    int status = 0;
    std::string out = run(kScript + " restart " + dir_->string() + " 2>&1", &status);
    ASSERT_EQ(status, 0) << out;
  }
  ObjectRecord object(Store& s, const std::string& key) {
    ObjectRecord o;
    o.id = s.next_object_id();
    o.key = key;
    o.size = 3;
    o.mtime_ns = 1'700'000'000'123'456'789;  // beyond 32 bits: the columns are bigint
    o.inode = 7;
    o.etag = "etag";
    o.sequencer = "0000000000000001";
    o.discovered_at = 1'700'000'000'000;
    return o;
  }

  static inline fs::path* dir_ = nullptr;
  static inline std::string* server_ = nullptr;
  static inline std::string skip_;
  static inline int count_ = 0;
  std::string name_, url_;
};

TEST_F(PostgresStoreTest, MigratesOnceAndReadersRefuseAnEmptyDatabase) {
  EXPECT_THROW(Store(url_, Store::Mode::reader), sql::StoreError);
  {
    Store s(url_, Store::Mode::owner);
    EXPECT_TRUE(s.is_postgres());
    EXPECT_EQ(schema_version(s.db()), kSchemaVersion);
    // One writer: a second owner is refused while the first holds the writer lock.
    try {
      Store second(url_, Store::Mode::owner);
      ADD_FAILURE() << "a second owner was accepted";
    } catch (const sql::StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("owned by another hivehook"), std::string::npos) << e.what();
    }
  }
  Store again(url_, Store::Mode::owner);  // a second open finds it migrated
  EXPECT_EQ(schema_version(again.db()), kSchemaVersion);
  Store reader(url_, Store::Mode::reader);
  EXPECT_EQ(reader.last_event_id(), 0);
}

TEST_F(PostgresStoreTest, RefusesANewerSchema) {
  {
    Store s(url_, Store::Mode::owner);
    s.db().exec("UPDATE hivehook_schema SET version = 99");
  }
  EXPECT_THROW(Store(url_, Store::Mode::owner), sql::StoreError);
}

TEST_F(PostgresStoreTest, RefusesADatabaseThatIsNotByteTransparent) {
  admin("CREATE DATABASE " + name_ + "_utf8 TEMPLATE template0 ENCODING 'UTF8'");
  std::string url = url_ + "_utf8";
  try {
    Store s(url, Store::Mode::owner);
    ADD_FAILURE() << "a UTF8 database was accepted";
  } catch (const sql::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("SQL_ASCII"), std::string::npos) << e.what();
  }
  admin("DROP DATABASE " + name_ + "_utf8");
}

TEST_F(PostgresStoreTest, CommitGroupsTransitionsAndReadersSeeOnlyCommittedOnes) {
  Store s(url_, Store::Mode::owner);
  auto o = object(s, "t/a.csv");
  s.insert_object(o);
  AuditEvent e;
  e.event = "object.discovered";
  e.key = "t/a.csv";
  s.add_event(e);
  e.event = "run.started";
  e.rule = "r";
  e.attempt = 1;
  e.detail = {{"n", 1}};
  s.add_event(e);
  EXPECT_TRUE(s.in_batch());
  Store reader(url_, Store::Mode::reader);
  EXPECT_EQ(reader.last_event_id(), 0);
  auto events = s.commit();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(reader.last_event_id(), events[1].id);
  auto back = reader.events_after(0, 10);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].event, "run.started");
  EXPECT_EQ(back[1].attempt, 1);
  EXPECT_EQ(back[1].detail["n"], 1);
  EXPECT_FALSE(back[0].attempt);
}

TEST_F(PostgresStoreTest, ObjectsTasksRunsAndOutboxRoundTripWithAnyBytes) {
  auto owner = std::make_unique<Store>(url_, Store::Mode::owner);
  Store& s = *owner;
  // Quotes, a '?' (not a parameter), a newline, invalid UTF-8: a file name is bytes.
  const std::string key = "t/a b\n'c'?\xff\xfe.csv";
  auto o = object(s, key);
  s.insert_object(o);
  TaskRecord t{o.id, "rule-a", 0, TaskState::queued, 0, 0, std::nullopt};
  s.insert_task(t);
  t.state = TaskState::retry_wait;
  t.attempts = 2;
  t.next_at = 1'700'000'000'999;
  s.update_task(t);
  RunRecord r;
  r.run_id = new_uuid();
  r.object_id = o.id;
  r.key = key;
  r.rule = "rule-a";
  r.started_at = 5;
  s.insert_run(r);
  s.commit();
  auto last = s.last_object(key);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->key, key);
  EXPECT_EQ(last->mtime_ns, o.mtime_ns);
  auto tasks = s.tasks_of(o.id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].next_at, 1'700'000'000'999);
  r.state = RunState::failed;
  r.exit_code = 3;
  r.stderr_tail = std::string("out\0put", 7);  // PostgreSQL text holds no NUL: stored as SUB, byte for byte
  s.finish_run(r);
  o.state = ObjectState::quarantined;
  o.final_path = "/q/t/x";
  s.update_object(o);
  s.commit();
  auto failed = s.runs_in_state(RunState::failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stderr_tail, "out\x1Aput");
  EXPECT_EQ(s.object(o.id)->final_path, "/q/t/x");
  EXPECT_TRUE(s.unfinished_objects().empty());
  EXPECT_EQ(s.failed_runs_of(o.id).size(), 1u);
  // An update that names no row is an error, as on SQLite.
  TaskRecord ghost{999, "nope", 0, TaskState::queued, 0, 0, std::nullopt};
  EXPECT_THROW(s.update_task(ghost), sql::StoreError);

  for (int i = 0; i < 3; ++i) {
    OutboxRecord ob;
    ob.delivery_id = new_uuid();
    ob.target = "hook";
    ob.event = "object.succeeded";
    ob.body = "{}";
    ob.next_at = 100 - i;
    ob.created_at = 1;
    s.enqueue_outbox(ob);
  }
  s.commit();
  auto due = s.pending_outbox(99, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].next_at, 98);
  s.record_delivery(due[0].id, 1, false, 503, "HTTP 503", "pending", 500);
  s.record_delivery(due[0].id, 1, false, 502, "HTTP 502", "pending", 500);  // the same attempt again: upsert
  s.record_delivery(due[1].id, 1, true, 200, "", "sent", 99);
  s.commit();
  EXPECT_EQ(s.outbox_counts().pending, 2u);
  auto st = s.db().prepare("SELECT COUNT(*), MAX(status) FROM delivery_attempts");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64(0), 2);
  EXPECT_EQ(st.int64(1), 502);
  // ids continue after a reopen (they come from the table's sequence: never reused, maybe with gaps)
  int64_t next = s.next_object_id();
  owner.reset();
  Store again(url_, Store::Mode::owner);
  EXPECT_GT(again.next_object_id(), next);
}

TEST_F(PostgresStoreTest, AuditLogMirrorsCommits) {
  Store s(url_, Store::Mode::owner);
  fs::path log = *dir_ / (name_ + "-audit.jsonl");
  AuditLog audit(log, s);
  for (int i = 0; i < 3; ++i) {
    AuditEvent e;
    e.event = "object.discovered";
    e.key = "k" + std::to_string(i);
    s.add_event(e);
  }
  audit.append(s.commit());
  AuditLog reopened(log, s);
  EXPECT_EQ(reopened.last_id(), 3);
}

// The fault of system.test_postgres on a real server: PostgreSQL's sequences do not commit in
// order. A transaction that took an event id first commits after the store's batch with a higher
// id was mirrored; and a commit reported failed that happened is never appended. Both are in
// audit.jsonl afterwards, once each.
TEST_F(PostgresStoreTest, AuditLogMirrorMissedEventsCommittedOutOfIdOrder) {
  Store s(url_, Store::Mode::owner);
  fs::path log = *dir_ / (name_ + "-audit.jsonl");
  auto ids_in_file = [&] {
    std::vector<int64_t> ids;
    std::ifstream in(log);
    for (std::string l; std::getline(in, l);) ids.push_back(nlohmann::json::parse(l)["id"].get<int64_t>());
    return ids;
  };
  auto discovered = [&](const std::string& key) {
    AuditEvent e;
    e.event = "object.discovered";
    e.key = key;
    s.add_event(e);
  };
  AuditLog audit(log, s);
  discovered("a");
  audit.append(s.commit());
  auto other = sql::open_postgres(url_);  // a concurrent transaction takes the next id, commits late
  other.exec("BEGIN");
  auto ins = other.prepare("INSERT INTO events(time, event, key) VALUES(1, 'object.discovered', 'slow') RETURNING id");
  ASSERT_TRUE(ins.step());
  const int64_t slow = ins.int64(0);
  ins.reset();
  discovered("b");
  s.commit();  // committed, reported failed: never appended
  discovered("c");
  audit.append(s.commit());
  auto ids = ids_in_file();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_GT(ids[1], slow);
  other.exec("COMMIT");
  audit.fill_gaps();
  audit.fill_gaps();
  ids = ids_in_file();
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[3], slow);
  AuditLog reopened(log, s);
  EXPECT_EQ(ids_in_file().size(), 4u);
  EXPECT_EQ(reopened.last_id(), ids[2]);
}

TEST_F(PostgresStoreTest, OneOwnerAtATimeByAdvisoryLock) {
  Store init(url_, Store::Mode::owner);
  std::string err;
  auto first = OwnerLock::acquire(url_, "run", &err);
  ASSERT_TRUE(first) << err;
  auto holder = OwnerLock::holder(url_);
  ASSERT_TRUE(holder);
  EXPECT_EQ(*holder, ::getpid());
  auto second = OwnerLock::acquire(url_, "scan", &err);
  EXPECT_FALSE(second);
  EXPECT_NE(err.find("owned by another hivehook"), std::string::npos) << err;
  first.reset();
  EXPECT_FALSE(OwnerLock::holder(url_));
  EXPECT_TRUE(OwnerLock::acquire(url_, "scan", &err)) << err;
}

// ---- cluster mode (docs/cluster.md) -------------------------------------------------------------

NodeOptions node(const std::string& name, int lease_ms = 15000) {
  NodeOptions n;
  n.name = name;
  n.lease = std::chrono::milliseconds(lease_ms);
  return n;
}

TEST_F(PostgresStoreTest, NodesOfDifferentNamesShareAStateAndASecondDaemonOfOneNameIsRefused) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a"));
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b"));
  EXPECT_EQ(a.epoch(), 1);
  try {
    Store a2(url_, Store::Mode::owner, SystemClock::instance(), node("a"));
    ADD_FAILURE() << "a second store of node a was accepted";
  } catch (const sql::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("node a"), std::string::npos) << e.what();
  }
  std::string err;
  auto la = OwnerLock::acquire(url_, "run", &err, "a");
  ASSERT_TRUE(la) << err;
  auto lb = OwnerLock::acquire(url_, "run", &err, "b");
  ASSERT_TRUE(lb) << err;
  EXPECT_FALSE(OwnerLock::acquire(url_, "run", &err, "a"));
  EXPECT_NE(err.find("running as node a"), std::string::npos) << err;
  EXPECT_TRUE(OwnerLock::holder(url_));
  // Both write: ids come from the tables' sequences, so the nodes never collide.
  std::set<int64_t> ids;
  for (int i = 0; i < 100; ++i) {
    auto oa = object(a, "a/" + std::to_string(i));
    auto ob = object(b, "b/" + std::to_string(i));
    EXPECT_TRUE(ids.insert(oa.id).second);
    EXPECT_TRUE(ids.insert(ob.id).second);
    a.insert_object(oa);
    b.insert_object(ob);
    AuditEvent e;
    e.event = "object.discovered";
    a.add_event(e);
    b.add_event(e);
  }
  auto ea = a.commit();
  auto eb = b.commit();
  ASSERT_EQ(ea.size(), 100u);
  for (const auto& e : ea) EXPECT_GT(e.id, 0);
  for (const auto& e : eb) EXPECT_GT(e.id, 0);
  // Each node recovers its own: the other's unfinished objects are not its to re-queue.
  EXPECT_EQ(a.unfinished_objects().size(), 100u);
  for (const auto& o : b.unfinished_objects()) EXPECT_EQ(o.key.substr(0, 2), "b/");
  auto nodes = list_nodes(a.db());
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_TRUE(nodes[0].live());
  EXPECT_EQ(nodes[1].name, "b");
}

// Issue 17: a run names the node that ran it (the runs table's node, migration 6) in every query
// that reads runs: the owner's (recovery, quarantine reports) and the readers' (runs, the API's
// runs, an object's page, rules' recent runs, quarantine). A row without one (written before
// migration 6) names none.
TEST_F(PostgresStoreTest, ARunNamesTheNodeThatRanItInEveryQueryThatReadsRuns) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a"));
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b"));
  EXPECT_TRUE(a.has_nodes());
  auto run_on = [&](Store& s, const std::string& key) {
    auto o = object(s, key);
    o.state = ObjectState::quarantined;
    s.insert_object(o);
    RunRecord r;
    r.run_id = new_uuid();
    r.object_id = o.id;
    r.key = key;
    r.rule = "load";
    r.started_at = 1'700'000'000'100;
    r.node = "ignored";  // insert_run records the store's own node, never the record's
    s.insert_run(r);
    s.commit();
    r.state = RunState::failed;
    r.exit_code = 1;
    s.finish_run(r);
    s.commit();
    return r;
  };
  const RunRecord ra = run_on(a, "t/a.csv"), rb = run_on(b, "t/b.csv");
  // The owner's own reads.
  ASSERT_EQ(a.runs_in_state(RunState::failed).size(), 1u);
  EXPECT_EQ(a.runs_in_state(RunState::failed)[0].node, "a");
  ASSERT_EQ(b.failed_runs_of(rb.object_id).size(), 1u);
  EXPECT_EQ(b.failed_runs_of(rb.object_id)[0].node, "b");
  // A reader's (the CLI's and the API's).
  Store r(url_, Store::Mode::reader);
  EXPECT_TRUE(r.has_nodes());
  std::map<std::string, std::string> listed;
  for (const auto& run : list_runs(r, RunFilter{})) listed[run.run_id] = run.node;
  EXPECT_EQ(listed, (std::map<std::string, std::string>{{ra.run_id, "a"}, {rb.run_id, "b"}}));
  EXPECT_EQ(run_by_id(r, ra.run_id)->node, "a");
  EXPECT_EQ(run_by_id(r, rb.run_id)->node, "b");
  ASSERT_EQ(runs_of_object(r, rb.object_id).size(), 1u);
  EXPECT_EQ(runs_of_object(r, rb.object_id)[0].node, "b");
  std::set<std::string> recent;
  const auto by_rule = recent_runs_by_rule(r, 5);
  ASSERT_EQ(by_rule.count("load"), 1u);
  for (const auto& run : by_rule.at("load")) recent.insert(run.node);
  EXPECT_EQ(recent, (std::set<std::string>{"a", "b"}));
  std::set<std::string> quarantined;
  for (const auto& e : quarantine_report(r, 10, 0, 3))
    for (const auto& run : e.failed_runs) quarantined.insert(e.object.key + "@" + run.node);
  EXPECT_EQ(quarantined, (std::set<std::string>{"t/a.csv@a", "t/b.csv@b"}));
  // A run written without a node (before migration 6) names none.
  admin_in(url_, "UPDATE runs SET node = NULL WHERE run_id = '" + ra.run_id + "'");
  EXPECT_EQ(run_by_id(r, ra.run_id)->node, "");
}

TEST_F(PostgresStoreTest, ABatchOfANodeWhoseEpochMovedOnIsRefusedWhole) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a"));
  auto o = object(a, "t/late.csv");
  a.insert_object(o);
  a.commit();
  // A takeover (another node found a's lease expired) bumps a's epoch: a's late outcome is refused.
  admin_in(url_, "UPDATE nodes SET epoch = epoch + 1 WHERE name = 'a'");
  o.state = ObjectState::succeeded;
  try {
    a.update_object(o);
    a.commit();
    ADD_FAILURE() << "a batch of a fenced node was accepted";
  } catch (const sql::StoreError& e) {
    EXPECT_EQ(e.code(), SQLITE_PERM);
    EXPECT_NE(std::string(e.what()).find("lost its lease"), std::string::npos) << e.what();
  }
  Store reader(url_, Store::Mode::reader);
  EXPECT_EQ(reader.object(o.id)->state, ObjectState::pending);
  // Its lease keeper's next renewal finds the lease lost too, and says so once.
  std::atomic<int> lost{0};
  std::string why;
  ASSERT_TRUE(a.keep_lease([&](const std::string& w) {
    why = w;
    ++lost;
  }));
  for (int i = 0; i < 200 && lost == 0; ++i) ::usleep(50'000);  // renewals every 5 s (a 15 s lease)
  ASSERT_EQ(lost, 1);
  EXPECT_NE(why.find("node a lost its lease"), std::string::npos) << why;
}

TEST_F(PostgresStoreTest, ALeaseThatRanOutIsNotRenewedAndItsBatchIsRefused) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a", 1000));
  EXPECT_FALSE(a.renew_lease());  // PostgreSQL: the keeper renews, never the loop
  ::usleep(1'300'000);  // past the lease (the server's clock), as a SIGSTOPped node would be
  AuditEvent e;
  e.event = "object.discovered";
  EXPECT_THROW(a.add_event(e), sql::StoreError);
  // A renewal after the lease ran out (a node resumed after SIGSTOP) does not bring it back.
  std::atomic<int> lost{0};
  ASSERT_TRUE(a.keep_lease([&](const std::string&) { ++lost; }));
  for (int i = 0; i < 100 && lost == 0; ++i) ::usleep(20'000);
  EXPECT_EQ(lost, 1);
  Store reader(url_, Store::Mode::reader);
  EXPECT_EQ(reader.last_event_id(), 0);
}

// The fault: a node lost its 15 s lease and exited 70 during a 10,000-file burst, because one batch
// held the whole burst and the lease was renewed only by batches (at their start) and by a heartbeat
// that skipped while a batch was open. Now a keeper renews it on its own connection, beside the batch.
TEST_F(PostgresStoreTest, ABatchHeldOpenLongerThanTheLeaseNoLongerStarvesItsRenewalAndCommits) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a", 1000));
  std::atomic<int> lost{0};
  ASSERT_TRUE(a.keep_lease([&](const std::string&) { ++lost; }));
  auto o = object(a, "t/burst.csv");
  a.insert_object(o);
  AuditEvent e;
  e.event = "object.discovered";
  a.add_event(e);
  ::usleep(2'500'000);  // the batch stays open for two and a half leases (a burst, a lock wait)
  EXPECT_EQ(a.commit().size(), 1u);
  EXPECT_EQ(lost, 0);
  auto nodes = list_nodes(a.db());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_TRUE(nodes[0].live());
  Store reader(url_, Store::Mode::reader);
  EXPECT_EQ(reader.object(o.id)->key, "t/burst.csv");
}

// A takeover locks the node's row FOR UPDATE: it cannot while one of the node's batches is open (the
// batch holds FOR KEY SHARE until it ends), while the keeper's renewals go on beside that batch.
TEST_F(PostgresStoreTest, AnOpenBatchHoldsOffATakeoverButNotTheLeaseRenewal) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a", 1000));
  std::atomic<int> lost{0};
  ASSERT_TRUE(a.keep_lease([&](const std::string&) { ++lost; }));
  AuditEvent e;
  e.event = "object.discovered";
  a.add_event(e);  // a batch is open
  auto other = sql::open_postgres(url_);
  auto take = other.prepare("SELECT epoch FROM nodes WHERE name = 'a' FOR UPDATE SKIP LOCKED");
  EXPECT_FALSE(take.step());  // skipped: locked by the open batch
  take.reset();
  auto renewed = [&] {
    auto st = other.prepare("SELECT heartbeat_at FROM nodes WHERE name = 'a'");
    st.step();
    return st.int64(0);
  };
  const int64_t before = renewed();
  for (int i = 0; i < 100 && renewed() == before; ++i) ::usleep(20'000);
  EXPECT_GT(renewed(), before);  // renewed by the keeper while the batch holds the row
  a.commit();
  EXPECT_TRUE(take.step());  // free once the batch ended
  EXPECT_EQ(lost, 0);
}

// Takeover (store/nodes.h): a live node takes the work of a node whose lease ran out, once, fencing it.
TEST_F(PostgresStoreTest, AnExpiredNodesWorkIsTakenOverOnceAndItsLateBatchIsRefused) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a", 1000));
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b"));
  Store c(url_, Store::Mode::owner, SystemClock::instance(), node("c"));
  auto o = object(a, "t/dead.csv");
  a.insert_object(o);
  a.insert_task(TaskRecord{o.id, "r", 0, TaskState::running, 1, 0, std::nullopt, {}});
  RunRecord r;
  r.run_id = new_uuid();
  r.object_id = o.id;
  r.key = o.key;
  r.rule = "r";
  r.started_at = 5;
  a.insert_run(r);
  a.commit();
  EXPECT_TRUE(b.take_over_expired_nodes().empty());  // a's lease runs
  ::usleep(1'300'000);                               // a is stopped past its 1 s lease
  auto taken = b.take_over_expired_nodes();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].node, "a");
  EXPECT_EQ(taken[0].epoch, 1);
  EXPECT_EQ(taken[0].run_ids, std::vector<std::string>{r.run_id});
  EXPECT_EQ(taken[0].object_ids, std::vector<int64_t>{o.id});
  EXPECT_TRUE(c.take_over_expired_nodes().empty());  // taken once
  ASSERT_EQ(b.runs_in_state(RunState::started).size(), 1u);
  ASSERT_EQ(b.unfinished_objects().size(), 1u);
  EXPECT_TRUE(a.unfinished_objects().empty());
  // a's late outcome is refused by its epoch.
  r.state = RunState::succeeded;
  EXPECT_THROW(
      {
        a.finish_run(r);
        a.commit();
      },
      sql::StoreError);
  auto nodes = list_nodes(b.db());
  EXPECT_EQ(nodes[0].state, "expired");
  EXPECT_EQ(nodes[0].epoch, 2);
}

// A node whose batch is still open (stopped inside it) holds its row: it is not taken over until
// that batch ends, so the batch either commits first or is refused.
TEST_F(PostgresStoreTest, ANodeWithABatchOpenIsNotTakenOverUntilTheBatchEnds) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a", 1000));
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b"));
  AuditEvent e;
  e.event = "object.discovered";
  a.add_event(e);  // a batch open, as when a node is stopped in the middle of one
  ::usleep(1'300'000);
  EXPECT_TRUE(b.take_over_expired_nodes().empty());
  EXPECT_THROW(a.commit(), sql::StoreError);  // its lease ran out: refused, rolled back
  EXPECT_EQ(b.take_over_expired_nodes().size(), 1u);
}

TEST_F(PostgresStoreTest, AnObjectIsInsertedOnceWhicheverNodeSawTheFileFirst) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a"));
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b"));
  auto o = object(a, "t/x.csv");
  ASSERT_EQ(a.claim_object(o), Store::Claim::mine);
  a.insert_object(o);
  // a's batch is not committed yet: b backs off (and offers the file again shortly).
  EXPECT_EQ(b.claim_object(o), Store::Claim::busy);
  a.commit();
  EXPECT_EQ(b.claim_object(o), Store::Claim::taken);
  // Another file at the same key (a new inode) is a new arrival for whoever sees it.
  auto other = o;
  other.inode = 8;
  EXPECT_EQ(b.claim_object(other), Store::Claim::mine);
  b.commit();
  // A's own arrivals are never "taken" by itself (its own duplicates are its pipeline's to judge).
  EXPECT_EQ(a.claim_object(o), Store::Claim::mine);
  a.commit();
}

// Issue 16 retest P9 in cluster mode: a chmod between two nodes' looks moves the file's ctime only;
// with the same eTag it is the file already recorded (taken), with other bytes a new arrival.
TEST_F(PostgresStoreTest, P9AFileWhoseMetadataOnlyChangedIsTheOneAnotherNodeRecorded) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a"));
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b"));
  auto o = object(a, "t/m.csv");
  o.ctime_ns = 1000;
  o.etag = "4d8b6084f3d167b76cac66a22a91be02";
  ASSERT_EQ(a.claim_object(o), Store::Claim::mine);
  a.insert_object(o);
  a.commit();
  auto chmodded = o;
  chmodded.ctime_ns = 2000;
  EXPECT_EQ(b.claim_object(chmodded), Store::Claim::taken);
  b.commit();
  auto rewritten = chmodded;
  rewritten.etag = "0cc175b9c0f1b6a831c399e269772661";
  EXPECT_EQ(b.claim_object(rewritten), Store::Claim::mine);
  b.commit();
  auto no_etag = chmodded;  // an unmatched or ignored file's claim (no eTag): the ctime decides
  no_etag.etag.clear();
  EXPECT_EQ(b.claim_object(no_etag), Store::Claim::mine);
  b.commit();
}

TEST_F(PostgresStoreTest, UnownedRowsFromBeforeClusterModeBecomeTheFirstNodes) {
  int64_t id = 0;
  {
    Store s(url_, Store::Mode::owner);  // no node: as a state written before cluster mode
    auto o = object(s, "t/old.csv");
    id = o.id;
    s.insert_object(o);
    s.commit();
  }
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a"));
  ASSERT_EQ(a.unfinished_objects().size(), 1u);
  EXPECT_EQ(a.unfinished_objects()[0].id, id);
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b"));
  EXPECT_TRUE(b.unfinished_objects().empty());
}

TEST_F(PostgresStoreTest, AServerRestartLosesNoCommittedBatchAndHalfOfNone) {
  Store s(url_, Store::Mode::owner);
  auto a = object(s, "t/a.csv");
  s.insert_object(a);
  s.commit();
  // A batch open when the server goes away: its statements fail; the store degrades (as on a full
  // disk, DESIGN.md "Faults at run time") and keeps the whole batch to write again.
  auto b = object(s, "t/b.csv");
  s.insert_object(b);
  restart_server();
  auto c = object(s, "t/c.csv");
  s.insert_object(c);
  ASSERT_TRUE(s.fault()) << "a write on the lost connection degrades the store";
  EXPECT_NE(s.fault()->find("not writable"), std::string::npos) << *s.fault();
  {
    Store reader(url_, Store::Mode::reader);  // nothing of the cut-off batch is visible
    EXPECT_TRUE(reader.last_object("t/a.csv"));
    EXPECT_FALSE(reader.last_object("t/b.csv"));
    EXPECT_FALSE(reader.last_object("t/c.csv"));
  }
  s.commit();  // the whole batch again, on a new connection, never half of it
  EXPECT_FALSE(s.fault());
  {
    Store reader(url_, Store::Mode::reader);
    EXPECT_TRUE(reader.last_object("t/b.csv"));
    EXPECT_TRUE(reader.last_object("t/c.csv"));
  }
  // Outside a transaction the connection is re-established at the next statement.
  restart_server();
  EXPECT_TRUE(s.last_object("t/a.csv"));
  auto d = object(s, "t/d.csv");
  s.insert_object(d);
  s.commit();
  EXPECT_FALSE(s.fault());
  EXPECT_TRUE(s.last_object("t/d.csv"));
}

// The same kind as above for batch rows (issue 10, "every side effect's failure through one
// policy"): batches, their members and cluster offers were written beside the store's journal, so a
// batch cut off by a fault was written again without them — an open batch lost its members. They go
// through the journal now and come back whole with the rest.
TEST_F(PostgresStoreTest, BatchRowsOfABatchCutOffByAServerRestartAreWrittenAgainWhole) {
  Store s(url_, Store::Mode::owner);
  BatchState batches(s);
  auto a = object(s, "t/d=1/a.csv");
  s.insert_object(a);  // opens the store's batch
  BatchRecord b;
  b.rule = "daily";
  b.group = "t/1";
  b.opened_at = b.last_member_at = 1000;
  b.members = 1;
  batches.put(b);
  batches.add_member(b, a.id, a.key, false);
  restart_server();
  auto c = object(s, "t/d=1/c.csv");
  s.insert_object(c);
  ASSERT_TRUE(s.fault()) << "a write on the lost connection degrades the store";
  batches.offer({.rule = "daily", .group = "t/1", .object_id = c.id, .key = c.key, .node = "b", .offered_at = 2000});
  s.commit();
  ASSERT_FALSE(s.fault());
  Store reader(url_, Store::Mode::reader);
  BatchState read(reader);
  auto got = read.latest("daily", "t/1");
  ASSERT_TRUE(got) << "the batch row was lost with the cut-off transaction";
  EXPECT_EQ(got->members, 1);
  auto members = read.members(*got);
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].key, "t/d=1/a.csv");
  auto offers = read.offers();
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].key, "t/d=1/c.csv");
  EXPECT_EQ(offers[0].node, "b");
}

// Issue 10's columns and statements on PostgreSQL: identity (ctime), the decided action and the
// failed-move bookkeeping, the process of a run, recovery's view of move_failed objects.
TEST_F(PostgresStoreTest, MoveFailedObjectsAndRunProcessesRoundTrip) {
  Store s(url_, Store::Mode::owner);
  auto o = object(s, "t/m.csv");
  o.ctime_ns = 1'700'000'000'987'654'321;
  s.insert_object(o);
  o.state = ObjectState::succeeded;
  o.action = "archive";
  s.update_object(o);
  o.state = ObjectState::move_failed;
  o.error = "cannot move: No space left on device";
  o.move_attempts = 2;
  o.failed_since = 1'700'000'000'555;
  s.update_object(o);
  RunRecord r;
  r.run_id = new_uuid();
  r.object_id = o.id;
  r.key = o.key;
  r.rule = "rule-a";
  r.started_at = 5;
  s.insert_run(r);
  r.pid = 4242;
  r.pgid = 4242;
  r.proc_start = 123456789;
  s.record_run_process(r);
  s.commit();
  auto back = s.object(o.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ctime_ns, o.ctime_ns);
  EXPECT_EQ(back->action, "archive");
  EXPECT_EQ(back->move_attempts, 2);
  EXPECT_EQ(back->failed_since, o.failed_since);
  auto unfinished = s.unfinished_objects();
  ASSERT_EQ(unfinished.size(), 1u);
  EXPECT_EQ(unfinished[0].state, ObjectState::move_failed);
  auto started = s.runs_in_state(RunState::started);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].pgid, 4242);
  EXPECT_EQ(started[0].proc_start, 123456789);
}

TEST_F(PostgresStoreTest, AnOwnerWhoseSessionWasTakenOverIsFencedForGood) {
  auto first = std::make_unique<Store>(url_, Store::Mode::owner);
  auto o = object(*first, "t/late.csv");  // its id reserved before the restart
  restart_server();  // the first owner's session (and its writer lock) ends with the restart
  Store second(url_, Store::Mode::owner);
  for (int i = 0; i < 2; ++i) {  // refused, and refused again: it never writes beside the new owner
    try {
      first->insert_object(o);
      first->commit();
      ADD_FAILURE() << "the displaced owner wrote";
    } catch (const sql::StoreError& e) {
      EXPECT_EQ(e.code(), SQLITE_PERM) << e.what();
      EXPECT_NE(std::string(e.what()).find("writer lock"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(second.last_object("t/late.csv"));
}

TEST_F(PostgresStoreTest, TranslatesTheSharedDdl) {
  EXPECT_EQ(postgres_ddl("CREATE TABLE x (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, o INTEGER REFERENCES y(id),"
                         " r REAL) WITHOUT ROWID;"),
            "CREATE TABLE x (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL, o BIGINT,"
            " r DOUBLE PRECISION);");
  EXPECT_EQ(postgres_ddl("INSERT OR IGNORE INTO t(a) SELECT a FROM u WHERE x GROUP BY a;"),
            "INSERT INTO t(a) SELECT a FROM u WHERE x GROUP BY a ON CONFLICT DO NOTHING;");
  EXPECT_TRUE(sql::is_postgres_url("postgresql://u@h/d"));
  EXPECT_TRUE(sql::is_postgres_url("postgres://u@h/d"));
  EXPECT_FALSE(sql::is_postgres_url("state/hivehook.db"));
  EXPECT_EQ(sql::redact_url("postgresql://u:secret@h:5/d"), "postgresql://u:***@h:5/d");
  // One way to name a session (leader lock, rule slots, NOTIFY listener): percent-encoded in a URI,
  // quoted in a key=value string.
  EXPECT_EQ(sql::with_application_name("postgresql://u@h/d", "hivehook 42 leader n-1"),
            "postgresql://u@h/d?application_name=hivehook%2042%20leader%20n-1");
  EXPECT_EQ(sql::with_application_name("postgresql://u@h/d?sslmode=disable", "a&b=c"),
            "postgresql://u@h/d?sslmode=disable&application_name=a%26b%3Dc");
  EXPECT_EQ(sql::with_application_name("host=h dbname=d", "it's"), "host=h dbname=d application_name='it\\'s'");
}

// Cluster mode: a rule's concurrency as slots shared by the nodes; a node's slots go with its session.
TEST_F(PostgresStoreTest, ARulesSlotsAreSharedByTheNodesAndFreedWithTheSession) {
  Store init(url_, Store::Mode::owner, SystemClock::instance(), node("init"));  // the schema
  RuleSlots a(url_, "a", std::chrono::milliseconds(5000));
  auto b = std::make_unique<RuleSlots>(url_, "b", std::chrono::milliseconds(5000));
  EXPECT_TRUE(a.claim("heavy", 2));
  EXPECT_TRUE(b->claim("heavy", 2));
  EXPECT_FALSE(a.claim("heavy", 2));  // both slots are held, one by each node
  EXPECT_TRUE(a.claim("other", 1));   // another rule's slots are its own
  EXPECT_EQ(a.held("heavy"), 1);
  a.release("heavy");
  EXPECT_EQ(a.held("heavy"), 0);
  EXPECT_TRUE(a.claim("heavy", 2));
  EXPECT_FALSE(a.claim("heavy", 2));
  b.reset();  // b's session ends (its process died): its slot is free once the server has ended it
  bool got = false;
  for (int i = 0; i < 100 && !got; ++i) {
    got = a.claim("heavy", 2);
    if (!got) ::usleep(20'000);
  }
  EXPECT_TRUE(got);
  EXPECT_EQ(a.held("heavy"), 2);
}

// Cluster mode: one leader at a time; a leader whose lease ran out (stopped, not dead: its session
// lives) is unseated by the next candidate; a leader whose session ends is replaced.
TEST_F(PostgresStoreTest, OneLeaderAtATimeAndALeaderWhoseLeaseRanOutIsUnseated) {
  Store a(url_, Store::Mode::owner, SystemClock::instance(), node("a", 1000));
  Store b(url_, Store::Mode::owner, SystemClock::instance(), node("b", 60000));
  LeaderLock la(url_, "a", std::chrono::milliseconds(1000));
  auto lb = std::make_unique<LeaderLock>(url_, "b", std::chrono::milliseconds(60000));
  EXPECT_FALSE(LeaderLock::leader(a.db()));
  EXPECT_TRUE(la.hold());
  EXPECT_FALSE(lb->hold());  // a leads, its lease runs
  EXPECT_TRUE(la.hold());    // and it still holds the lock
  EXPECT_EQ(LeaderLock::leader(b.db()), std::optional<std::string>("a"));
  ::usleep(1'300'000);  // a is not renewed past its 1 s lease (a stopped process)
  EXPECT_TRUE(lb->hold());
  EXPECT_EQ(LeaderLock::leader(b.db()), std::optional<std::string>("b"));
  EXPECT_FALSE(la.hold());  // its session was ended: it leads no more
  lb.reset();  // b's session ends (killed): the lock is free
  LeaderLock lc(url_, "b", std::chrono::milliseconds(60000));
  EXPECT_TRUE(lc.hold());
}

// Cluster mode: a slot given back is heard by every listening node (NOTIFY hivehook "slot RULE").
TEST_F(PostgresStoreTest, ASlotGivenBackIsHeardByTheListeningNodes) {
  Store init(url_, Store::Mode::owner, SystemClock::instance(), node("init"));
  std::mutex mu;
  std::vector<std::string> heard;
  NotifyListener listen(url_, "b", [&](const std::string& payload) {
    std::lock_guard<std::mutex> l(mu);
    heard.push_back(payload);
  });
  RuleSlots a(url_, "a", std::chrono::milliseconds(5000));
  ASSERT_TRUE(a.claim("heavy", 1));
  // The listener connects on its own thread: give back (and take again) until it has heard one.
  for (int i = 0; i < 100 && listen.received() == 0; ++i) {
    a.release("heavy");
    ::usleep(50'000);
    ASSERT_TRUE(a.claim("heavy", 1));
  }
  ASSERT_GT(listen.received(), 0u);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(heard.front(), "slot heavy");
}

}  // namespace
}  // namespace hivehook
