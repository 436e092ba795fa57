// after: and requires: (DESIGN.md "Orchestration") on the seams: which tasks wait, when they are
// released and in what order, when one is skipped, and that all of it survives a crash.
#include <pthread.h>

#include "harness.h"
#include "store/queries.h"

namespace hivehook::test {
namespace {

// The e-commerce shape: facts require both dimension rules.
const char* kRequires = R"(rules:
  - name: dim-products
    match: {prefix: dim_products/}
    job: {command: [/bin/true, "{key}"]}
  - name: dim-customers
    match: {prefix: dim_customers/}
    job: {command: [/bin/true, "{key}"]}
  - name: facts
    match: {prefix: transactions/}
    job: {command: [/bin/true, "{key}"]}
    requires: [dim-products, dim-customers]
    concurrency: 1
)";

// Three rules on one object: validate, then load after it, then report after load.
const char* kAfter = R"(rules:
  - name: report
    match: {suffix: .csv}
    job: {command: [/bin/true, report]}
    after: [load]
  - name: load
    match: {suffix: .csv}
    job: {command: [/bin/true, load]}
    after: [validate]
  - name: validate
    match: {suffix: .csv}
    job: {command: [/bin/true, validate]}
    retries: 0
  - name: copy
    match: {suffix: .csv}
    job: {command: [/bin/true, copy]}
)";

std::string arg_of(const JobRequest& r) { return r.process.argv.back(); }

// Finishes the running job whose last argument is `arg`.
void finish(PipelineHarness& h, const std::string& arg, int exit_code = 0) {
  for (std::size_t i = 0; i < h.runner.jobs().size(); ++i)
    if (arg_of(h.runner.jobs()[i].request) == arg) {
      h.runner.finish(i, exit_code);
      h.drain();
      return;
    }
  FAIL() << "no running job " << arg;
}

std::vector<std::string> running(PipelineHarness& h) {
  std::vector<std::string> out;
  for (const auto& j : h.runner.jobs()) out.push_back(arg_of(j.request));
  return out;
}

std::string day_key(int day) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "transactions/year=2023/month=03/day=%02d/t.csv", day);
  return buf;
}

TEST(Requires, ObjectsWaitUntilEveryRequiredRuleSucceededThenRunInKeyOrder) {
  PipelineHarness h(kRequires);
  // Thirty days arrive before any dimension, newest first.
  for (int day = 30; day >= 1; --day) h.land(day_key(day));
  EXPECT_TRUE(h.runner.jobs().empty()) << "nothing runs while the dimensions are missing";
  EXPECT_EQ(h.events("task.waiting").size(), 30u);
  EXPECT_EQ(h.pipeline->waiting_objects(), 30u);
  EXPECT_TRUE(h.pipeline->idle()) << "waiting objects alone leave the pipeline idle";
  EXPECT_TRUE(h.events("run.failed").empty()) << "waiting is not failing";
  EXPECT_NE(h.stats->registry.render_prometheus().find("hivehook_tasks_waiting{rule=\"facts\"} 30"), std::string::npos);

  h.land("dim_products/p.csv");
  finish(h, "dim_products/p.csv");
  EXPECT_TRUE(h.runner.jobs().empty()) << "still one required rule missing";
  h.land("dim_customers/c.csv");
  finish(h, "dim_customers/c.csv");
  EXPECT_EQ(h.events("task.released").size(), 30u);

  // concurrency 1: released in key (date) order, one at a time.
  for (int day = 1; day <= 30; ++day) {
    ASSERT_EQ(running(h), std::vector<std::string>{day_key(day)});
    finish(h, day_key(day));
  }
  for (int day = 1; day <= 30; ++day) EXPECT_EQ(h.state(day_key(day)), ObjectState::archived);
  EXPECT_EQ(h.pipeline->waiting_objects(), 0u);
  EXPECT_NE(h.stats->registry.render_prometheus().find("hivehook_tasks_waiting{rule=\"facts\"} 0"), std::string::npos);
}

