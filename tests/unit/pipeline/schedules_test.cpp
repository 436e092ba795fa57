// schedule: rules on the manual clock: firing on time (every second with a seconds field), the
// EventBridge event, retries, durability across kill -9 (an open firing runs again), catch-up of a
// time missed while down (once), first sight, and `requires:` naming a schedule rule.
#include <nlohmann/json.hpp>

#include "harness.h"
#include "pipeline/schedules.h"

namespace hivehook::test {
namespace {

using namespace std::chrono_literals;

// The harness's pipeline plus the schedules, rebuilt together on every restart.
struct ScheduleHarness {
  explicit ScheduleHarness(const std::string& rules) : h(rules) { start(); }
  void start() {
    s = std::make_unique<Schedules>(h.config, *h.store, *h.batch, *h.stats, *h.pipeline,
                                    Schedules::Seams{h.clock, h.clock, h.runner});
    s->start(h.rules);
    h.drain();
  }
  // kill -9: nothing uncommitted survives, running jobs are forgotten; then start-up as the daemon does.
  void kill9() {
    s.reset();
    h.restart();
    start();
  }
  // The daemon is down for `d`: no timer runs meanwhile.
  void down_for(Duration d) {
    s.reset();
    h.runner.forget_all();
    h.clock.advance(d);
    h.restart();
    start();
  }
  std::vector<nlohmann::json> fired() {
    std::vector<nlohmann::json> out;
    for (const auto& e : h.store->events_after(0, 100000))
      if (e.event == "schedule.fired") out.push_back(e.detail);
    return out;
  }
  PipelineHarness h;
  std::unique_ptr<Schedules> s;
};

const char* kEverySecond = R"(rules:
  - name: tick
    schedule: "* * * * * *"
    job: {command: [/bin/true]}
    retries: 1
    backoff: {initial: 10s, max: 10s}
)";

const char* kNightly = R"(rules:
  - name: refresh
    schedule: "0 2 * * *"
    job: {command: [/bin/true]}
)";

TEST(Schedules, AScheduleSeenForTheFirstTimeNeverFiresForThePast) {
  ScheduleHarness t(kNightly);
  EXPECT_TRUE(t.h.runner.jobs().empty());
  EXPECT_EQ(t.h.events("schedule.added").size(), 1u);
  t.h.advance(2h - 1s);  // the manual clock starts at 2024-01-01T00:00:00Z
  EXPECT_TRUE(t.h.runner.jobs().empty()) << "not before 02:00";
  t.h.advance(1s);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(t.fired().at(0)["scheduled_time"], "2024-01-01T02:00:00.000Z");
}

TEST(Schedules, FiresEverySecondWithAnEventBridgeScheduledEvent) {
  ScheduleHarness t(kEverySecond);
  for (int i = 1; i <= 3; ++i) {
    t.h.advance(1s);
    ASSERT_EQ(t.h.runner.jobs().size(), 1u) << "firing " << i;
    const JobRequest& req = t.h.runner.jobs()[0].request;
    auto event = nlohmann::json::parse(req.process.stdin_data);
    EXPECT_EQ(event["detail-type"], "Scheduled Event");
    EXPECT_EQ(event["source"], "aws.events");
    EXPECT_EQ(event["resources"][0], "arn:aws:events:us-east-1:000000000000:rule/tick");
    EXPECT_EQ(event["time"], "2024-01-01T00:00:0" + std::to_string(i) + "Z");
    EXPECT_EQ(event["id"], req.run_id);
    EXPECT_EQ(req.process.env.at("HIVEHOOK_RULE"), "tick");
    t.h.runner.finish(0, 0);
    t.h.drain();
  }
  EXPECT_EQ(t.h.events("run.succeeded").size(), 3u);
  auto runs = t.h.store->runs_in_state(RunState::succeeded);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].object_id, 0) << "a scheduled run has no object";
}

TEST(Schedules, AFiringDueWhileThePreviousIsStillOpenIsSkipped) {
  ScheduleHarness t(kEverySecond);
  t.h.advance(1s);
  t.h.advance(1s);
  EXPECT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(t.h.events("schedule.skipped").size(), 1u);
}

