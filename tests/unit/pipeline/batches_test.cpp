// batch: on the manual clock and scripted jobs: a group completed by its marker, by a count and by
// quiet time runs its job once, after its members' own rules ended, with every member in
// Records[]; a failed member skips it (all_success); kill -9 while a batch is open loses no member,
// a quiet time passed while down completes it at start, a run cut off by a crash runs again once.
#include <nlohmann/json.hpp>

#include "harness.h"
#include "pipeline/batches.h"
#include "store/partitions.h"

namespace hivehook::test {
namespace {

using namespace std::chrono_literals;

std::string rules_with(const std::string& when, int retries = 0) {
  return R"(rules:
  - name: load
    match: {glob: "sales/day=*/*.csv"}
    job: {command: [/bin/true]}
    retries: )" + std::to_string(retries) + R"(
  - name: daily
    match: {glob: "sales/day=*/*"}
    batch: {group: "{table}/{partition.day}", when: )" + when + R"(}
    job: {command: [/bin/echo, "{group}", "{partition.day}"]}
    retries: 1
    backoff: {initial: 1s, max: 1s}
)";
}

struct BatchHarness {
  explicit BatchHarness(const std::string& rules) : h(rules) { start(); }
  void start() {
    b = std::make_unique<Batches>(h.config, *h.store, *h.batch, *h.stats, *h.pipeline,
                                  Batches::Seams{h.clock, h.clock, h.runner});
    h.pipeline->on_admitted = [this](const ObjectRecord& rec, const ObjectKey& key, const std::vector<const Rule*>&) {
      b->on_admitted(rec, key);
    };
    h.pipeline->on_ended = [this](const ObjectRecord& rec) { b->on_ended(rec); };
    h.pipeline->awaits_marker = [this](const ObjectKey& key) { return b->awaits_marker(key); };
    h.pipeline->on_first_success = [this](const std::string& rule) { b->on_first_success(rule); };
    b->start(h.rules, true);
    h.drain();
  }
  // kill -9, `d` of downtime, start again (recovery, then the batches).
  void down_for(Duration d) {
    b.reset();
    h.runner.forget_all();
    h.clock.advance(d);
    h.restart();
    start();
  }
  // Ends every running member job ("load") with `exit_code`, then lets the outcomes land.
  void finish_loads(int exit_code = 0) {
    for (std::size_t i = 0; i < h.runner.jobs().size();) {
      if (h.runner.jobs()[i].request.rule == "load") h.runner.finish(i, exit_code);
      else ++i;
    }
    h.drain();
    h.drain();
  }
  // The batch jobs running now.
  std::vector<JobRequest> batch_jobs() {
    std::vector<JobRequest> out;
    for (const auto& j : h.runner.jobs())
      if (j.request.rule == "daily") out.push_back(j.request);
    return out;
  }
  void finish_batch(int exit_code = 0) {
    for (std::size_t i = 0; i < h.runner.jobs().size(); ++i)
      if (h.runner.jobs()[i].request.rule == "daily") {
        h.runner.finish(i, exit_code);
        break;
      }
    h.drain();
  }
  static std::vector<std::string> record_keys(const JobRequest& r) {
    auto e = nlohmann::json::parse(r.process.stdin_data);
    std::vector<std::string> keys;  // the keys as written (Records[] has them URL-encoded, as S3 sends them)
    for (const auto& o : e["hivehook"]["objects"]) keys.push_back(o["key"]);
    EXPECT_EQ(e["Records"].size(), keys.size());
    return keys;
  }
  PipelineHarness h;
  std::unique_ptr<Batches> b;
};

TEST(Batches, AMarkerCompletesTheGroupAndTheJobRunsOnceAfterTheMembersEnded) {
  BatchHarness t(rules_with("{marker: _SUCCESS}"));
  t.h.land("sales/day=01/a.csv");
  t.h.land("sales/day=01/b.csv");
  EXPECT_EQ(t.h.events("batch.opened").size(), 1u);
  EXPECT_TRUE(t.h.events("batch.completed").empty());
  t.h.land("sales/day=01/_SUCCESS");
  EXPECT_EQ(t.h.events("batch.completed").size(), 1u);
  EXPECT_TRUE(t.batch_jobs().empty()) << "the members' own loads still run";
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  const JobRequest job = t.batch_jobs()[0];
  EXPECT_EQ(BatchHarness::record_keys(job), (std::vector<std::string>{"sales/day=01/a.csv", "sales/day=01/b.csv"}))
      << "one record per member, the marker not listed";
  EXPECT_EQ(job.process.argv, (std::vector<std::string>{"/bin/echo", "sales/01", "01"}));
  EXPECT_EQ(job.process.env.at("HIVEHOOK_GROUP"), "sales/01");
  auto e = nlohmann::json::parse(job.process.stdin_data);
  EXPECT_EQ(e["Records"][0]["s3"]["object"]["key"], "sales/day%3D01/a.csv") << "an S3 event record per member";
  EXPECT_EQ(e["Records"][0]["eventName"], "ObjectCreated:Put");
  EXPECT_EQ(e["hivehook"]["reason"], "marker");
  EXPECT_EQ(e["hivehook"]["objects"][0]["state"], "archived");
  EXPECT_NE(e["hivehook"]["objects"][0]["path"].get<std::string>().find("/archive/"), std::string::npos);
  t.finish_batch();
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 1u);
  EXPECT_EQ(t.h.state("sales/day=01/_SUCCESS"), ObjectState::archived) << "the marker is an object, archived";
  // A second marker later is a new generation: it runs again, on its own.
  t.h.land("sales/day=02/a.csv");
  t.finish_loads();
  EXPECT_TRUE(t.batch_jobs().empty()) << "day 2 has no marker yet";
}

