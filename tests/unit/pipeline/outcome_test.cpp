// Fan-out final actions: every matching rule runs; the object's one final action waits for all.
#include "harness.h"

namespace hivehook::test {
namespace {

std::string two_rules(const std::string& a_success, const std::string& b_success, const std::string& b_failure) {
  return R"(rules:
  - name: a
    match: {prefix: t/}
    job: {command: [/bin/true]}
    retries: 0
    on_success: {action: )" + a_success + R"(, notify: [hook]}
    on_failure: {action: quarantine, notify: [hook]}
  - name: b
    match: {prefix: t/}
    job: {command: [/bin/true]}
    retries: 0
    on_success: {action: )" + b_success + R"(}
    on_failure: {action: )" + b_failure + R"(, notify: [mail]}
)";
}

const char* kTargets = R"(notify:
  hook: {webhook: "http://127.0.0.1:9/hook"}
  mail: {webhook: "http://127.0.0.1:9/mail"}
)";

std::vector<std::string> outbox_targets(PipelineHarness& h) {
  std::vector<std::string> out;
  for (const auto& o : h.store->pending_outbox(INT64_MAX, 100)) out.push_back(o.target + ":" + o.event);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FanOut, TheFinalActionWaitsForEveryRule) {
  PipelineHarness h(two_rules("archive", "delete", "keep"), kTargets);
  h.land("t/a.csv");
  ASSERT_EQ(h.runner.jobs().size(), 2u);
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::pending) << "rule b still runs";
  EXPECT_TRUE(h.exists(Area::landing, "t/a.csv"));
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived) << "archive beats delete";
  EXPECT_EQ(outbox_targets(h), std::vector<std::string>{"hook:object.succeeded"});
}

TEST(FanOut, KeepBeatsArchive) {
  PipelineHarness h(two_rules("archive", "keep", "keep"), kTargets);
  h.land("t/a.csv");
  h.runner.finish(0, 0);
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::kept);
  EXPECT_TRUE(h.exists(Area::landing, "t/a.csv"));
}

TEST(FanOut, OneRuleFailingForGoodQuarantinesAndNotifiesTheFailedRulesTargets) {
  PipelineHarness h(two_rules("archive", "archive", "quarantine"), kTargets);
  h.land("t/a.csv");
  h.runner.finish(0, 0);  // a succeeds
  h.runner.finish(0, 3);  // b fails, no retries
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::quarantined);
  EXPECT_TRUE(h.exists(Area::quarantine, "t/a.csv"));
  auto report = nlohmann::json::parse(read_file(h.files->path(Area::quarantine, "t/a.csv.error.json")));
  ASSERT_EQ(report["failed_runs"].size(), 1u);
  EXPECT_EQ(report["failed_runs"][0]["rule"], "b");
  EXPECT_EQ(report["failed_runs"][0]["exit_code"], 3);
  EXPECT_EQ(outbox_targets(h), std::vector<std::string>{"mail:object.failed"});
  EXPECT_EQ(h.pipeline->failures(), 1u);
}

TEST(FanOut, ADifferentFileAtTheKeyIsNotMovedAsTheDecidedOne) {
  PipelineHarness h(two_rules("archive", "archive", "keep"), kTargets);
  h.land("t/a.csv", "first");
  h.runner.finish(0, 0);
  h.put("t/a.csv.new", "second, longer");
  std::filesystem::rename(h.files->path(Area::landing, "t/a.csv.new"), h.files->path(Area::landing, "t/a.csv"));
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_FALSE(h.exists(Area::archive, "t/a.csv")) << "the replacement was not archived under the old object";
  EXPECT_EQ(h.events("object.discovered").size(), 2u) << "the new bytes are a new arrival";
}

}  // namespace
}  // namespace hivehook::test