TEST(Schedules, AFailedRunIsRetriedAfterItsBackoffThenTheFiringEnds) {
  ScheduleHarness t(R"(rules:
  - name: refresh
    schedule: "0 2 * * *"
    job: {command: [/bin/true]}
    retries: 1
    backoff: {initial: 10s, max: 10s}
)");
  t.h.advance(2h);
  t.h.runner.finish(0, 1);
  t.h.drain();
  EXPECT_EQ(t.h.events("run.retry_scheduled").size(), 1u);
  t.h.advance(10s);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(t.h.runner.jobs()[0].request.attempt, 2);
  t.h.runner.finish(0, 1);
  t.h.drain();
  EXPECT_EQ(t.h.events("schedule.failed").size(), 1u);
  t.h.advance(24h);
  EXPECT_EQ(t.h.runner.jobs().size(), 1u) << "the next night fires as usual";
}

TEST(Schedules, AFiringMissedWhileDownRunsOnceAtStartForTheLatestMissedTime) {
  ScheduleHarness t(kNightly);
  t.down_for(72h + 3h);  // from 2024-01-01T00:00 to 01-04T03:00: four nights missed
  ASSERT_EQ(t.h.runner.jobs().size(), 1u) << "once, not four times";
  auto f = t.fired();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0]["catch_up"], true);
  // The latest time missed (Airflow's catchup=False), not the oldest (the fault: it named the first).
  EXPECT_EQ(f[0]["scheduled_time"], "2024-01-04T02:00:00.000Z") << "the latest time missed";
  EXPECT_EQ(f[0]["missed_since"], "2024-01-01T02:00:00.000Z") << "and since when";
  auto event = nlohmann::json::parse(t.h.runner.jobs()[0].request.process.stdin_data);
  EXPECT_EQ(event["hivehook"]["catch_up"], true);
  EXPECT_EQ(event["time"], "2024-01-04T02:00:00Z");
  t.h.runner.finish(0, 0);
  t.h.drain();
  t.kill9();
  EXPECT_TRUE(t.h.runner.jobs().empty()) << "caught up once: not again after a restart";
  t.h.advance(23h - 1s);  // now 2024-01-04T03:00; the next time is 2024-01-05T02:00
  EXPECT_TRUE(t.h.runner.jobs().empty());
  t.h.advance(1s);
  EXPECT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(t.fired().back()["catch_up"], false);
}

TEST(Schedules, CatchUpFalseSkipsWhatWasMissed) {
  ScheduleHarness t(R"(rules:
  - name: refresh
    schedule: "0 2 * * *"
    catch_up: false
    job: {command: [/bin/true]}
)");
  t.down_for(27h);
  EXPECT_TRUE(t.h.runner.jobs().empty());
  EXPECT_EQ(t.h.events("schedule.skipped").size(), 1u);
  t.h.advance(23h);  // 2024-01-03T02:00
  EXPECT_EQ(t.h.runner.jobs().size(), 1u);
}

TEST(Schedules, AFiringCutOffByKill9RunsAgainAsANewAttempt) {
  ScheduleHarness t(kNightly);
  t.h.advance(2h);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.kill9();
  EXPECT_EQ(t.h.events("run.interrupted").size(), 1u);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u) << "the open firing runs again";
  EXPECT_EQ(t.h.runner.jobs()[0].request.attempt, 2);
  EXPECT_EQ(t.fired().size(), 1u) << "the same firing, not a new one";
  t.h.runner.finish(0, 0);
  t.h.drain();
  t.kill9();
  EXPECT_TRUE(t.h.runner.jobs().empty());
}

TEST(Schedules, AFiringResumedAfterALongDowntimeAlsoCoversTheTimesMissed) {
  ScheduleHarness t(kNightly);
  t.h.advance(2h);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.down_for(48h);  // cut off, and two more nights missed
  ASSERT_EQ(t.h.runner.jobs().size(), 1u) << "the open firing, run again";
  EXPECT_EQ(t.fired().size(), 1u) << "no catch-up beside it";
  t.h.runner.finish(0, 0);
  t.h.drain();
  t.kill9();
  EXPECT_TRUE(t.h.runner.jobs().empty()) << "the missed nights were covered by the resumed firing";
}

