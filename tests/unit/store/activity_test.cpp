// store/activity: the console's per-minute charts.
#include "store/activity.h"

#include <gtest/gtest.h>

#include "unit/support/temp_dir.h"
#include <unistd.h>

#include <filesystem>

namespace hivehook {
namespace {

namespace fs = std::filesystem;

// Issue 15, fault 13: a job sleeping 4 s that started the moment its file was found showed a
// "file → job" latency of 4005 ms: the run's end was measured, not its start.
TEST(Activity, LatencyIsDiscoveryToTheJobsStartNotItsEnd) {
  const test::TempDir tmp;
  const fs::path& dir = tmp.path();
  fs::create_directories(dir);
  {
    Store s(dir / "hivehook.db", Store::Mode::owner);
    const int64_t minute = 1700000040000 / 60000 * 60000;
    auto add = [&](const std::string& key, int64_t discovered, int64_t started, int64_t ended, int attempt) {
      ObjectRecord o;
      o.id = s.next_object_id();
      o.key = key;
      o.etag = "e";
      o.sequencer = "1";
      o.discovered_at = discovered;
      s.insert_object(o);
      RunRecord r;
      r.run_id = new_uuid();
      r.object_id = o.id;
      r.key = key;
      r.rule = "load";
      r.attempt = attempt;
      r.started_at = started;
      s.insert_run(r);
      r.state = RunState::succeeded;
      r.ended_at = ended;
      r.duration_ms = ended - started;
      s.finish_run(r);
    };
    add("t/a", minute + 1000, minute + 1003, minute + 5005, 1);  // started 3 ms after discovery, ran 4 s
    add("t/b", minute + 2000, minute + 2010, minute + 6000, 1);
    add("t/c", minute + 100, minute + 30000, minute + 31000, 2);  // a retry: its backoff is not latency
    s.commit();
    auto m = activity(s, minute + 59000, 1);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].runs, 3);
    EXPECT_EQ(m[0].latency_p50_ms, 3);
    EXPECT_EQ(m[0].latency_max_ms, 10);
  }
}

}  // namespace
}  // namespace hivehook
