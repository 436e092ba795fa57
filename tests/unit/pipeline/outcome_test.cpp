// Fan-out final actions: every matching rule runs; the object's one final action waits for all.
#include <cstdio>

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

// Fault 4 (a full or read-only archive parked files as `kept`, a success): one failure policy for
// every side effect, injected at the file-operations seam, both ways.
const char* kArchive = R"(rules:
  - name: a
    match: {prefix: t/}
    job: {command: [/bin/true]}
    retries: 0
)";

TEST(SideEffectFailure, AFailedArchiveMoveIsMoveFailedRetriedWithBackoffNeverKept) {
  PipelineHarness h(kArchive);
  int calls = 0;
  h.files->on_move = [&](const std::string&, Area, LocalFileOps&) -> std::optional<MoveResult> {
    ++calls;
    return failed_with(ENOSPC, "cannot copy into archive/t/a.csv");
  };
  h.land("t/a.csv");
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::move_failed);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(h.exists(Area::landing, "t/a.csv"));
  EXPECT_EQ(h.pipeline->stuck(), 1u);
  EXPECT_EQ(h.events("object.move_failed").size(), 1u);
  auto rec = h.store->last_object("t/a.csv");
  ASSERT_TRUE(rec);
  EXPECT_NE(rec->error.find("No space left on device"), std::string::npos) << rec->error;
  h.advance(std::chrono::seconds(2));  // backoff: retried, still failing, announced again
  EXPECT_GE(calls, 2);
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::move_failed);
  h.files->on_move = nullptr;  // space is back
  h.advance(std::chrono::minutes(6));
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_TRUE(h.exists(Area::archive, "t/a.csv"));
  EXPECT_EQ(h.pipeline->stuck(), 0u);
  EXPECT_TRUE(h.events("object.kept").empty()) << "a failed move is never recorded as kept";
}

// Issue 15 (a replay's file left in landing): a replay from the archive gives the archived file a
// second name in landing (link(2)); once archived, the copy at the archive key shares its inode and
// was taken for this object's finished move, so the landing name stayed.
TEST(SideEffectFailure, AFileWithASecondNameInTheArchiveIsStillMovedOutOfLanding) {
  PipelineHarness h(kArchive);
  h.put("t/a.csv", "good bytes");
  std::filesystem::create_directories(h.files->path(Area::archive, "t"));
  std::filesystem::create_hard_link(h.files->path(Area::landing, "t/a.csv"), h.files->path(Area::archive, "t/a.csv"));
  h.pipeline->offer("t/a.csv");
  h.drain();
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_FALSE(h.exists(Area::landing, "t/a.csv")) << "the landing name is dropped";
  EXPECT_TRUE(h.exists(Area::archive, "t/a.csv"));
}

// Issue 10 retest T12: a write in place during a copy across filesystems put the new bytes in the
// archive under the old eTag (or lost a write the copy had passed). The mover now reports such a
// move as source_rewritten (archive/mover.cpp, pinned by MoverTest.T12_*): the object ends
// superseded and the new bytes are a new arrival, run and archived under their own eTag.
TEST(SideEffectFailure, T12_AFileRewrittenDuringItsMoveEndsSupersededAndItsNewBytesAreANewArrival) {
  PipelineHarness h(kArchive);
  int calls = 0;
  h.files->on_move = [&](const std::string& key, Area, LocalFileOps& real) -> std::optional<MoveResult> {
    if (++calls > 1) return std::nullopt;
    std::FILE* f = std::fopen(real.path(Area::landing, key).c_str(), "r+");  // in place: same inode
    std::fputs("rewritten", f);
    std::fclose(f);
    MoveResult r = failed_with(ESTALE, "landing/t/a.csv was rewritten during its move");
    r.source_rewritten = true;
    return r;
  };
  h.land("t/a.csv", "first");
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.events("object.superseded").size(), 1u);
  EXPECT_TRUE(h.events("object.archived").empty()) << "nothing archived under the old object";
  EXPECT_TRUE(h.events("object.move_failed").empty());
  EXPECT_EQ(h.events("object.discovered").size(), 2u) << "the new bytes are a new arrival";
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.events("run.started").size(), 2u);
}