TEST(Batches, AMarkerSeenBeforeTheGroupsFilesWaitsForThem) {
  BatchHarness t(rules_with("{marker: _SUCCESS}"));
  // A start-up scan in key order offers "_SUCCESS" before "a.csv", both before the loop turns.
  t.h.put("sales/day=01/_SUCCESS");
  t.h.put("sales/day=01/a.csv");
  t.h.pipeline->offer("sales/day=01/_SUCCESS");
  t.h.pipeline->offer("sales/day=01/a.csv");
  t.h.drain();
  t.h.drain();
  EXPECT_EQ(t.h.events("batch.opened").size(), 1u) << "the data file joins the batch its marker completed";
  EXPECT_TRUE(t.batch_jobs().empty());
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  EXPECT_EQ(BatchHarness::record_keys(t.batch_jobs()[0]), std::vector<std::string>{"sales/day=01/a.csv"});
}

// The fault: a marker that arrived (in real time) before its group's data files ran the batch
// with no member. It completes the group; the batch waits for its first data file.
TEST(Batches, AMarkerThatArrivesBeforeAnyDataFileNeverRunsAnEmptyBatch) {
  BatchHarness t(rules_with("{marker: _SUCCESS}"));
  t.h.land("sales/day=01/_SUCCESS");
  t.h.drain();
  EXPECT_EQ(t.h.state("sales/day=01/_SUCCESS"), ObjectState::archived) << "the marker ended";
  EXPECT_EQ(t.h.events("batch.completed").size(), 1u);
  EXPECT_TRUE(t.batch_jobs().empty()) << "no empty batch";
  EXPECT_TRUE(t.h.events("batch.started").empty());
  t.down_for(1min);  // also not at the next start
  EXPECT_TRUE(t.batch_jobs().empty());
  t.h.land("sales/day=01/a.csv");
  EXPECT_TRUE(t.batch_jobs().empty()) << "its load runs first";
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  EXPECT_EQ(BatchHarness::record_keys(t.batch_jobs()[0]), std::vector<std::string>{"sales/day=01/a.csv"});
  EXPECT_EQ(t.h.events("batch.opened").size(), 1u) << "the data file joined the marker's batch";
}

TEST(Batches, ACountCompletesTheGroupAndTheNextObjectOpensAnother) {
  BatchHarness t(rules_with("{count: 2}"));
  t.h.land("sales/day=01/a.csv");
  t.finish_loads();
  EXPECT_TRUE(t.batch_jobs().empty());
  t.h.land("sales/day=01/b.csv");
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  EXPECT_EQ(BatchHarness::record_keys(t.batch_jobs()[0]).size(), 2u);
  t.finish_batch();
  t.h.land("sales/day=01/c.csv");
  EXPECT_EQ(t.h.events("batch.opened").size(), 2u) << "generation 2";
  t.finish_loads();
  EXPECT_TRUE(t.batch_jobs().empty());
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 1u);
}