TEST(Schedules, RequiresMayNameAScheduleRule) {
  ScheduleHarness t(R"(rules:
  - name: refresh
    schedule: "0 2 * * *"
    job: {builtin: noop}
  - name: report
    match: {prefix: t/}
    requires: [refresh]
    job: {command: [/bin/true]}
)");
  t.h.land("t/a.csv");
  EXPECT_TRUE(t.h.runner.jobs().empty());
  t.h.advance(2h);
  EXPECT_EQ(t.h.runner.jobs().size(), 1u) << "released by the scheduled run's success";
}

// What README and docs/decisions.md say of a schedule edited while the daemon was down: the next
// start cannot tell when the edit was made, so it measures from the last firing — a time of the new
// expression since then is caught up once, and nothing older.
TEST(Schedules, AScheduleEditedWhileTheDaemonWasDownCatchesUpFromItsLastFiring) {
  ScheduleHarness t(kNightly);
  t.h.advance(3h);  // 02:00 fired; now 03:00
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.h.runner.finish(0, 0);
  t.h.drain();
  t.s.reset();
  std::string moved = kNightly;
  moved.replace(moved.find("0 2 * * *"), 9, "30 2 * * *");
  write_file(t.h.dir.path() / "rules.yaml", moved);
  Diagnostics diags;
  auto rules = load_rules(t.h.config.rules, t.h.config, diags);
  ASSERT_TRUE(rules) << diags.str();
  t.h.rules = std::make_shared<const RuleSet>(std::move(*rules));
  t.down_for(1h);  // edited while down; started at 04:00
  ASSERT_EQ(t.fired().size(), 2u);
  EXPECT_EQ(t.fired().back()["scheduled_time"], "2024-01-01T02:30:00.000Z") << "the new time since the last firing";
  EXPECT_EQ(t.fired().back()["catch_up"], true);
}

}  // namespace
}  // namespace hivehook::test

namespace hivehook::test {
namespace {

// F13 of issue 14's new-user test: a schedule edited while the daemon was up, then a restart: the
// start "caught up" the new expression's time that had passed before the edit (counted from the
// last firing under the old expression), a spurious run outside the job's window.
TEST(Schedules, AnEditedScheduleDoesNotCatchUpATimeThatPassedBeforeTheEdit) {
  ScheduleHarness t(kNightly);
  t.h.advance(10h);  // 02:00 fired; now 10:00
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.h.runner.finish(0, 0);
  t.h.drain();
  std::string moved = kNightly;
  moved.replace(moved.find("0 2 * * *"), 9, "0 3 * * *");
  write_file(t.h.dir.path() / "rules.yaml", moved);
  Diagnostics diags;
  auto rules = load_rules(t.h.config.rules, t.h.config, diags);
  ASSERT_TRUE(rules) << diags.str();
  t.h.rules = std::make_shared<const RuleSet>(std::move(*rules));
  t.s->set_rules(t.h.rules);
  t.h.drain();
  ASSERT_EQ(t.h.events("schedule.changed").size(), 1u);
  t.down_for(1h);  // restarted at 11:00: 03:00 today passed before the edit, while the daemon was up
  EXPECT_EQ(t.fired().size(), 1u) << "nothing caught up";
  EXPECT_TRUE(t.h.runner.jobs().empty());
  t.h.advance(16h);  // 03:00 the next night
  ASSERT_EQ(t.fired().size(), 2u);
  EXPECT_EQ(t.fired().back()["scheduled_time"], "2024-01-02T03:00:00.000Z");
  EXPECT_EQ(t.fired().back()["catch_up"], false);
}

// G5 of issue 14's new-user retest: the same edit while a firing is open (a long nightly job) made
// no schedule.changed, and the next start caught up a time of the new expression before the edit.
TEST(Schedules, AScheduleEditedWhileAFiringIsOpenDoesNotCatchUpATimeBeforeTheEdit_G5) {
  ScheduleHarness t(kNightly);
  t.h.advance(10h);  // 02:00 fired; its job still runs at 10:00
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  std::string moved = kNightly;
  moved.replace(moved.find("0 2 * * *"), 9, "0 3 * * *");
  write_file(t.h.dir.path() / "rules.yaml", moved);
  Diagnostics diags;
  auto rules = load_rules(t.h.config.rules, t.h.config, diags);
  ASSERT_TRUE(rules) << diags.str();
  t.h.rules = std::make_shared<const RuleSet>(std::move(*rules));
  t.s->set_rules(t.h.rules);
  t.h.drain();
  ASSERT_EQ(t.h.events("schedule.changed").size(), 1u) << "said while the firing is open";
  t.h.runner.finish(0, 0);  // the open firing ends as it is
  t.h.drain();
  EXPECT_EQ(t.h.events("run.succeeded").size(), 1u);
  t.down_for(1h);  // restarted at 11:00: 03:00 today passed before the edit, while the daemon was up
  EXPECT_EQ(t.fired().size(), 1u) << "nothing caught up";
  EXPECT_TRUE(t.h.runner.jobs().empty());
}

}  // namespace
}  // namespace hivehook::test

