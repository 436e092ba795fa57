#include "archive/mover.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "unit/support/temp_dir.h"

namespace hivehook {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::TempDir;
using test::write_file;

Tree open_tree(const fs::path& root) {
  fs::create_directories(root);
  auto t = Tree::open(root);
  if (!t) throw std::runtime_error(t.message());
  return std::move(*t);
}

class MoverTest : public ::testing::Test {
 protected:
  MoverTest() : landing(open_tree(tmp.path() / "landing")), archive(open_tree(tmp.path() / "archive")) {}
  void land(const std::string& key, const std::string& content) {
    fs::path p = landing.root() / key;
    fs::create_directories(p.parent_path());
    write_file(p, content);
  }
  fs::path in_landing(const std::string& key) const { return landing.root() / key; }
  // "" when /dev/shm is a filesystem of its own beside the test's folder (a move between them is
  // a copy), else why the cross-filesystem tests are skipped here.
  std::string no_other_filesystem() const {
    struct stat a, b;
    if (::stat("/dev/shm", &a) != 0 || !S_ISDIR(a.st_mode)) return "no /dev/shm";
    if (::stat(tmp.path().c_str(), &b) != 0) return "cannot stat the test's folder";
    return a.st_dev == b.st_dev ? "/dev/shm and the test's folder are the same filesystem" : "";
  }
  fs::path in_archive(const std::string& key) const { return archive.root() / key; }
  // No temp files left behind in the archive.
  void expect_no_temp_files() {
    for (const auto& e : fs::recursive_directory_iterator(archive.root()))
      EXPECT_EQ(e.path().filename().string().rfind(".hivehook-tmp-", 0), std::string::npos) << e.path();
  }

  TempDir tmp;
  Tree landing, archive;
};

TEST_F(MoverTest, RenamesIntoPartitionFolders) {
  const std::string key = "t/year=2023/x.csv";
  land(key, "hello");
  auto r = move_object(landing, key, archive, "1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_key, key);
  EXPECT_EQ(r.final_path, in_archive(key));
  EXPECT_FALSE(fs::exists(in_landing(key)));
  EXPECT_EQ(read_file(in_archive(key)), "hello");
  struct stat st;
  ASSERT_EQ(::stat(in_archive("t/year=2023").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0700, 0700u);
  EXPECT_EQ(st.st_mode & 0002, 0u);
}

TEST_F(MoverTest, DifferentEarlierObjectIsNeverOverwritten) {
  const std::string key = "t/year=2023/x.csv";
  land(key, "first");
  ASSERT_TRUE(move_object(landing, key, archive, "1").ok);
  land(key, "second!");
  auto r = move_object(landing, key, archive, "17");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_key, "t/year=2023/x.csv~17");
  EXPECT_EQ(read_file(in_archive(key)), "first");
  EXPECT_EQ(read_file(r.final_path), "second!");
  land(key, "fir5t");  // same size, other bytes: still different
  auto r3 = move_object(landing, key, archive, "18");
  ASSERT_TRUE(r3.ok) << r3.error;
  EXPECT_EQ(r3.final_key, "t/year=2023/x.csv~18");
  land(key, "fourth");  // the suffixed name taken by yet another object: a numbered variant
  auto r4 = move_object(landing, key, archive, "18");
  ASSERT_TRUE(r4.ok) << r4.error;
  EXPECT_EQ(r4.final_key, "t/year=2023/x.csv~18-2");
  EXPECT_EQ(read_file(r3.final_path), "fir5t");
}

TEST_F(MoverTest, IdenticalExistingObjectCountsAsAlreadyMoved) {
  const std::string key = "t/year=2023/x.csv";
  land(key, "same");
  ASSERT_TRUE(move_object(landing, key, archive, "1").ok);
  land(key, "same");
  auto r = move_object(landing, key, archive, "2");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_key, key);
  EXPECT_FALSE(fs::exists(in_landing(key)));
  EXPECT_FALSE(fs::exists(in_archive("t/year=2023/x.csv~2")));
}

// Finding F2 of issue 12's new-user test: a key re-uploaded with an earlier version's content (A,
// B, A again) was dropped as identical to the stored A, and B (stored later, greater ctime) kept
// reading as the key's latest version.
TEST_F(MoverTest, TheSameBytesStoredAgainBecomeTheLatestStoredVersion) {
  const std::string key = "t/x.csv";
  land(key, "A\n");
  ASSERT_TRUE(move_object(landing, key, archive, "1").ok);
  land(key, "B\n");
  ASSERT_EQ(move_object(landing, key, archive, "2").final_key, "t/x.csv~2");
  struct stat stored_b;
  ASSERT_EQ(::stat(in_archive("t/x.csv~2").c_str(), &stored_b), 0);
  // ctimes come from the kernel's coarse clock: wait until it has moved past B's.
  for (timespec now{}; ::clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0 &&
                       std::make_pair(now.tv_sec, now.tv_nsec) <= std::make_pair(stored_b.st_ctim.tv_sec, stored_b.st_ctim.tv_nsec);)
    std::this_thread::yield();
  land(key, "A\n");
  auto r = move_object(landing, key, archive, "3");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_key, key);
  struct stat a, b;
  ASSERT_EQ(::stat(in_archive(key).c_str(), &a), 0);
  ASSERT_EQ(::stat(in_archive("t/x.csv~2").c_str(), &b), 0);
  EXPECT_GT(std::make_pair(a.st_ctim.tv_sec, a.st_ctim.tv_nsec), std::make_pair(b.st_ctim.tv_sec, b.st_ctim.tv_nsec));
  EXPECT_EQ(read_file(in_archive(key)), "A\n");
}