TEST(Batches, QuietTimeCompletesTheGroupAndEachNewObjectRestartsIt) {
  BatchHarness t(rules_with("{quiet: 10s}"));
  t.h.land("sales/day=01/a.csv");
  t.finish_loads();
  t.h.advance(9s);
  t.h.land("sales/day=01/b.csv");  // 9 s after a: the quiet time starts over
  t.finish_loads();
  t.h.advance(9999ms);
  EXPECT_TRUE(t.h.events("batch.completed").empty());
  EXPECT_TRUE(t.batch_jobs().empty());
  t.h.advance(1ms);
  EXPECT_EQ(t.h.events("batch.completed").size(), 1u);
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  EXPECT_EQ(BatchHarness::record_keys(t.batch_jobs()[0]).size(), 2u);
}

TEST(Batches, AFailedMemberSkipsTheBatchAsAllSuccessWould) {
  BatchHarness t(rules_with("{count: 2}"));
  t.h.land("sales/day=01/a.csv");
  t.h.land("sales/day=01/b.csv");
  t.finish_loads(1);  // retries: 0, so both fail for good and are quarantined
  EXPECT_EQ(t.h.state("sales/day=01/a.csv"), ObjectState::quarantined);
  EXPECT_TRUE(t.batch_jobs().empty());
  EXPECT_EQ(t.h.events("batch.skipped").size(), 1u);
  EXPECT_TRUE(t.h.events("batch.started").empty());
}

TEST(Batches, KillNineWhileOpenLosesNoMemberAndRunsOnce) {
  BatchHarness t(rules_with("{count: 3}"));
  t.h.land("sales/day=01/a.csv");
  t.h.land("sales/day=01/b.csv");
  t.finish_loads();
  t.down_for(1s);
  t.h.land("sales/day=01/c.csv");
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  EXPECT_EQ(BatchHarness::record_keys(t.batch_jobs()[0]).size(), 3u);
  t.finish_batch();
  t.down_for(1s);
  EXPECT_TRUE(t.batch_jobs().empty()) << "an ended batch never runs again";
  EXPECT_EQ(t.h.events("run.started").size(), 4u) << "three loads and one batch run";
}

TEST(Batches, AQuietTimePassedWhileDownCompletesAndRunsOnceAtStart) {
  BatchHarness t(rules_with("{quiet: 1m}"));
  t.h.land("sales/day=01/a.csv");
  t.finish_loads();
  t.down_for(5min);
  EXPECT_EQ(t.h.events("batch.completed").size(), 1u);
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  t.finish_batch();
  t.down_for(5min);
  EXPECT_EQ(t.h.events("batch.completed").size(), 1u);
  EXPECT_TRUE(t.batch_jobs().empty());
}

TEST(Batches, ARunCutOffByACrashRunsAgainOnceAtStart) {
  BatchHarness t(rules_with("{count: 1}"));
  t.h.land("sales/day=01/a.csv");
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  t.down_for(1s);  // kill -9 while the batch job runs
  EXPECT_EQ(t.h.events("batch.resumed").size(), 1u);
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  EXPECT_EQ(t.batch_jobs()[0].attempt, 2);
  t.finish_batch();
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 1u);
  t.down_for(1s);
  EXPECT_TRUE(t.batch_jobs().empty());
}

TEST(Batches, AFailedRunIsRetriedThenFails) {
  BatchHarness t(rules_with("{count: 1}"));
  t.h.land("sales/day=01/a.csv");
  t.finish_loads();
  t.finish_batch(1);
  EXPECT_EQ(t.h.events("run.retry_scheduled").size(), 1u);
  t.h.advance(1s);
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  t.finish_batch(1);
  EXPECT_EQ(t.h.events("batch.failed").size(), 1u);
}

