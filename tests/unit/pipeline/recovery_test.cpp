// Recovery after each kind of crash point: the daemon dies (nothing uncommitted survives, running
// jobs are lost) and a fresh one recovers from the store and the files alone.
#include "harness.h"
#include "pipeline/run_outcome.h"

namespace hivehook::test {
namespace {

const char* kJob = R"(rules:
  - name: etl
    match: {prefix: t/}
    job: {command: [/bin/true]}
    retries: 1
    backoff: {initial: 30s, max: 30s}
)";

TEST(Recovery, ARunCutOffByACrashIsInterruptedAndRunAgain) {
  PipelineHarness h(kJob);
  h.land("t/a.csv");
  ASSERT_EQ(h.runner.started(), 1);
  h.restart();
  EXPECT_EQ(h.events("run.interrupted").size(), 1u);
  ASSERT_EQ(h.runner.jobs().size(), 1u) << "a new attempt";
  EXPECT_EQ(h.runner.jobs()[0].request.attempt, 2);
  h.runner.finish(0, 1);  // an interruption is not held against retries: one retry is still owed
  h.drain();
  EXPECT_EQ(h.events("run.retry_scheduled").size(), 1u);
}

// Issue 16 F6: the REPORT line of a run cut off by a crash said duration_ms=0. Its end was never
// seen: the store keeps no duration and the REPORT line has no duration_ms field, never a made-up 0.
TEST(Recovery, ARunCutOffByACrashHasNoDurationNotAZeroOne) {
  PipelineHarness h(kJob);
  h.land("t/a.csv");
  ASSERT_EQ(h.runner.started(), 1);
  h.restart();
  auto cut = h.store->runs_in_state(RunState::interrupted);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_FALSE(cut[0].duration_ms.has_value());
  EXPECT_TRUE(cut[0].ended_at.has_value()) << "when recovery recorded it";
  const std::string report = report_fields(cut[0]);
  EXPECT_EQ(report.find("duration_ms"), std::string::npos) << report;
  EXPECT_EQ(report, "rule=etl attempt=1 run_id=" + cut[0].run_id);
  cut[0].duration_ms = 1234;
  cut[0].exit_code = 3;
  EXPECT_EQ(report_fields(cut[0]), "rule=etl attempt=1 run_id=" + cut[0].run_id + " duration_ms=1234 exit_code=3");
}

TEST(Recovery, ACrashBeforeTheDiscoveryCommitLosesNothing) {
  PipelineHarness h(kJob);
  h.files->on_move = nullptr;
  h.put("t/a.csv");
  h.pipeline->offer("t/a.csv");  // recorded in the open batch, never committed
  h.restart();
  EXPECT_FALSE(h.state("t/a.csv"));
  h.pipeline->scan(h.config.landing);  // the start-up scan
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::pending);
  EXPECT_EQ(h.runner.jobs().size(), 1u);
}

TEST(Recovery, ADecidedObjectIsMovedWithoutRunningAgain) {
  PipelineHarness h(kJob);
  h.land("t/a.csv");
  h.files->on_move = [](const std::string&, Area, LocalFileOps&) -> std::optional<MoveResult> { throw Crash(); };
  h.runner.finish();
  ASSERT_TRUE(h.drain()) << "crashed after the decision's commit, before the move";
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::succeeded);
  h.files->on_move = nullptr;
  h.pipeline->recover();
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.runner.started(), 1) << "not run again";
  EXPECT_TRUE(h.exists(Area::archive, "t/a.csv"));
}

TEST(Recovery, AMoveDoneButNotRecordedIsFoundAtItsDestination) {
  PipelineHarness h(kJob);
  h.land("t/a.csv");
  h.files->on_move = [](const std::string& key, Area to, LocalFileOps& real) -> std::optional<MoveResult> {
    real.move(key, to, "x");
    throw Crash();  // moved, the commit never happened
  };
  h.runner.finish();
  ASSERT_TRUE(h.drain());
  h.files->on_move = nullptr;
  h.pipeline->recover();
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.store->last_object("t/a.csv")->final_path, h.files->path(Area::archive, "t/a.csv").string());
  EXPECT_EQ(h.runner.started(), 1);
}

TEST(Recovery, ARetryWaitingAtTheCrashRunsAtItsRecordedTime) {
  PipelineHarness h(kJob);
  h.land("t/a.csv");
  h.runner.finish(0, 1);
  h.drain();
  int64_t delay = 0;
  for (const auto& e : h.store->events_after(0, 100))
    if (e.event == "run.retry_scheduled") delay = e.detail["delay_ms"].get<int64_t>();
  ASSERT_GE(delay, 15000);
  h.advance(std::chrono::seconds(10));
  h.restart();
  EXPECT_TRUE(h.runner.jobs().empty());
  h.advance(std::chrono::milliseconds(delay - 10000 - 1));
  EXPECT_TRUE(h.runner.jobs().empty()) << "the retry keeps its time across the restart";
  h.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  EXPECT_EQ(h.runner.jobs()[0].request.attempt, 2);
}

TEST(Recovery, QueuedTasksAreQueuedAgainInOrder) {
  PipelineHarness h(R"(rules:
  - name: one-at-a-time
    match: {prefix: t/}
    job: {command: [/bin/true, "{key}"]}
    concurrency: 1
)");
  for (auto k : {"t/1.csv", "t/2.csv", "t/3.csv"}) h.put(k);
  h.pipeline->scan(h.config.landing);
  h.drain();
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  h.restart();
  std::vector<std::string> order;
  while (!h.runner.jobs().empty()) {
    order.push_back(h.runner.finish().process.argv.back());
    h.drain();
  }
  EXPECT_EQ(order, (std::vector<std::string>{"t/1.csv", "t/2.csv", "t/3.csv"}));
  for (auto k : {"t/1.csv", "t/2.csv", "t/3.csv"}) EXPECT_EQ(h.state(k), ObjectState::archived) << k;
}

}  // namespace
}  // namespace hivehook::test