TEST(Requires, AFailedRequiredRuleHoldsThemAndALaterSuccessReleases) {
  PipelineHarness h(kRequires);
  h.land(day_key(1));
  h.land("dim_products/p.csv");
  h.land("dim_customers/c.csv");
  finish(h, "dim_products/p.csv");
  finish(h, "dim_customers/c.csv", 65);  // bad input: quarantined, never succeeded
  EXPECT_EQ(h.state("dim_customers/c.csv"), ObjectState::quarantined);
  EXPECT_TRUE(h.runner.jobs().empty());
  EXPECT_EQ(h.state(day_key(1)), ObjectState::pending);
  h.land("dim_customers/c2.csv");
  finish(h, "dim_customers/c2.csv");
  EXPECT_EQ(running(h), std::vector<std::string>{day_key(1)});
}

TEST(Requires, OnceSucceededARuleNeverHoldsAgainEvenAfterARestart) {
  PipelineHarness h(kRequires);
  h.land("dim_products/p.csv");
  finish(h, "dim_products/p.csv");
  h.land("dim_customers/c.csv");
  finish(h, "dim_customers/c.csv");
  h.restart();
  h.land(day_key(2));
  EXPECT_EQ(running(h), std::vector<std::string>{day_key(2)}) << "no wait: both succeeded before";
  EXPECT_TRUE(h.events("task.waiting").empty());
}

TEST(Requires, WaitingObjectsSurviveACrashAndAreReleasedAfterIt) {
  PipelineHarness h(kRequires);
  h.land(day_key(2));
  h.land(day_key(1));
  h.land("dim_products/p.csv");
  finish(h, "dim_products/p.csv");
  h.restart();  // kill -9: the waits are in the store
  EXPECT_TRUE(h.runner.jobs().empty());
  EXPECT_EQ(h.pipeline->waiting_objects(), 2u);
  h.land("dim_customers/c.csv");
  h.restart();  // its run was cut off: interrupted, run again
  finish(h, "dim_customers/c.csv");
  EXPECT_EQ(running(h), std::vector<std::string>{day_key(1)});
  finish(h, day_key(1));
  EXPECT_EQ(running(h), std::vector<std::string>{day_key(2)});
}

TEST(Requires, ACrashRightAfterTheSuccessCommitStillReleases) {
  PipelineHarness h(kRequires);
  h.land(day_key(1));
  h.land("dim_products/p.csv");
  finish(h, "dim_products/p.csv");
  h.land("dim_customers/c.csv");
  // The object's move is the first side effect after the commit that recorded the success.
  h.files->on_move = [](const std::string&, Area, LocalFileOps&) -> std::optional<MoveResult> { throw Crash(); };
  h.runner.finish(0, 0);
  ASSERT_TRUE(h.drain());
  h.files->on_move = nullptr;
  h.pipeline->recover();
  h.drain();
  EXPECT_EQ(running(h), std::vector<std::string>{day_key(1)});
}

TEST(Requires, AfterACrashTheReleasedQueueResumesInKeyOrderNotDiscoveryOrder) {
  PipelineHarness h(kRequires);
  for (int day : {3, 1, 2}) h.land(day_key(day));  // discovered out of date order
  h.land("dim_products/p.csv");
  finish(h, "dim_products/p.csv");
  h.land("dim_customers/c.csv");
  finish(h, "dim_customers/c.csv");
  EXPECT_EQ(running(h), std::vector<std::string>{day_key(1)});
  h.restart();  // kill -9 with day 1 running and days 2 and 3 queued behind it
  for (int day = 1; day <= 3; ++day) {
    ASSERT_EQ(running(h), std::vector<std::string>{day_key(day)});
    finish(h, day_key(day));
  }
}

TEST(Requires, DroppingTheRequirementOnReloadReleasesThem) {
  PipelineHarness h(kRequires);
  h.land(day_key(1));
  EXPECT_TRUE(h.runner.jobs().empty());
  Diagnostics diags;
  std::string yaml = kRequires;
  yaml.replace(yaml.find("    requires: [dim-products, dim-customers]\n"),
               std::string("    requires: [dim-products, dim-customers]\n").size(), "");
  write_file(h.dir.path() / "rules.yaml", yaml);
  auto r = load_rules(h.config.rules, h.config, diags);
  ASSERT_TRUE(r) << diags.str();
  h.pipeline->set_rules(std::make_shared<const RuleSet>(std::move(*r)));
  h.drain();
  EXPECT_EQ(running(h), std::vector<std::string>{day_key(1)});
}