// Issue 14, F14 of the new-user test: batch runs ignored `workers` and the rule's `concurrency` —
// four complete days of a `concurrency: 1` batch rule ran four summaries at once with `workers: 1`.
// They now wait for a worker like object runs, counted as queued meanwhile.
TEST(Batches, BatchRunsObeyWorkersAndTheRulesConcurrency_F14) {
  BatchHarness t(R"(rules:
  - name: other
    match: {prefix: o/}
    job: {command: [/bin/true]}
  - name: daily
    match: {glob: "t/day=*/*"}
    batch: {group: "{partition.day}", when: {count: 1}}
    concurrency: 1
    job: {command: [/bin/echo, "{group}"]}
)");
  for (const char* day : {"1", "2", "3"}) t.h.land(std::string("t/day=") + day + "/a");
  t.h.drain();
  EXPECT_EQ(t.h.events("batch.started").size(), 3u) << "three days complete";
  ASSERT_EQ(t.batch_jobs().size(), 1u) << "concurrency: 1 — one summary at a time";
  EXPECT_EQ(t.h.stats->m.jobs_queued.value(), 2.0) << "the other two wait for the rule's slot";
  EXPECT_EQ(t.h.stats->m.jobs_running.value(), 1.0);
  EXPECT_EQ(t.h.events("run.started").size(), 1u) << "a queued batch has no run yet";
  t.finish_batch();
  ASSERT_EQ(t.batch_jobs().size(), 1u) << "the next day's summary starts when the first ends";
  t.finish_batch();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  t.finish_batch();
  EXPECT_TRUE(t.batch_jobs().empty());
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 3u);
  EXPECT_EQ(t.h.stats->m.jobs_queued.value(), 0.0);
  EXPECT_EQ(t.h.stats->m.jobs_running.value(), 0.0);
}

TEST(Batches, ABatchRunWaitsForAWorkerHeldByAnObjectRun_F14) {
  BatchHarness t(R"(rules:
  - name: other
    match: {prefix: o/}
    job: {command: [/bin/true]}
  - name: daily
    match: {glob: "t/day=*/*"}
    batch: {group: "{partition.day}", when: {count: 1}}
    job: {command: [/bin/echo, "{group}"]}
)");
  // `workers: 1` by a reload, as an operator would set it.
  t.h.pipeline->set_workers(1);
  t.h.land("o/x");
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.h.land("t/day=1/a");
  EXPECT_EQ(t.h.events("batch.started").size(), 1u);
  EXPECT_TRUE(t.batch_jobs().empty()) << "workers: 1 is taken by the object run";
  t.h.land("o/y");
  EXPECT_EQ(t.h.runner.jobs().size(), 1u);
  t.h.runner.finish(0);  // o/x ends: the batch was ready first, so it runs before o/y
  t.h.drain();
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(t.h.runner.jobs()[0].request.rule, "daily") << "FIFO across rules: the batch became ready before o/y";
  t.finish_batch();
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(t.h.runner.jobs()[0].request.rule, "other");
}

// Issue 14, F5 of the new-user test: a.csv rewritten while its load ran, then _SUCCESS. The old
// version ended superseded, the batch ran at once over it, and the current file opened generation
// 2, which waited forever for a marker that had already come. Now the new version takes the old
// one's place in the batch, which runs once, after the new version's load, over it.
TEST(Batches, AFileRewrittenBeforeItsMarkerIsBatchedAsItsCurrentVersion_F5) {
  BatchHarness t(rules_with("{marker: _SUCCESS}"));
  t.h.land("sales/day=01/a.csv", "v1");
  t.h.land("sales/day=01/b.csv", "b");
  ASSERT_EQ(t.h.runner.jobs().size(), 2u) << "both loads run";
  t.h.put("sales/day=01/a.csv", "version 2, longer");  // rewritten while its load runs
  t.h.land("sales/day=01/_SUCCESS");
  EXPECT_EQ(t.h.events("batch.completed").size(), 1u);
  t.finish_loads();  // v1's load ends: v1 is superseded, v2 is offered, admitted and its load starts
  t.h.drain();
  EXPECT_EQ(t.h.events("object.superseded").size(), 1u);
  EXPECT_TRUE(t.batch_jobs().empty()) << "the batch waits for the current version of a.csv";
  EXPECT_EQ(t.h.events("batch.opened").size(), 1u) << "no second generation";
  ASSERT_EQ(t.h.runner.jobs().size(), 1u) << "v2's load";
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  const JobRequest job = t.batch_jobs()[0];
  EXPECT_EQ(BatchHarness::record_keys(job), (std::vector<std::string>{"sales/day=01/b.csv", "sales/day=01/a.csv"}))
      << "each key once, at its current version";
  auto e = nlohmann::json::parse(job.process.stdin_data);
  for (const auto& o : e["hivehook"]["objects"]) EXPECT_EQ(o["state"], "archived") << o.dump();
  EXPECT_EQ(e["hivehook"]["objects"][1]["size"], 17) << "the rewritten file's size";
  t.finish_batch();
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 1u);
  EXPECT_TRUE(t.h.events("batch.opened").size() == 1u) << "nothing left collecting";
}