TEST_F(MoverTest, MissingSourceIsReported) {
  auto r = move_object(landing, "t/gone.csv", archive, "1");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.source_missing);
  EXPECT_EQ(r.code, ENOENT);
  EXPECT_NE(r.error.find("gone.csv"), std::string::npos) << r.error;
}

TEST_F(MoverTest, KeysThatLeaveTheRootAreRefused) {
  land("t/a.csv", "x");
  const std::vector<std::string> keys{"../evil", "/abs", "a//b", "a/./b", "", std::string("a\0b", 3), "a/.."};
  for (const auto& key : keys) {
    auto r = move_object(landing, key, archive, "1");
    EXPECT_FALSE(r.ok) << key;
    EXPECT_EQ(r.code, EINVAL) << key << ": " << r.error;
  }
  EXPECT_TRUE(fs::exists(in_landing("t/a.csv")));
  EXPECT_FALSE(fs::exists(tmp.path() / "evil"));
}

TEST_F(MoverTest, NotARegularFileIsRefused) {
  fs::create_directories(in_landing("t/dir"));
  auto r = move_object(landing, "t/dir", archive, "1");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not a regular file"), std::string::npos);
}

TEST_F(MoverTest, PartitionPathBlockedByAFileIsAClearError) {
  fs::create_directories(in_archive("t"));
  write_file(in_archive("t/year=2023"), "a file where a folder should be");
  land("t/year=2023/x.csv", "x");
  auto r = move_object(landing, "t/year=2023/x.csv", archive, "1");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ENOTDIR) << r.error;
  EXPECT_FALSE(r.source_missing) << "the source is still there";
  EXPECT_NE(r.error.find("year=2023"), std::string::npos) << r.error;
}