TEST(After, RulesOnOneObjectStartInDependencyOrder) {
  PipelineHarness h(kAfter);
  h.land("t/a.csv");
  EXPECT_EQ(running(h), (std::vector<std::string>{"validate", "copy"})) << "report and load wait";
  finish(h, "validate");
  EXPECT_EQ(running(h), (std::vector<std::string>{"copy", "load"}));
  finish(h, "load");
  EXPECT_EQ(running(h), (std::vector<std::string>{"copy", "report"}));
  finish(h, "report");
  finish(h, "copy");
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
}

TEST(After, AFailureSkipsEveryDependentAndQuarantines) {
  PipelineHarness h(kAfter);
  h.land("t/a.csv");
  finish(h, "validate", 1);  // retries: 0
  EXPECT_EQ(h.events("task.skipped").size(), 2u) << "load, then report which waited for load";
  EXPECT_EQ(running(h), std::vector<std::string>{"copy"}) << "a rule without after: is not held";
  finish(h, "copy");
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::quarantined);
  EXPECT_EQ(h.runner.started(), 2);
  const std::string metrics = h.stats->registry.render_prometheus();
  EXPECT_NE(metrics.find("hivehook_tasks_skipped_total{rule=\"load\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("hivehook_tasks_skipped_total{rule=\"report\"} 1"), std::string::npos) << metrics;
  auto tasks = h.store->tasks_of(h.store->last_object("t/a.csv")->id);
  for (const auto& t : tasks)
    if (t.rule == "load" || t.rule == "report") EXPECT_EQ(t.state, TaskState::skipped) << t.rule;
}

TEST(After, WaitsSurviveACrashBetweenTheSteps) {
  PipelineHarness h(kAfter);
  h.land("t/a.csv");
  finish(h, "validate");
  h.restart();
  auto now = running(h);
  std::sort(now.begin(), now.end());
  EXPECT_EQ(now, (std::vector<std::string>{"copy", "load"})) << "interrupted runs again; report still waits";
  finish(h, "load");
  EXPECT_EQ(running(h).back(), "report");
}

TEST(After, UnderFanOutAcrossManyObjectsEachObjectKeepsItsOwnOrder) {
  PipelineHarness h(kAfter);
  std::vector<std::pair<std::string, std::string>> started;  // (key, step) in start order
  h.runner.on_start = [&](const JobRequest& r) { started.emplace_back(r.process.env.at("HIVEHOOK_KEY"), arg_of(r)); };
  for (int i = 0; i < 5; ++i) h.land("t/" + std::to_string(i) + ".csv");
  // Finish jobs newest first, so that an order kept only by luck would show.
  while (!h.runner.jobs().empty()) {
    h.runner.finish(h.runner.jobs().size() - 1, 0);
    h.drain();
  }
  ASSERT_EQ(started.size(), 20u);
  for (int i = 0; i < 5; ++i) {
    std::string key = "t/" + std::to_string(i) + ".csv";
    auto at = [&](const std::string& step) {
      return std::find(started.begin(), started.end(), std::make_pair(key, step)) - started.begin();
    };
    EXPECT_LT(at("validate"), at("load")) << key;
    EXPECT_LT(at("load"), at("report")) << key;
    EXPECT_EQ(h.state(key), ObjectState::archived);
  }
}

}  // namespace
}  // namespace hivehook::test

