// Commit grouping: transitions of one loop turn share one commit, and a side effect happens only
// once the transition before it is durable.
#include "harness.h"

#include <sqlite3.h>

namespace hivehook::test {
namespace {

TEST(CommitBatch, ABurstIsCommittedInOneTransaction) {
  PipelineHarness h(R"(rules:
  - name: noop
    match: {prefix: t/}
    job: {builtin: noop}
)");
  for (int i = 0; i < 50; ++i) h.put("t/f" + std::to_string(i) + ".csv");
  const int before = h.commits;
  h.pipeline->scan(h.config.landing);
  h.drain();
  // One commit records 50 discoveries, runs and decisions; the moves' commit follows.
  EXPECT_EQ(h.commits - before, 2);
  EXPECT_EQ(h.events("object.archived").size(), 50u);
}

TEST(CommitBatch, AJobStartsOnlyOnceItsRunIsDurable) {
  PipelineHarness h(R"(rules:
  - name: etl
    match: {prefix: t/}
    job: {command: [/bin/true]}
)");
  int seen = -1;
  h.runner.on_start = [&](const JobRequest& req) {
    Store reader(h.config.state, Store::Mode::reader);  // another connection sees committed rows only
    auto st = reader.db().prepare("SELECT COUNT(*) FROM runs WHERE run_id=? AND state='started'");
    st.bind(1, req.run_id);
    st.step();
    seen = static_cast<int>(st.int64(0));
  };
  h.land("t/a.csv");
  EXPECT_EQ(seen, 1);
}

TEST(CommitBatch, AnUncommittedBatchIsRolledBackWhenTheStoreGoesAway) {
  TempDir dir;
  ManualClock clock;
  {
    Store s(dir.path() / "s.db", Store::Mode::owner, clock);
    AuditEvent e;
    e.event = "daemon.started";
    s.add_event(e);
    s.commit();
    e.event = "never.committed";
    s.add_event(e);
  }
  Store s(dir.path() / "s.db", Store::Mode::owner, clock);
  auto events = s.events_after(0, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "daemon.started");
}

// Issue 10, the overflow stall: a rescan admitted thousands of files in one loop turn and the
// flush that committed them ran every move and spawn in one callback (the loop held 9-21 s, /healthz
// unanswered). Side effects now run kEffectsPerTurn per turn, other handlers in between, in order.
TEST(CommitBatch, AnOverflowBurstsSideEffectsYieldToTheLoopBetweenTurns) {
  TempDir dir;
  ManualClock clock;
  Store store(dir.path() / "s.db", Store::Mode::owner, clock);
  boost::asio::io_context io;
  CommitBatch batch(io, store, nullptr);
  std::vector<int> ran;
  const int n = 3 * static_cast<int>(CommitBatch::kEffectsPerTurn) + 5;
  for (int i = 0; i < n; ++i) batch.after_commit([&ran, i] { ran.push_back(i); });
  std::size_t seen_by_other_handler = 0;
  boost::asio::post(io, [&] { seen_by_other_handler = ran.size(); });  // a timer, a reap, /healthz
  io.run_one();  // the flush: one turn's share
  EXPECT_EQ(ran.size(), CommitBatch::kEffectsPerTurn);
  io.run_one();  // the other handler got its turn before the rest
  EXPECT_EQ(seen_by_other_handler, CommitBatch::kEffectsPerTurn);
  // An effect of the next commit waits for the effects of this one.
  batch.after_commit([&ran] { ran.push_back(-1); });
  io.run();
  ASSERT_EQ(ran.size(), static_cast<std::size_t>(n) + 1);
  for (int i = 0; i < n; ++i) EXPECT_EQ(ran[i], i);
  EXPECT_EQ(ran.back(), -1);
  EXPECT_EQ(batch.effects_waiting(), 0u);
}

TEST(CommitBatch, AtShutdownEveryCommittedSideEffectRunsBeforeTheLoopStops) {
  TempDir dir;
  ManualClock clock;
  Store store(dir.path() / "s.db", Store::Mode::owner, clock);
  boost::asio::io_context io;
  CommitBatch batch(io, store, nullptr);
  int ran = 0;
  for (std::size_t i = 0; i < 5 * CommitBatch::kEffectsPerTurn; ++i) batch.after_commit([&ran] { ++ran; });
  batch.flush_all();
  EXPECT_EQ(ran, static_cast<int>(5 * CommitBatch::kEffectsPerTurn));
}

// system_pg.test_pipeline.test_sigterm_lets_running_jobs_finish saw object.archived after
// daemon.stopped: the job's outcome was committed at shutdown and its archive move, run then,
// recorded a transition after the daemon's last event. drain() runs effects that effects ask for.
TEST(CommitBatch, DrainAtShutdownRunsTheSideEffectsThatSideEffectsAskFor) {
  TempDir dir;
  ManualClock clock;
  Store store(dir.path() / "s.db", Store::Mode::owner, clock);
  boost::asio::io_context io;
  CommitBatch batch(io, store, nullptr);
  std::vector<std::string> ran;
  batch.after_commit([&] {
    ran.push_back("outcome's effect: the move");
    batch.after_commit([&] { ran.push_back("the move's own effect"); });
  });
  batch.drain();
  EXPECT_EQ(ran, (std::vector<std::string>{"outcome's effect: the move", "the move's own effect"}));
  EXPECT_EQ(batch.effects_waiting(), 0u);
}

}  // namespace
}  // namespace hivehook::test