// A folder of landing swapped for a symlink to somewhere else: nothing outside landing is moved.
TEST_F(MoverTest, ASymlinkSwappedInForAFolderIsNeverFollowed) {
  land("t/d=1/victim.txt", "inside");
  fs::path outside = tmp.path() / "outside";
  fs::create_directories(outside);
  write_file(outside / "victim.txt", "outside, must stay");
  fs::rename(in_landing("t/d=1"), in_landing("t/d=1.old"));
  fs::create_directory_symlink(outside, in_landing("t/d=1"));
  auto r = move_object(landing, "t/d=1/victim.txt", archive, "1");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.source_missing) << "no longer beneath landing: " << r.error;
  EXPECT_EQ(read_file(outside / "victim.txt"), "outside, must stay");
  EXPECT_FALSE(fs::exists(in_archive("t/d=1/victim.txt")));
  auto d = delete_object(landing, "t/d=1/victim.txt");
  EXPECT_FALSE(d.ok);
  EXPECT_TRUE(fs::exists(outside / "victim.txt"));
}

TEST_F(MoverTest, HostileNamesArePlainBytes) {
  const std::string dir = "-rf \"q'\n\xff\xfe $(x)";
  const std::string long_name = std::string(251, 'n') + ".csv";  // 255 bytes
  for (const std::string& name : {std::string("--help"), std::string("a\nb;rm -rf ~ *"), long_name}) {
    const std::string key = dir + "/" + name;
    land(key, "v1");
    auto r = move_object(landing, key, archive, "42");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(read_file(in_archive(key)), "v1");
    land(key, "v2");
    auto r2 = move_object(landing, key, archive, "42");
    ASSERT_TRUE(r2.ok) << r2.error;
    EXPECT_EQ(read_file(r2.final_path), "v2");
    EXPECT_EQ(r2.final_path.parent_path(), in_archive(dir));
    const std::string fname = r2.final_path.filename().string();
    EXPECT_LE(fname.size(), 255u);
    EXPECT_EQ(fname.substr(fname.size() - 3), "~42");
  }
}

