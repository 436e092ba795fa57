// Discovery and admission, settle: a hint becomes an object once, whatever way it arrives.
#include "harness.h"

namespace hivehook::test {
namespace {

const char* kNoop = R"(rules:
  - name: noop
    match: {prefix: t/}
    job: {builtin: noop}
)";

const char* kRecord = R"(rules:
  - name: record
    match: {prefix: t/}
    job: {command: [/bin/true, "{key}"]}
)";

TEST(Discovery, AFileOfferedTwiceIsOneObject) {
  PipelineHarness h(kRecord);
  h.put("t/a.csv", "one");
  h.pipeline->offer("t/a.csv");
  h.pipeline->offer("t/a.csv");  // IN_CLOSE_WRITE and a scan, say
  h.drain();
  h.pipeline->scan(h.config.landing);
  h.drain();
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  EXPECT_EQ(h.runner.jobs()[0].request.process.argv.back(), "t/a.csv");
  h.runner.finish();
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_TRUE(h.exists(Area::archive, "t/a.csv"));
}

TEST(Discovery, UnmatchedKeysAreRecordedOnceAndLeftInPlace) {
  PipelineHarness h(kNoop);
  h.land("other/x.csv");
  h.pipeline->scan(h.config.landing);
  h.drain();
  EXPECT_EQ(h.events("object.unmatched"), std::vector<std::string>{"object.unmatched other/x.csv"});
  EXPECT_EQ(h.state("other/x.csv"), ObjectState::unmatched);
  EXPECT_TRUE(h.exists(Area::landing, "other/x.csv"));
}

TEST(Discovery, IgnoredNamesSymlinksAndBadKeysAreRecordedOnceAndNeverTouched) {
  PipelineHarness h(kNoop);
  h.put("t/.hidden.csv");
  h.put("t/part.csv.part");
  std::filesystem::create_symlink("/etc/hostname", h.dir.path() / "landing/t/link.csv");
  for (int i = 0; i < 2; ++i) {
    h.pipeline->scan(h.config.landing);
    h.drain();
  }
  EXPECT_EQ(h.events("object.ignored").size(), 3u);
  EXPECT_TRUE(h.events("object.discovered").empty());
  EXPECT_TRUE(std::filesystem::is_symlink(h.dir.path() / "landing/t/link.csv"));
}

TEST(Discovery, SameContentAgainIsADuplicateMovedWithoutRunning) {
  PipelineHarness h(kNoop);
  h.land("t/a.csv", "day one");
  ASSERT_EQ(h.state("t/a.csv"), ObjectState::archived);
  h.land("t/a.csv", "day one");  // a re-upload of the same bytes
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::duplicate);
  EXPECT_FALSE(h.exists(Area::landing, "t/a.csv"));
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
  h.land("t/a.csv", "day one, corrected");  // new content: a new object, archived beside the first
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.events("object.discovered").size(), 2u);
}

TEST(Settle, AFileIsAdmittedOnlyAfterStayingQuietForTheSettlePeriod) {
  PipelineHarness h(R"(rules:
  - name: slow-writer
    match: {prefix: t/}
    job: {builtin: noop}
    settle: 5s
)");
  h.land("t/a.csv", "12");
  h.advance(std::chrono::milliseconds(4900));
  EXPECT_TRUE(h.events("object.discovered").empty()) << "still settling";
  h.put("t/a.csv", "1234");  // the writer goes on
  h.advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(h.events("object.discovered").empty()) << "changed during the period: wait again";
  h.advance(std::chrono::seconds(5));
  h.advance(std::chrono::seconds(5));
  ASSERT_EQ(h.events("object.discovered").size(), 1u);
  EXPECT_EQ(h.store->last_object("t/a.csv")->size, 4u) << "the whole file, not the first bytes";
  EXPECT_TRUE(h.pipeline->idle());
}

TEST(Settle, AFileGoneWhileSettlingLeavesNothing) {
  PipelineHarness h(R"(rules:
  - name: slow-writer
    match: {prefix: t/}
    job: {builtin: noop}
    settle: 2s
)");
  h.land("t/a.csv");
  std::filesystem::remove(h.dir.path() / "landing/t/a.csv");
  h.advance(std::chrono::seconds(3));
  EXPECT_FALSE(h.state("t/a.csv"));
  EXPECT_TRUE(h.pipeline->idle());
}

}  // namespace
}  // namespace hivehook::test
