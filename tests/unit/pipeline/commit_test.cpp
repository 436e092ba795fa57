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

}  // namespace
}  // namespace hivehook::test