TEST_F(MoverTest, AcrossFilesystemsCopiesKeepingModeOwnerAndTimes) {
  if (auto why = no_other_filesystem(); !why.empty()) GTEST_SKIP() << why;
  TempDir shm("/dev/shm");
  Tree src_tree = open_tree(shm.path());
  const std::string key = "t/year=2023/big.csv";
  std::string content(300 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 31 + 7);
  fs::path src = shm.path() / key;
  fs::create_directories(src.parent_path());
  write_file(src, content);
  ASSERT_EQ(::chmod(src.c_str(), 0640), 0);
  const bool root = ::geteuid() == 0;
  if (root) ASSERT_EQ(::chown(src.c_str(), 4321, 8765), 0);
  const struct timespec times[2] = {{1000000000, 0}, {1234567890, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, src.c_str(), times, 0), 0);

  auto r = move_object(src_tree, key, archive, "1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_path, in_archive(key));
  EXPECT_FALSE(fs::exists(src));
  EXPECT_EQ(read_file(in_archive(key)), content);
  struct stat st;
  ASSERT_EQ(::stat(r.final_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1234567890);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (root) {
    EXPECT_EQ(st.st_uid, 4321u) << "a cross-filesystem copy keeps its owner";
    EXPECT_EQ(st.st_gid, 8765u);
  }
  // Cross-filesystem collisions follow the same rules.
  write_file(src, content);
  auto same = move_object(src_tree, key, archive, "2");
  ASSERT_TRUE(same.ok) << same.error;
  EXPECT_EQ(same.final_key, key);
  EXPECT_FALSE(fs::exists(src));
  write_file(src, "other");
  auto other = move_object(src_tree, key, archive, "3");
  ASSERT_TRUE(other.ok) << other.error;
  EXPECT_EQ(other.final_key, "t/year=2023/big.csv~3");
  EXPECT_EQ(read_file(other.final_path), "other");
  EXPECT_EQ(read_file(in_archive(key)), content);
  expect_no_temp_files();
}

// Issue 10 retest T12: a write in place during a copy across filesystems left the archive with the
// new bytes under the old eTag (or lost a write the copy had passed: the source was unlinked). The
// source is checked again after the copy: changed, the copy is dropped and the source stays.
TEST_F(MoverTest, T12_AWriteInPlaceDuringACopyAcrossFilesystemsDropsTheCopyAndKeepsTheSource) {
  if (auto why = no_other_filesystem(); !why.empty()) GTEST_SKIP() << why;
  TempDir shm("/dev/shm");
  Tree src_tree = open_tree(shm.path());
  const std::string key = "t/d=1/big.csv";
  const fs::path src = shm.path() / key;
  fs::create_directories(src.parent_path());
  write_file(src, std::string(256 * 1024, 'a'));
  set_after_copy_hook([&] {  // a writer at offset 0, a part the copy has passed
    std::FILE* f = std::fopen(src.c_str(), "r+");
    std::fputs("XXXXXXXXXX", f);
    std::fclose(f);
  });
  auto r = move_object(src_tree, key, archive, "1");
  set_after_copy_hook(nullptr);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.source_rewritten);
  EXPECT_FALSE(r.source_missing);
  EXPECT_EQ(r.code, ESTALE);
  EXPECT_NE(r.error.find("rewritten during its move"), std::string::npos) << r.error;
  EXPECT_FALSE(fs::exists(in_archive(key))) << "no copy of either version published";
  ASSERT_TRUE(fs::exists(src)) << "the rewritten source is never unlinked";
  EXPECT_EQ(read_file(src).substr(0, 10), "XXXXXXXXXX");
  expect_no_temp_files();
  auto again = move_object(src_tree, key, archive, "1");  // nothing writing now: moved whole
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(read_file(in_archive(key)).substr(0, 11), "XXXXXXXXXXa");
}

// Issue 10 retest T16: landing and the archive one folder (a bind mount of one host path as two
// volumes): the file met itself at the destination, counted as "already moved", and the source —
// the only copy — was unlinked. A destination that is the source's own inode fails the move.
TEST_F(MoverTest, T16_ADestinationThatIsTheSourceItselfIsNeverTakenForAMoveDone) {
  land("t/a.csv", "precious");
  Tree same = open_tree(landing.root());  // the archive tree opened on landing's folder
  auto r = move_object(landing, "t/a.csv", same, "1");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("same file"), std::string::npos) << r.error;
  EXPECT_EQ(read_file(in_landing("t/a.csv")), "precious");
  auto named = move_object(landing, "t/a.csv", same, "t/a.csv", "");
  EXPECT_FALSE(named.ok);
  EXPECT_EQ(read_file(in_landing("t/a.csv")), "precious");
}

// Retest R7 (data loss): the error document of key K replaced a quarantined object stored at
// K.error.json (a key ending in ".error.json"); objects are never overwritten.
TEST_F(MoverTest, AnErrorDocumentNeverReplacesAnObjectOfItsName) {
  land("t/q.csv.error.json", R"({"user":"object"})");
  ASSERT_TRUE(move_object(landing, "t/q.csv.error.json", archive, "1").ok);
  ASSERT_TRUE(write_error_json(archive, "t/q.csv", R"({"key":"t/q.csv","object_id":2})", 0600).ok());
  EXPECT_EQ(read_file(in_archive("t/q.csv.error.json")), R"({"user":"object"})");
  EXPECT_EQ(read_file(in_archive("t/q.csv.error-2.json")), R"({"key":"t/q.csv","object_id":2})");
  // The next report for the key replaces its own document, still not the object.
  ASSERT_TRUE(write_error_json(archive, "t/q.csv", R"({"key":"t/q.csv","object_id":3})", 0600).ok());
  EXPECT_EQ(read_file(in_archive("t/q.csv.error.json")), R"({"user":"object"})");
  EXPECT_EQ(read_file(in_archive("t/q.csv.error-2.json")), R"({"key":"t/q.csv","object_id":3})");
  expect_no_temp_files();
}

