// The file identity (issue 16 retest P9): a change of metadata only (chmod, chown, `touch -a`: the
// ctime moves, inode, size, mtime and bytes stay) is the same file, never a new arrival; a rewrite
// within the mtime's granularity (issue 10 item 2: same size, mtime put back) is still another file.
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "harness.h"

namespace hivehook::test {
namespace {

const char* kRecord = R"(rules:
  - name: record
    match: {prefix: t/}
    job: {command: [/bin/true, "{key}"]}
)";

const char* kKeep = R"(rules:
  - name: record
    match: {prefix: t/}
    job: {command: [/bin/true, "{key}"]}
    on_success: {action: keep}
)";

struct timespec ctime_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_ctim;
}

// chmod(2) back and forth until the kernel's (coarse) clock has moved the ctime: the file's mode ends
// as it was, its bytes, size, mtime and inode are untouched.
void change_metadata_only(const std::filesystem::path& p) {
  const struct timespec before = ctime_of(p);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(::chmod(p.c_str(), 0600), 0);
    ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
    const struct timespec now = ctime_of(p);
    if (now.tv_sec != before.tv_sec || now.tv_nsec != before.tv_nsec) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the next tick of the coarse clock
  }
  FAIL() << "the ctime of " << p << " never moved";
}

// The same size, new bytes, and the old mtime put back: what a rewrite within one tick of the
// mtime's clock looks like (or `cp -p`/`rsync --inplace -t` over it): only the ctime moved. Done
// again until the kernel's coarse clock has moved the ctime.
void rewrite_keeping_size_and_mtime(const std::filesystem::path& p, const std::string& bytes) {
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  for (int i = 0; i < 2000; ++i) {
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);  // in place: the same inode
      out << bytes;
    }
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
    const struct timespec now = ctime_of(p);
    if (now.tv_sec != st.st_ctim.tv_sec || now.tv_nsec != st.st_ctim.tv_nsec) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  FAIL() << "the ctime of " << p << " never moved";
}

std::size_t count(const std::vector<std::string>& events, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& e : events) n += e.rfind(prefix, 0) == 0;
  return n;
}