namespace hivehook::test {
namespace {

// F7 of issue 14's new-user test: times that came due while the daemon was down, behind a firing
// still open, were neither fired nor skipped: no trace. The resumed firing stands for them and says so.
TEST(Schedules, AResumedFiringSaysWhichTimesItStandsFor) {
  ScheduleHarness t(kNightly);
  t.h.advance(2h);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.down_for(48h);  // the 02:00 firing cut off; Jan 2 and Jan 3 02:00 came due while down
  nlohmann::json resumed;
  for (const auto& e : t.h.store->events_after(0, 100000))
    if (e.event == "schedule.resumed") resumed = e.detail;
  EXPECT_EQ(resumed["scheduled_time"], "2024-01-01T02:00:00.000Z");
  EXPECT_EQ(resumed["missed"], 2);
  EXPECT_EQ(resumed["missed_since"], "2024-01-02T02:00:00.000Z");
  EXPECT_EQ(resumed["missed_until"], "2024-01-03T02:00:00.000Z");
  t.h.runner.finish(0, 0);
  t.h.drain();
  t.down_for(1h);  // a restart with nothing open: no resumed event, nothing missed
  EXPECT_EQ(t.h.events("schedule.resumed").size(), 1u);
}

// Issue 14, F14 of the new-user test: a schedule's run started beside an object run with
// `workers: 1`. It now waits for the worker (and starts late, for the time it stands for).
TEST(Schedules, AScheduledRunWaitsForAWorker_F14) {
  ScheduleHarness t(R"(rules:
  - name: tick
    schedule: "*/10 * * * * *"
    job: {command: [/bin/true]}
  - name: other
    match: {prefix: o/}
    job: {command: [/bin/true]}
)");
  t.h.pipeline->set_workers(1);
  t.h.land("o/x");
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.h.advance(10s);
  EXPECT_EQ(t.fired().size(), 1u) << "it fires at its time";
  ASSERT_EQ(t.h.runner.jobs().size(), 1u) << "but its run waits for the one worker";
  EXPECT_EQ(t.h.stats->m.jobs_queued.value(), 1.0);
  t.h.runner.finish(0);
  t.h.drain();
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  const JobRequest& req = t.h.runner.jobs()[0].request;
  EXPECT_EQ(req.rule, "tick");
  EXPECT_EQ(req.process.env.at("HIVEHOOK_SCHEDULED_TIME"), "2024-01-01T00:00:10.000Z") << "the time it stands for";
}

TEST(Schedules, TwoSchedulesFiringTogetherShareOneWorker_F14) {
  ScheduleHarness t(R"(rules:
  - name: a
    schedule: "*/10 * * * * *"
    job: {command: [/bin/true]}
  - name: b
    schedule: "*/10 * * * * *"
    job: {command: [/bin/true]}
)");
  t.h.pipeline->set_workers(1);
  t.h.advance(10s);
  EXPECT_EQ(t.fired().size(), 2u);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u) << "workers: 1 holds for scheduled runs";
  t.h.runner.finish(0);
  t.h.drain();
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.h.runner.finish(0);
  t.h.drain();
  EXPECT_TRUE(t.h.runner.jobs().empty());
  EXPECT_EQ(t.h.events("run.succeeded").size(), 2u);
}

}  // namespace
}  // namespace hivehook::test