TEST_F(MoverTest, ErrorJsonIsWrittenAtomicallyWithTheObjectsModeAndReplaced) {
  const std::string key = "t/year=2023/x.csv";
  ASSERT_TRUE(write_error_json(archive, key, R"({"error":"one"})", 0600).ok());
  EXPECT_EQ(read_file(in_archive(key + ".error.json")), R"({"error":"one"})");
  auto second = write_error_json(archive, key, R"({"error":"two"})", 0640);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(read_file(in_archive(key + ".error.json")), R"({"error":"two"})");
  struct stat st;
  ASSERT_EQ(::stat(in_archive(key + ".error.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u) << "the object's own mode, not world-readable";
  expect_no_temp_files();
  EXPECT_EQ(write_error_json(archive, "../x", "{}", 0644).code(), EINVAL);
}

// Retest R4: the error document of a 250-byte file name could not be named within NAME_MAX and
// the object stayed move_failed for ever; it now goes under a shortened stem naming the key
// uniquely, never a version's "~<digits>" name.
TEST_F(MoverTest, R4TheErrorDocumentOfAFileNameNearNameMaxIsWrittenUnderAShortenedName) {
  const std::string key = "t/" + std::string(250, 'n');
  ASSERT_TRUE(write_error_json(archive, key, R"({"key":"x","object_id":1})", 0644).ok());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(archive.root() / "t")) names.push_back(e.path().filename().string());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_LE(names[0].size(), 255u);
  EXPECT_EQ(names[0].rfind(std::string(200, 'n'), 0), 0u) << names[0];
  EXPECT_NE(names[0].find("~h"), std::string::npos) << names[0];
  EXPECT_EQ(names[0].substr(names[0].size() - 11), ".error.json");
  // Another long name with the same first bytes gets another document.
  ASSERT_TRUE(write_error_json(archive, "t/" + std::string(249, 'n') + "m", "{}", 0644).ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(archive.root() / "t"), fs::directory_iterator()), 2);
}

// The soak's kill -9 landed between the error report's temp file and its rename: the next write
// in that folder (recovery quarantining the same key again) must not leave the leftover behind.
TEST_F(MoverTest, TempFileLeftByAKilledDaemonIsRemovedByTheNextWriteInItsFolder) {
  const std::string key = "t/year=2023/x.csv";
  fs::create_directories(in_archive("t/year=2023"));
  write_file(in_archive("t/year=2023/.hivehook-tmp-AbC123"), R"({"error":"half)");
  auto one = write_error_json(archive, key, R"({"error":"one"})", 0600);
  ASSERT_TRUE(one.ok()) << one.message();
  EXPECT_EQ(read_file(in_archive(key + ".error.json")), R"({"error":"one"})");
  expect_no_temp_files();
  // Across filesystems the copy goes through a temp file in the destination folder too.
  write_file(in_archive("t/year=2023/.hivehook-tmp-Zz9"), "partial copy");
  auto two = write_error_json(archive, key, R"({"error":"two"})", 0600);
  ASSERT_TRUE(two.ok()) << two.message();
  expect_no_temp_files();
}

TEST_F(MoverTest, DeleteRemovesAndReportsMissing) {
  land("t/x.csv", "x");
  auto r = delete_object(landing, "t/x.csv");
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(fs::exists(in_landing("t/x.csv")));
  auto again = delete_object(landing, "t/x.csv");
  EXPECT_FALSE(again.ok);
  EXPECT_TRUE(again.source_missing);
  auto dir = delete_object(landing, "t");
  EXPECT_FALSE(dir.ok);
  EXPECT_TRUE(fs::is_directory(in_landing("t")));
}

// Findings 15 F21: a replay gave landing a hard link to the archived file, so a job writing to its
// input rewrote the archive's good copy. copy_object's copy is a file of its own.
TEST_F(MoverTest, F21_ACopyIsIndependentOfItsSourceAndKeepsModeAndTimes) {
  const std::string key = "t/day=1/a.csv";
  fs::create_directories(in_archive("t/day=1"));
  write_file(in_archive(key), "good bytes\n");
  ASSERT_EQ(::chmod(in_archive(key).c_str(), 0640), 0);
  struct timespec times[2] = {{1000, 0}, {1700000000, 123}};
  ASSERT_EQ(::utimensat(AT_FDCWD, in_archive(key).c_str(), times, 0), 0);
  auto r = copy_object(archive, key, landing, key);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_path, in_landing(key));
  struct stat src, dst;
  ASSERT_EQ(::stat(in_archive(key).c_str(), &src), 0);
  ASSERT_EQ(::stat(in_landing(key).c_str(), &dst), 0);
  EXPECT_NE(src.st_ino, dst.st_ino);
  EXPECT_EQ(src.st_nlink, 1u);
  EXPECT_EQ(dst.st_mode & 07777, 0640u);
  EXPECT_EQ(dst.st_mtim.tv_sec, 1700000000);
  {
    std::FILE* f = std::fopen(in_landing(key).c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs("MUTATED\n", f);
    std::fclose(f);
  }
  EXPECT_EQ(read_file(in_archive(key)), "good bytes\n") << "writing to the copy never changes the source";
  EXPECT_EQ(read_file(in_landing(key)), "good bytes\nMUTATED\n");
}

TEST_F(MoverTest, F21_ACopyNeverReplacesAFileAtItsDestinationAndReportsAMissingSource) {
  const std::string key = "t/a.csv";
  fs::create_directories(in_archive("t"));
  write_file(in_archive(key), "archived");
  land(key, "landed meanwhile");
  auto r = copy_object(archive, key, landing, key);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, EEXIST);
  EXPECT_NE(r.error.find("a file is at " + in_landing(key).string() + " already"), std::string::npos) << r.error;
  EXPECT_EQ(read_file(in_landing(key)), "landed meanwhile");
  auto gone = copy_object(archive, "t/missing.csv", landing, "t/missing.csv");
  EXPECT_FALSE(gone.ok);
  EXPECT_TRUE(gone.source_missing);
  expect_no_temp_files();
}