// Issue 10 retest T11: a folder on the file's path made unreadable after its run (EACCES on the
// stat) was recorded `vanished` with the file still in landing, and ran again once fixed. It is
// move_failed (retried, shown), then archived without a second run.
TEST(SideEffectFailure, T11_AFolderThatCannotBeLookedAtAfterTheRunIsMoveFailedNotVanished) {
  PipelineHarness h(kArchive);
  h.land("t/a.csv");
  bool denied = true;
  h.files->on_stat = [&](const std::string&) -> std::optional<FileInfo> {
    if (!denied) return std::nullopt;
    FileInfo info;
    info.error = EACCES;
    return info;
  };
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::move_failed);
  EXPECT_TRUE(h.events("object.vanished").empty());
  auto rec = h.store->last_object("t/a.csv");
  ASSERT_TRUE(rec);
  EXPECT_NE(rec->error.find("Permission denied"), std::string::npos) << rec->error;
  EXPECT_EQ(h.pipeline->stuck(), 1u);
  denied = false;  // the folder is readable again
  h.advance(std::chrono::minutes(6));
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.events("run.started").size(), 1u) << "no second run";
}

// Issue 10 retest T18: the archive rotated while the daemon ran (`mv archive archive.old && mkdir
// archive`): files went into the old folder while the store recorded the new path; removed
// instead, every move failed until a restart with an error naming a folder that existed. The
// trees follow the folder at their configured path, as landing's does.
TEST(SideEffectFailure, T18_AnArchiveRotatedWhileTheDaemonRunsIsFollowedAtItsPath) {
  PipelineHarness h(kArchive);
  const std::filesystem::path archive = h.files->path(Area::archive, "x").parent_path();
  const std::filesystem::path rotated = archive.parent_path() / "archive.old";
  h.land("t/a.csv");
  h.runner.finish(0, 0);
  h.drain();
  ASSERT_EQ(h.state("t/a.csv"), ObjectState::archived);
  std::filesystem::rename(archive, rotated);
  std::filesystem::create_directory(archive);
  h.land("t/b.csv");
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/b.csv"), ObjectState::archived);
  EXPECT_TRUE(std::filesystem::exists(archive / "t/b.csv")) << "where the store says it is";
  EXPECT_FALSE(std::filesystem::exists(rotated / "t/b.csv"));
  EXPECT_TRUE(std::filesystem::exists(rotated / "t/a.csv"));
  std::filesystem::rename(archive, archive.parent_path() / "archive.older");  // gone, not made again
  h.land("t/c.csv");
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/c.csv"), ObjectState::move_failed);
  auto rec = h.store->last_object("t/c.csv");
  ASSERT_TRUE(rec);
  EXPECT_NE(rec->error.find("the archive folder " + archive.string() + " cannot be reached"), std::string::npos)
      << rec->error;
  std::filesystem::create_directory(archive);
  h.advance(std::chrono::minutes(6));
  EXPECT_EQ(h.state("t/c.csv"), ObjectState::archived);
  EXPECT_TRUE(std::filesystem::exists(archive / "t/c.csv"));
}

TEST(SideEffectFailure, AFailedMoveIsRetriedAfterARestart) {
  PipelineHarness h(kArchive);
  h.files->on_move = [](const std::string&, Area, LocalFileOps&) -> std::optional<MoveResult> {
    return failed_with(EROFS, "cannot rename into archive/t/a.csv");
  };
  h.land("t/a.csv");
  h.runner.finish(0, 0);
  h.drain();
  ASSERT_EQ(h.state("t/a.csv"), ObjectState::move_failed);
  h.files->on_move = nullptr;
  h.restart();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.events("run.started").size(), 1u) << "decided before the restart: moved without running again";
}