// Turns the loop until `done`, waiting for the hash thread's answers meanwhile (bounded).
template <typename F>
bool drain_until(PipelineHarness& h, F done) {
  for (int i = 0; i < 2000; ++i) {
    h.drain();
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(Identity, P9AChmodDuringItsRunIsNotANewArrivalAndItRunsOnce) {
  PipelineHarness h(kRecord);
  h.land("t/a.csv", "one");
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  change_metadata_only(h.dir.path() / "landing/t/a.csv");
  h.runner.finish();
  h.drain();
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.runner.started(), 1);
  EXPECT_EQ(h.events("object.superseded").size(), 0u);
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
}

TEST(Identity, P9AChmodWhileItsArchiveMoveFailsIsNotANewArrival) {
  PipelineHarness h(kRecord);
  int failures = 1;
  h.files->on_move = [&](const std::string&, Area, LocalFileOps&) -> std::optional<MoveResult> {
    if (failures-- > 0) return failed_with(EACCES, "cannot move");
    return std::nullopt;
  };
  h.land("t/a.csv", "one");
  h.runner.finish();
  h.drain();
  ASSERT_EQ(h.state("t/a.csv"), ObjectState::move_failed);
  change_metadata_only(h.dir.path() / "landing/t/a.csv");  // the runbook's "fix permissions"
  h.pipeline->offer("t/a.csv", Hint::scanned);             // a reconcile meanwhile
  h.advance(std::chrono::minutes(6));                      // the move's retry
  EXPECT_EQ(h.state("t/a.csv"), ObjectState::archived);
  EXPECT_EQ(h.runner.started(), 1);
  EXPECT_EQ(h.events("object.superseded").size(), 0u);
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
}

TEST(Identity, P9AChmodBeforeItsRunStartsLetsItRunOnce) {
  PipelineHarness h(R"(rules:
  - name: record
    match: {prefix: t/}
    job: {command: [/bin/true, "{key}"]}
    concurrency: 1
)");
  h.land("t/a.csv", "one");
  h.land("t/b.csv", "two");  // queued behind a.csv
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  change_metadata_only(h.dir.path() / "landing/t/b.csv");
  h.runner.finish();
  h.drain();
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  EXPECT_EQ(h.runner.jobs()[0].request.process.argv.back(), "t/b.csv");
  h.runner.finish();
  h.drain();
  EXPECT_EQ(h.state("t/b.csv"), ObjectState::archived);
  EXPECT_EQ(h.runner.started(), 2);
  EXPECT_EQ(h.events("object.superseded").size(), 0u);
}

// Big files are compared on the hash thread; the final move waits for the answer.
TEST(Identity, P9AChmodOfABigFileIsComparedOffTheLoopAndItRunsOnce) {
  PipelineHarness h(kRecord);
  const std::string big(5 << 20, 'x');  // above kHashOffLoopBytes
  h.put("t/big.csv", big);
  h.pipeline->offer("t/big.csv");
  ASSERT_TRUE(drain_until(h, [&] { return h.runner.jobs().size() == 1u; }));
  change_metadata_only(h.dir.path() / "landing/t/big.csv");
  h.runner.finish();
  ASSERT_TRUE(drain_until(h, [&] { return h.state("t/big.csv") == ObjectState::archived; }));
  EXPECT_EQ(h.runner.started(), 1);
  EXPECT_EQ(h.events("object.superseded").size(), 0u);
}

// Issue 10 item 2 stays caught: a same-size rewrite whose mtime is the old one moves only the
// ctime too, but its bytes differ: the object is superseded and the new bytes run.
TEST(Identity, P9ASameSizeRewriteWithinTheMtimeGranularityIsStillSuperseded) {
  PipelineHarness h(kRecord);
  h.land("t/same.csv", "AAAAAAAAAA");
  ASSERT_EQ(h.runner.jobs().size(), 1u);
  rewrite_keeping_size_and_mtime(h.dir.path() / "landing/t/same.csv", "BBBBBBBBBB");
  h.runner.finish();
  h.drain();
  EXPECT_EQ(count(h.events("object.superseded"), "object.superseded t/same.csv"), 1u);
  ASSERT_EQ(h.runner.jobs().size(), 1u) << "the new bytes run";
  h.runner.finish();
  h.drain();
  EXPECT_EQ(h.state("t/same.csv"), ObjectState::archived);
  EXPECT_EQ(h.events("object.discovered").size(), 2u);
}

// A file kept in landing (on_success: keep) chmodded afterwards: the next scan hashes it, finds the
// same bytes, records the new ctime and runs nothing; a same-size rewrite is a new arrival.
TEST(Identity, P9AKeptFileWhoseMetadataChangedIsNotRunAgainByAScan) {
  PipelineHarness h(kKeep);
  h.land("t/k.csv", "kept");
  h.runner.finish();
  h.drain();
  ASSERT_EQ(h.state("t/k.csv"), ObjectState::kept);
  const auto p = h.dir.path() / "landing/t/k.csv";
  change_metadata_only(p);
  for (int i = 0; i < 2; ++i) {  // the second scan compares with the ctime recorded by the first
    h.pipeline->scan(h.config.landing);
    h.drain();
  }
  EXPECT_EQ(h.runner.started(), 1);
  EXPECT_EQ(h.events("object.discovered").size(), 1u);
  EXPECT_EQ(h.state("t/k.csv"), ObjectState::kept);
  rewrite_keeping_size_and_mtime(p, "KEPT");
  h.pipeline->scan(h.config.landing);
  h.drain();
  EXPECT_EQ(h.runner.started(), 2) << "new bytes at the key run";
}

// The one definition every check uses.
TEST(Identity, P9CompareIdentityTellsMetadataOnlyFromAnotherFile) {
  const FileIdentity was{7, 10, 1000, 2000};
  EXPECT_EQ(compare_identity(was, was), IdentityMatch::same);
  EXPECT_EQ(compare_identity({7, 10, 1000, 0}, was), IdentityMatch::same);  // recorded before ctimes
  EXPECT_EQ(compare_identity(was, {7, 10, 1000, 3000}), IdentityMatch::metadata_only);
  EXPECT_EQ(compare_identity(was, {8, 10, 1000, 2000}), IdentityMatch::different);
  EXPECT_EQ(compare_identity(was, {7, 11, 1000, 2000}), IdentityMatch::different);
  EXPECT_EQ(compare_identity(was, {7, 10, 1001, 2000}), IdentityMatch::different);
}

}  // namespace
}  // namespace hivehook::test