// Findings 10-retest T2: a move across filesystems whose next step failed (or a crash before its
// commit) is recognised by the copy's origin mark, never by its inode (the copy has its own).
TEST_F(MoverTest, T2ACopyAcrossFilesystemsIsRecognisedByItsOriginMark) {
  if (auto why = no_other_filesystem(); !why.empty()) GTEST_SKIP() << why;
  TempDir shm("/dev/shm");
  Tree src_tree = open_tree(shm.path());
  const std::string key = "t/d=1/g.csv";
  fs::create_directories((shm.path() / key).parent_path());
  write_file(shm.path() / key, "rows\n");
  struct stat src;
  ASSERT_EQ(::stat((shm.path() / key).c_str(), &src), 0);
  const MovedFrom was{static_cast<uint64_t>(src.st_ino), static_cast<uint64_t>(src.st_size),
                      static_cast<int64_t>(src.st_mtim.tv_sec) * 1'000'000'000 + src.st_mtim.tv_nsec};

  auto r = move_object(src_tree, key, archive, "1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(is_moved_copy_of(archive, key, was, /*source_gone=*/true));
  EXPECT_TRUE(is_moved_copy_of(archive, key, was, /*source_gone=*/false)) << "the mark is exact";
  MovedFrom other = was;
  other.inode += 1;  // another landing file (or the same inode number reused by a later one)
  EXPECT_FALSE(is_moved_copy_of(archive, key, other, true));
  other = was;
  other.mtime_ns += 1;
  EXPECT_FALSE(is_moved_copy_of(archive, key, other, true));

  // A replay's copy back into landing is not marked: it is not a move of any landing file.
  auto back = copy_object(archive, key, src_tree, key);
  ASSERT_TRUE(back.ok) << back.error;
  char mark[96];
  EXPECT_LT(::getxattr((shm.path() / key).c_str(), "user.hivehook.origin", mark, sizeof mark), 0);
}

}  // namespace
}  // namespace hivehook