// Issue 14, G2 of the new-user retest: a day re-delivered after its summary ran (a.csv v2, then a
// fresh empty _SUCCESS, byte-identical to the first) — the marker was recorded object.duplicate and
// generation 2 collected forever. The marker a collecting generation waits for is never a duplicate.
TEST(Batches, ARedeliveredDaysIdenticalEmptyMarkerCompletesGenerationTwo_G2) {
  BatchHarness t(rules_with("{marker: _SUCCESS}"));
  t.h.land("sales/day=01/a.csv", "v1");
  t.h.land("sales/day=01/_SUCCESS", "");
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  t.finish_batch();
  ASSERT_EQ(t.h.events("batch.succeeded").size(), 1u);
  t.h.land("sales/day=01/a.csv", "v2, the corrected file");
  t.finish_loads();
  EXPECT_EQ(t.h.events("batch.opened").size(), 2u) << "generation 2";
  t.h.land("sales/day=01/_SUCCESS", "");
  EXPECT_TRUE(t.h.events("object.duplicate").empty()) << "the re-sent marker completes generation 2";
  EXPECT_EQ(t.h.events("batch.completed").size(), 2u);
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  auto e = nlohmann::json::parse(t.batch_jobs()[0].process.stdin_data);
  EXPECT_EQ(e["hivehook"]["generation"], 2);
  ASSERT_EQ(e["hivehook"]["objects"].size(), 1u);
  EXPECT_EQ(e["hivehook"]["objects"][0]["size"], 22) << "over v2";
  t.finish_batch();
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 2u);
  // A third identical marker with no generation collecting is what it was: a duplicate.
  t.h.land("sales/day=01/_SUCCESS", "");
  EXPECT_EQ(t.h.events("object.duplicate").size(), 1u);
  EXPECT_EQ(t.h.events("batch.opened").size(), 2u);
}

// Issue 14, G2 of the new-user retest, the queued case: `batch.started` is recorded when the batch
// is queued for a worker; a.csv rewritten while it waited opened generation 2 (collecting forever)
// and the job ran over v1. The job had not started, so v2 takes v1's place and the batch runs over it.
TEST(Batches, AFileRewrittenWhileItsBatchWaitsForAWorkerIsBatchedAsItsCurrentVersion_G2) {
  BatchHarness t(R"(rules:
  - name: long
    match: {prefix: long/}
    job: {command: [/bin/true]}
  - name: load
    match: {glob: "sales/day=*/*.csv"}
    job: {command: [/bin/true]}
  - name: daily
    match: {glob: "sales/day=*/*"}
    batch: {group: "{partition.day}", when: {marker: _SUCCESS}}
    job: {command: [/bin/echo, "{group}"]}
)");
  t.h.pipeline->set_workers(1);
  t.h.land("long/x1");
  t.h.land("sales/day=03/a.csv", "v1");
  t.h.land("sales/day=03/_SUCCESS", "");
  t.h.runner.finish(0);  // long/x1 ends: a.csv v1's load runs
  t.h.drain();
  t.h.land("long/x2");
  t.finish_loads();  // v1 archived: the batch is queued for the worker, behind long/x2
  ASSERT_EQ(t.h.events("batch.started").size(), 1u);
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  EXPECT_EQ(t.h.runner.jobs()[0].request.rule, "long");
  t.h.land("sales/day=03/a.csv", "v2, corrected");  // rewritten while the batch waits
  EXPECT_EQ(t.h.events("batch.opened").size(), 1u) << "no generation 2: the job has not started";
  t.h.runner.finish(0);  // long/x2 ends: the batch's turn, but v2 is not loaded yet
  t.h.drain();
  EXPECT_TRUE(t.batch_jobs().empty()) << "it waits for v2's load";
  t.finish_loads();
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  auto e = nlohmann::json::parse(t.batch_jobs()[0].process.stdin_data);
  ASSERT_EQ(e["hivehook"]["objects"].size(), 1u) << "a.csv once, at its current version";
  EXPECT_EQ(e["hivehook"]["objects"][0]["size"], 13);
  t.finish_batch();
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 1u);
  EXPECT_EQ(t.h.events("batch.opened").size(), 1u) << "nothing left collecting";
}