namespace hivehook::test {
namespace {

// F2 of issue 14's new-user test: a rule removed by a reload left its waiting objects waiting
// forever in the running daemon (only a restart settled them).
TEST(Requires, RemovingAWaitingRuleOnReloadEndsItsWaitingTasks) {
  PipelineHarness h(kRequires);
  h.land(day_key(1));
  h.land(day_key(2));
  EXPECT_TRUE(h.runner.jobs().empty());
  std::string yaml = kRequires;
  yaml.erase(yaml.find("  - name: facts\n"));
  write_file(h.dir.path() / "rules.yaml", yaml);
  Diagnostics diags;
  auto r = load_rules(h.config.rules, h.config, diags);
  ASSERT_TRUE(r) << diags.str();
  h.pipeline->set_rules(std::make_shared<const RuleSet>(std::move(*r)));
  h.drain();
  EXPECT_EQ(h.events("task.skipped").size(), 2u);
  EXPECT_TRUE(h.runner.jobs().empty()) << "the removed rule's job does not run";
  EXPECT_EQ(h.state(day_key(1)), ObjectState::quarantined);
  EXPECT_EQ(h.state(day_key(2)), ObjectState::quarantined);
}

}  // namespace
}  // namespace hivehook::test

namespace hivehook::test {
namespace {

// Issue 14, G4 of the new-user retest: v1 waits (requires:), is rewritten (v2), and at the release
// v1 is superseded and v2 runs — but v1's task went waiting -> queued and stayed so: `status` said
// "1 queued for a worker" for good. A task that never ran ends (skipped) with its object.
TEST(Requires, ASupersededWaitingObjectLeavesNoTaskQueued_G4) {
  PipelineHarness h(kRequires);
  h.land(day_key(1), "v1");
  ASSERT_EQ(h.events("task.waiting").size(), 1u);
  h.land(day_key(1), "v2, corrected");  // rewritten while it waits: the same object until it runs
  h.land("dim_products/p.csv");
  finish(h, "dim_products/p.csv");
  h.land("dim_customers/c.csv");
  finish(h, "dim_customers/c.csv");
  h.drain();
  EXPECT_EQ(h.events("object.superseded").size(), 1u);
  ASSERT_EQ(running(h), std::vector<std::string>{day_key(1)}) << "v2 runs";
  finish(h, day_key(1));
  EXPECT_EQ(h.state(day_key(1)), ObjectState::archived);
  auto q = h.store->db().prepare("SELECT COUNT(*) FROM tasks WHERE state IN ('queued','waiting','retry_wait')");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.int64(0), 0) << "v1's task ended with it";
  EXPECT_EQ(present_counts(*h.store).queued, 0);
}


// Issue 14 retest 3, G2: a builtin noop run ends inside start_run, and its end pumped the queue
// again from there: pump -> start_run -> on_run_exit -> pump -> ..., one set of stack frames per
// queued task. 20,000 noop tasks released at once by requires: overflowed the daemon's 8 MiB
// stack (SIGSEGV, and again at every restart). Here 3,000 of them are released on a thread with
// a 512 KiB stack, which the recursion overflowed; the loop needs a few frames whatever the count.
TEST(Requires, G2_ThousandsOfNoopTasksReleasedAtOnceDoNotRecursePerTask) {
  const char* rules = R"(rules:
  - name: dim
    match: {prefix: dim/}
    job: {command: [/bin/true, "{key}"]}
  - name: facts
    match: {prefix: transactions/}
    job: {builtin: noop}
    requires: [dim]
)";
  PipelineHarness h(rules);
  constexpr int kObjects = 3000;
  for (int i = 0; i < kObjects; ++i) h.land("transactions/day=" + std::to_string(i % 30 + 1) + "/f" + std::to_string(i) + ".csv");
  ASSERT_EQ(h.pipeline->waiting_objects(), static_cast<std::size_t>(kObjects));
  h.land("dim/d.csv");

  struct Call {
    PipelineHarness* h;
  } call{&h};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void* p) -> void* {
                  finish(*static_cast<Call*>(p)->h, "dim/d.csv");  // releases all of them at once
                  return nullptr;
                },
                &call),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);

  EXPECT_EQ(h.events("task.released").size(), static_cast<std::size_t>(kObjects));
  EXPECT_EQ(h.pipeline->waiting_objects(), 0u);
  EXPECT_EQ(h.events("run.succeeded").size(), static_cast<std::size_t>(kObjects) + 1);
  EXPECT_EQ(h.state("transactions/day=1/f0.csv"), ObjectState::archived);
  EXPECT_EQ(h.state("transactions/day=30/f2999.csv"), ObjectState::archived);
}

}  // namespace
}  // namespace hivehook::test
