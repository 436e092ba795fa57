// Admission of files inotify saw created (issue 16 retest P14): a file a writer created is admitted
// on its close, not on the recency rule, when no lease can say whether it is still open.
#include <unistd.h>

#include "harness.h"

namespace hivehook::test {
namespace {

const char* kRecord = R"(rules:
  - name: record
    match: {prefix: t/}
    job: {command: [/bin/true, "{key}"]}
)";

// What LocalFileOps::probe says of another user's file (no lease) unchanged for kRecentWindow.
void no_lease_and_quiet(PipelineHarness& h) {
  h.files->on_probe = [](const std::string&) -> std::optional<Admission> { return Admission::quiet; };
}

TEST(Admission, P14AFileAWriterCreatedWaitsForItsCloseThoughQuietForLongerThanTheRecentWindow) {
  PipelineHarness h(kRecord);
  no_lease_and_quiet(h);
  h.put("t/slow.csv", "part1\n");
  h.pipeline->offer("t/slow.csv", Hint::created);  // IN_CREATE; the uploader then pauses
  h.drain();
  for (int i = 0; i < 5; ++i) h.advance(kRecentWindow);  // 10 s: looked at again every 2 s
  EXPECT_TRUE(h.events("object.discovered").empty()) << "admitted while its writer still had it open";
  EXPECT_EQ(h.pipeline->busy().count("t/slow.csv"), 1u) << "shown as still being written";
  h.put("t/slow.csv", "part1\npart2\npart3\n");
  h.pipeline->offer("t/slow.csv", Hint::written);  // IN_CLOSE_WRITE
  h.drain();
  ASSERT_EQ(h.events("object.discovered").size(), 1u);
  EXPECT_EQ(h.runner.started(), 1);
  EXPECT_TRUE(h.pipeline->busy().empty());
}

// A file never closed (a log) or whose close was lost (an overflow): after kAwaitCloseMax the
// recency rule decides, with a warning.
TEST(Admission, P14TheWaitForACloseIsBoundedByKAwaitCloseMax) {
  PipelineHarness h(kRecord);
  no_lease_and_quiet(h);
  h.put("t/log.csv", "line\n");
  h.pipeline->offer("t/log.csv", Hint::created);
  h.drain();
  const int looks = static_cast<int>(std::chrono::seconds(kAwaitCloseMax) / kRecentWindow);
  for (int i = 0; i < looks - 1; ++i) h.advance(kRecentWindow);
  EXPECT_TRUE(h.events("object.discovered").empty());
  for (int i = 0; i < 3; ++i) h.advance(kRecentWindow);
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
  EXPECT_TRUE(h.pipeline->busy().empty());
}

// A hard link (cp -l, rsync --link-dest) appears with IN_CREATE and no close ever: two links, so
// no writer's close is awaited; the admission check decides as before.
TEST(Admission, P14AHardLinkCreatedInLandingIsNotKeptWaitingForAClose) {
  PipelineHarness h(kRecord);
  no_lease_and_quiet(h);
  h.put("t/orig.bin", "linked");
  ASSERT_EQ(::link((h.dir.path() / "landing/t/orig.bin").c_str(), (h.dir.path() / "landing/t/l.csv").c_str()), 0);
  h.pipeline->offer("t/l.csv", Hint::created);
  h.drain();
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
}

// A file found by a scan has no inotify history: the recency rule (here: quiet) admits it.
TEST(Admission, P14AFileFoundByAScanIsAdmittedOnTheRecencyRule) {
  PipelineHarness h(kRecord);
  no_lease_and_quiet(h);
  h.put("t/s.csv", "scanned");
  h.pipeline->offer("t/s.csv", Hint::scanned);
  h.drain();
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
}

}  // namespace
}  // namespace hivehook::test