TEST(SideEffectFailure, AFailedDeleteIsMoveFailedNotDeleted) {
  PipelineHarness h(R"(rules:
  - name: d
    match: {prefix: t/}
    job: {command: [/bin/true]}
    on_success: {action: delete}
)");
  h.files->on_remove = [](const std::string&) -> std::optional<MoveResult> {
    return failed_with(EACCES, "cannot delete landing/t/a.csv");
  };
  h.land("t/a.csv");
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::move_failed);
  EXPECT_TRUE(h.events("object.deleted").empty());
  h.files->on_remove = nullptr;
  h.advance(std::chrono::seconds(3));
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::deleted);
  EXPECT_FALSE(h.exists(Area::landing, "t/a.csv"));
}

TEST(SideEffectFailure, AQuarantineWhoseErrorReportFailsIsRetriedUntilTheReportIsWritten) {
  PipelineHarness h(R"(rules:
  - name: q
    match: {prefix: t/}
    job: {command: [/bin/false]}
    retries: 0
)");
  h.files->on_report = [](const std::string& key) -> std::optional<FsStatus> {
    return FsStatus(FsError{ENOSPC, "cannot write quarantine/" + key + ".error.json: No space left on device"});
  };
  h.land("t/a.csv");
  h.runner.finish(0, 1);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::move_failed);
  EXPECT_TRUE(h.exists(Area::quarantine, "t/a.csv")) << "the move itself worked";
  h.advance(std::chrono::seconds(3));  // the retry finds it in quarantine; the report fails again
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::move_failed) << "never recorded final while the report fails";
  h.files->on_report = nullptr;
  h.advance(std::chrono::seconds(10));
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::quarantined);
  EXPECT_TRUE(h.exists(Area::quarantine, "t/a.csv.error.json"));
}

TEST(SideEffectFailure, ARulesKeepIsHonouredWhateverItsNotifyList) {
  PipelineHarness h(R"(rules:
  - name: k
    match: {prefix: t/}
    job: {command: [/bin/true]}
    on_success: {action: keep}
)");
  h.land("t/a.csv");
  h.runner.finish(0, 0);
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::kept);
  EXPECT_TRUE(h.exists(Area::landing, "t/a.csv"));
}

// The object machine's table: a failed move can never be recorded as a final state, and nothing
// leaves a final state.
TEST(ObjectMachine, MoveFailedIsNotFinalAndFinalStatesHaveNoWayOut) {
  EXPECT_FALSE(is_terminal(ObjectState::move_failed));
  EXPECT_TRUE(object_edge_allowed(ObjectState::succeeded, ObjectState::move_failed));
  EXPECT_TRUE(object_edge_allowed(ObjectState::move_failed, ObjectState::archived));
  EXPECT_FALSE(object_edge_allowed(std::nullopt, ObjectState::archived));
  EXPECT_FALSE(object_edge_allowed(ObjectState::pending, ObjectState::archived)) << "decided first";
  for (ObjectState end : {ObjectState::archived, ObjectState::deleted, ObjectState::kept, ObjectState::quarantined,
                          ObjectState::failed_kept, ObjectState::vanished, ObjectState::superseded}) {
    EXPECT_TRUE(is_terminal(end));
    for (ObjectState to : {ObjectState::pending, ObjectState::succeeded, ObjectState::failed,
                           ObjectState::move_failed, ObjectState::archived})
      if (to != end) EXPECT_FALSE(object_edge_allowed(end, to)) << to_string(end) << " -> " << to_string(to);
  }
}

// R10 (issue 12 re-test): a file left in landing that a client deletes through the S3 API ends
// `deleted`; an object that left landing already (archived, quarantined) cannot.
TEST(ObjectMachine, R10AFileLeftInLandingMayEndDeletedAfterItsEnd) {
  for (ObjectState rest : {ObjectState::unmatched, ObjectState::kept, ObjectState::failed_kept, ObjectState::ignored})
    EXPECT_TRUE(object_edge_allowed(rest, ObjectState::deleted)) << to_string(rest);
  for (ObjectState gone : {ObjectState::archived, ObjectState::quarantined, ObjectState::vanished, ObjectState::superseded})
    EXPECT_FALSE(object_edge_allowed(gone, ObjectState::deleted)) << to_string(gone);
}

}  // namespace
}  // namespace hivehook::test