// Issue 14, G13 of the new-user retest: `requires:` on a batch rule was accepted and ignored — the
// day's batch ran before the reference table was ever loaded. It now holds the complete batch
// (`batch.waiting`, once) until the named rule's first success, across a restart too.
TEST(Batches, ABatchRulesRequiresHoldsItsCompleteBatchUntilTheFirstSuccess_G13) {
  BatchHarness t(R"(rules:
  - name: dims
    match: {prefix: dim/}
    job: {command: [/bin/true]}
  - name: daily
    match: {glob: "t/day=*/*"}
    requires: [dims]
    batch: {group: "{partition.day}", when: {count: 1}}
    job: {command: [/bin/echo, "{group}"]}
)");
  t.h.land("t/day=1/a");
  EXPECT_EQ(t.h.events("batch.completed").size(), 1u);
  EXPECT_TRUE(t.batch_jobs().empty()) << "dims never succeeded";
  EXPECT_EQ(t.h.events("batch.waiting").size(), 1u);
  EXPECT_TRUE(t.h.events("batch.started").empty());
  t.down_for(1s);
  EXPECT_TRUE(t.batch_jobs().empty()) << "still held after a restart";
  t.h.land("dim/x");
  ASSERT_EQ(t.h.runner.jobs().size(), 1u);
  t.h.runner.finish(0);  // dims' first success
  t.h.drain();
  t.h.drain();
  ASSERT_EQ(t.batch_jobs().size(), 1u) << "released by dims' first success";
  t.finish_batch();
  EXPECT_EQ(t.h.events("batch.succeeded").size(), 1u);
  t.h.land("t/day=2/a");  // from now on it runs at once
  EXPECT_EQ(t.batch_jobs().size(), 1u);
}

// Issue 14, F8 of the new-user test: `partitions` said nothing of a day's batch — a summary skipped
// because a member failed read "LAST RUN -". Each cell now lists the batches holding its objects.
TEST(Batches, APartitionShowsItsSkippedBatch_F8) {
  BatchHarness t(rules_with("{marker: _SUCCESS}"));
  t.h.land("sales/day=01/a.csv");
  t.h.land("sales/day=02/a.csv");
  t.h.land("sales/day=01/_SUCCESS");
  t.h.land("sales/day=02/_SUCCESS");
  // day 01's load fails (retries: 0), day 02's succeeds
  for (std::size_t i = 0; i < t.h.runner.jobs().size();) {
    const auto& req = t.h.runner.jobs()[i].request;
    if (req.rule != "load") { ++i; continue; }
    const bool fail = req.process.env.count("HIVEHOOK_KEY") && req.process.env.at("HIVEHOOK_KEY") == "sales/day=01/a.csv";
    t.h.runner.finish(i, fail ? 1 : 0);
  }
  t.h.drain();
  t.h.drain();
  ASSERT_EQ(t.h.events("batch.skipped").size(), 1u);
  ASSERT_EQ(t.batch_jobs().size(), 1u);
  t.finish_batch();
  std::map<std::string, std::string> state_of;
  for (const auto& c : partition_matrix(*t.h.store, PartitionFilter{.table = "sales"}))
    for (const auto& b : c.batches) state_of[c.partition] = b.rule + " " + b.group + " " + b.state;
  EXPECT_EQ(state_of["day=01"], "daily sales/01 skipped");
  EXPECT_EQ(state_of["day=02"], "daily sales/02 succeeded");
}

}  // namespace
}  // namespace hivehook::test