namespace hivehook::test {
namespace {

// Issue 14 G12: a firing failed for good runs again on request (`retry --schedule`), for its own
// scheduled time, as a new firing of it; refused for what is not such a firing.
TEST(Schedules, G12_AFiringThatFailedForGoodRunsAgainForItsScheduledTime) {
  ScheduleHarness t(R"(rules:
  - name: refresh
    schedule: "0 2 * * *"
    job: {command: [/bin/true]}
    retries: 0
  - name: load
    match: {prefix: t/}
    job: {command: [/bin/true]}
)");
  auto retry = [&](std::vector<std::string> names, bool dry_run = false) {
    ReplayRequest req;
    req.retry = true;
    req.dry_run = dry_run;
    req.schedules = std::move(names);
    req.asked_by = "cli: user ops (uid 1000)";
    auto out = t.s->retry(req, t.h.rules);
    t.h.drain();
    return out;
  };
  EXPECT_EQ(retry({"refresh"}).first, 409) << "never fired";
  t.h.advance(2h);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  const std::string first_run = t.h.runner.jobs()[0].request.run_id;
  auto [open_status, open_body] = retry({"refresh"});
  EXPECT_EQ(open_status, 409) << "its firing is running";
  EXPECT_NE(open_body["error"].get<std::string>().find("still open"), std::string::npos) << open_body;
  t.h.runner.finish(0, 1);  // retries: 0: failed for good
  t.h.drain();
  ASSERT_EQ(t.h.events("schedule.failed").size(), 1u);

  auto [unknown, unknown_body] = retry({"refrsh"});
  EXPECT_EQ(unknown, 400);
  EXPECT_EQ(unknown_body["error"], "no rule named 'refrsh' is in force (did you mean 'refresh'?)");
  auto [plain, plain_body] = retry({"load"});
  EXPECT_EQ(plain, 400);
  EXPECT_NE(plain_body["error"].get<std::string>().find("is not a schedule rule"), std::string::npos) << plain_body;
  EXPECT_EQ(retry({"refresh", "load"}).first, 400) << "all or nothing";
  EXPECT_TRUE(t.h.runner.jobs().empty());

  auto [dry, plan] = retry({"refresh"}, true);
  ASSERT_EQ(dry, 200) << plan;
  EXPECT_EQ(plan["retried"], 1);
  EXPECT_EQ(plan["schedules"][0]["scheduled_time"], "2024-01-01T02:00:00.000Z");
  EXPECT_EQ(plan["schedules"][0]["failed_run_id"], first_run);
  EXPECT_TRUE(t.h.runner.jobs().empty()) << "a dry run runs nothing";
  EXPECT_TRUE(t.h.events("schedule.retried").empty());

  t.h.advance(5h);  // 07:00: the retry comes later, the scheduled time stays 02:00
  auto [ok, done] = retry({"refresh"});
  ASSERT_EQ(ok, 200) << done;
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  const JobRequest& req = t.h.runner.jobs()[0].request;
  EXPECT_NE(req.run_id, first_run) << "a new run";
  EXPECT_EQ(req.attempt, 1) << "a new firing of the same time: attempts from 1";
  EXPECT_EQ(req.process.env.at("HIVEHOOK_SCHEDULED_TIME"), "2024-01-01T02:00:00.000Z");
  auto event = nlohmann::json::parse(req.process.stdin_data);
  EXPECT_EQ(event["time"], "2024-01-01T02:00:00Z");
  std::vector<nlohmann::json> retried;
  for (const auto& e : t.h.store->events_after(0, 100000))
    if (e.event == "schedule.retried") retried.push_back(e.detail);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0]["scheduled_time"], "2024-01-01T02:00:00.000Z");
  EXPECT_EQ(retried[0]["by"], "cli: user ops (uid 1000)");
  EXPECT_EQ(retried[0]["failed_run_id"], first_run);
  EXPECT_EQ(retry({"refresh"}).first, 409) << "open again while it runs";
  EXPECT_EQ(t.s->settled(), false);
  t.h.runner.finish(0, 0);
  t.h.drain();
  EXPECT_TRUE(t.s->settled());
  EXPECT_EQ(t.s->failures(), 1u) << "the first run's failure; the retry succeeded";
  auto [again, again_body] = retry({"refresh"});
  EXPECT_EQ(again, 409) << "its latest firing succeeded";
  EXPECT_NE(again_body["error"].get<std::string>().find("did not fail"), std::string::npos) << again_body;
  t.h.advance(19h);  // the next night fires as usual
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(t.h.runner.jobs()[0].request.process.stdin_data)["time"], "2024-01-02T02:00:00Z");
}

}  // namespace
}  // namespace hivehook::test
