// The schedules part of `hivehook status` and /api/v1/status (daemon/status_report.h): a time that
// came due is "missed" only while no daemon runs to fire it.
#include <gtest/gtest.h>
#include <filesystem>

#include "daemon/status_report.h"
#include "store/orchestration_state.h"
#include "store/store.h"
#include "unit/support/temp_dir.h"

namespace hivehook {
namespace {

class ScheduleTimesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.landing = dir_ / "landing";
    config_.archive = dir_ / "archive";
    config_.quarantine = dir_ / "quarantine";
    config_.state = dir_ / "hivehook.db";
    config_.rules = dir_ / "rules";
    config_.bucket = "landing";
  }

  RuleSet nightly() {
    RuleSet in;
    in.sources = {{dir_ / "rules" / "r.yaml",
                   "rules:\n  - name: refresh\n    schedule: \"0 2 * * *\"\n    job: {command: [/bin/true]}\n"}};
    Diagnostics diags;
    auto rules = load_rules(in.sources, config_, diags);
    EXPECT_TRUE(rules) << diags.str();
    return rules ? std::move(*rules) : RuleSet{};
  }

  test::TempDir dir_;
  Config config_;
};

// 2024-01-01T00:00:00Z and 02:00:00Z in unix ms.
constexpr int64_t kMidnight = 1704067200000;
constexpr int64_t kTwo = kMidnight + 2 * 3600 * 1000;
SystemTime from_ms(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

// The fault (the orchestration new-user test, under load): `status` polled between 02:00 and the
// daemon's firing said "a time missed while no daemon ran" beside "daemon: running".
TEST_F(ScheduleTimesTest, ADueTimeIsMissedOnlyWhileNoDaemonRuns) {
  const RuleSet rules = nightly();
  ASSERT_EQ(rules.rules.size(), 1u);
  Store store(config_.state, Store::Mode::owner);
  store.add_event(AuditEvent{.event = "schedule.added", .rule = "refresh"});
  OrchestrationState(store).put_schedule(ScheduleRecord{.rule = "refresh", .last_fired_for = kMidnight});
  store.commit();

  const SystemTime before = from_ms(kTwo - 1000);
  const SystemTime at = from_ms(kTwo + 1000);
  EXPECT_FALSE(schedule_times(rules, &store, before, 1, /*daemon_runs=*/false)[0]["missed"]) << "not due yet";
  EXPECT_TRUE(schedule_times(rules, &store, at, 1, /*daemon_runs=*/false)[0]["missed"]) << "due, nobody to fire it";
  EXPECT_FALSE(schedule_times(rules, &store, at, 1, /*daemon_runs=*/true)[0]["missed"]) << "due, being fired";
  EXPECT_EQ(schedule_times(rules, &store, at, 1, true)[0]["next"][0], "2024-01-02T02:00:00.000Z");
}

}  // namespace
}  // namespace hivehook
