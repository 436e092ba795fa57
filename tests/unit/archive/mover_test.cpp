#include "archive/mover.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "unit/watcher/temp_dir.h"

namespace hivehook {
namespace {

namespace fs = std::filesystem;
using test::read_file;
using test::TempDir;
using test::write_file;

class MoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    landing = tmp.path() / "landing";
    archive = tmp.path() / "archive";
    fs::create_directories(landing / "t" / "year=2023");
  }
  fs::path land(const std::string& key, const std::string& content) {
    fs::path p = landing / key;
    fs::create_directories(p.parent_path());
    write_file(p, content);
    return p;
  }
  // No temp files left behind in the archive.
  void expect_no_temp_files() {
    for (const auto& e : fs::recursive_directory_iterator(archive))
      EXPECT_EQ(e.path().filename().string().rfind(".hivehook-tmp-", 0), std::string::npos) << e.path();
  }

  TempDir tmp;
  fs::path landing, archive;
};

TEST_F(MoverTest, RenamesIntoPartitionFolders) {
  const std::string key = "t/year=2023/x.csv";
  auto src = land(key, "hello");
  auto r = move_object(src, archive, key, "1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_path, archive / key);
  EXPECT_FALSE(fs::exists(src));
  EXPECT_EQ(read_file(archive / key), "hello");
  struct stat st;
  ASSERT_EQ(::stat((archive / "t" / "year=2023").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0700, 0700u);
  EXPECT_EQ(st.st_mode & 0002, 0u);
}

TEST_F(MoverTest, DifferentEarlierObjectIsNeverOverwritten) {
  const std::string key = "t/year=2023/x.csv";
  ASSERT_TRUE(move_object(land(key, "first"), archive, key, "1").ok);
  auto r = move_object(land(key, "second!"), archive, key, "17");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_path, archive / "t" / "year=2023" / "x.csv~17");
  EXPECT_EQ(read_file(archive / key), "first");
  EXPECT_EQ(read_file(r.final_path), "second!");
  // Same size, other bytes: still different.
  auto r3 = move_object(land(key, "fir5t"), archive, key, "18");
  ASSERT_TRUE(r3.ok) << r3.error;
  EXPECT_EQ(r3.final_path, archive / "t" / "year=2023" / "x.csv~18");
  // The suffixed name taken by yet another object: a numbered variant.
  auto r4 = move_object(land(key, "fourth"), archive, key, "18");
  ASSERT_TRUE(r4.ok) << r4.error;
  EXPECT_EQ(r4.final_path, archive / "t" / "year=2023" / "x.csv~18-2");
  EXPECT_EQ(read_file(r3.final_path), "fir5t");
}

TEST_F(MoverTest, IdenticalExistingObjectCountsAsAlreadyMoved) {
  const std::string key = "t/year=2023/x.csv";
  ASSERT_TRUE(move_object(land(key, "same"), archive, key, "1").ok);
  auto src = land(key, "same");
  auto r = move_object(src, archive, key, "2");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_path, archive / key);
  EXPECT_FALSE(fs::exists(src));
  EXPECT_FALSE(fs::exists(archive / "t" / "year=2023" / "x.csv~2"));
}

TEST_F(MoverTest, MissingSourceIsReported) {
  auto r = move_object(landing / "t" / "gone.csv", archive, "t/gone.csv", "1");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.source_missing);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(MoverTest, KeysThatLeaveTheRootAreRefused) {
  auto src = land("t/a.csv", "x");
  const std::vector<std::string> keys{"../evil", "/abs", "a//b", "a/./b", "", std::string("a\0b", 3), "a/.."};
  for (const auto& key : keys) {
    auto r = move_object(src, archive, key, "1");
    EXPECT_FALSE(r.ok) << key;
    EXPECT_NE(r.error.find("invalid key"), std::string::npos) << r.error;
  }
  EXPECT_TRUE(fs::exists(src));
  EXPECT_FALSE(fs::exists(tmp.path() / "evil"));
}

TEST_F(MoverTest, NotARegularFileIsRefused) {
  fs::create_directories(landing / "t" / "dir");
  auto r = move_object(landing / "t" / "dir", archive, "t/dir", "1");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not a regular file"), std::string::npos);
}

TEST_F(MoverTest, PartitionPathBlockedByAFileIsAClearError) {
  fs::create_directories(archive / "t");
  write_file(archive / "t" / "year=2023", "a file where a folder should be");
  auto src = land("t/year=2023/x.csv", "x");
  auto r = move_object(src, archive, "t/year=2023/x.csv", "1");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("is not a folder"), std::string::npos) << r.error;
  EXPECT_TRUE(fs::exists(src));
}

TEST_F(MoverTest, HostileNamesArePlainBytes) {
  const std::string dir = "-rf \"q'\n\xff\xfe $(x)";
  const std::string long_name = std::string(251, 'n') + ".csv";  // 255 bytes
  for (const std::string& name : {std::string("--help"), std::string("a\nb;rm -rf ~ *"), long_name}) {
    const std::string key = dir + "/" + name;
    auto r = move_object(land(key, "v1"), archive, key, "42");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(read_file(archive / key), "v1");
    auto r2 = move_object(land(key, "v2"), archive, key, "42");
    ASSERT_TRUE(r2.ok) << r2.error;
    EXPECT_EQ(read_file(r2.final_path), "v2");
    EXPECT_EQ(r2.final_path.parent_path(), archive / dir);
    const std::string fname = r2.final_path.filename().string();
    EXPECT_LE(fname.size(), 255u);
    EXPECT_EQ(fname.substr(fname.size() - 3), "~42");
  }
}

TEST_F(MoverTest, AcrossFilesystemsCopiesSyncsAndUnlinks) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  TempDir shm("/dev/shm");
  struct stat a, b;
  ASSERT_EQ(::stat(shm.path().c_str(), &a), 0);
  ASSERT_EQ(::stat(tmp.path().c_str(), &b), 0);
  if (a.st_dev == b.st_dev) GTEST_SKIP() << "/dev/shm and /tmp are the same filesystem";

  const std::string key = "t/year=2023/big.csv";
  std::string content(300 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 31 + 7);
  fs::path src = shm.path() / "big.csv";
  write_file(src, content);
  ASSERT_EQ(::chmod(src.c_str(), 0640), 0);
  const struct timespec times[2] = {{1000000000, 0}, {1234567890, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, src.c_str(), times, 0), 0);

  auto r = move_object(src, archive, key, "1");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.final_path, archive / key);
  EXPECT_FALSE(fs::exists(src));
  EXPECT_EQ(read_file(archive / key), content);
  struct stat st;
  ASSERT_EQ(::stat(r.final_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1234567890);
  EXPECT_EQ(st.st_mode & 07777, 0640u);

  // Cross-filesystem collisions follow the same rules.
  write_file(src, content);
  auto same = move_object(src, archive, key, "2");
  ASSERT_TRUE(same.ok) << same.error;
  EXPECT_EQ(same.final_path, archive / key);
  EXPECT_FALSE(fs::exists(src));
  write_file(src, "other");
  auto other = move_object(src, archive, key, "3");
  ASSERT_TRUE(other.ok) << other.error;
  EXPECT_EQ(other.final_path, archive / "t" / "year=2023" / "big.csv~3");
  EXPECT_EQ(read_file(other.final_path), "other");
  EXPECT_EQ(read_file(archive / key), content);
  expect_no_temp_files();
}

TEST_F(MoverTest, ErrorJsonIsWrittenAtomicallyAndReplaced) {
  const std::string key = "t/year=2023/x.csv";
  std::string err;
  ASSERT_TRUE(write_error_json(archive, key, R"({"error":"one"})", &err)) << err;
  EXPECT_EQ(read_file(archive / (key + ".error.json")), R"({"error":"one"})");
  ASSERT_TRUE(write_error_json(archive, key, R"({"error":"two"})", &err)) << err;
  EXPECT_EQ(read_file(archive / (key + ".error.json")), R"({"error":"two"})");
  struct stat st;
  ASSERT_EQ(::stat((archive / (key + ".error.json")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  expect_no_temp_files();
  EXPECT_FALSE(write_error_json(archive, "../x", "{}", &err));
  EXPECT_NE(err.find("invalid key"), std::string::npos);
  EXPECT_FALSE(write_error_json(archive, "t/" + std::string(250, 'n'), "{}", &err));
  EXPECT_NE(err.find("255"), std::string::npos) << err;
}

// The soak's kill -9 landed between the error report's temp file and its rename: the next write
// in that folder (recovery quarantining the same key again) must not leave the leftover behind.
TEST_F(MoverTest, TempFileLeftByAKilledDaemonIsRemovedByTheNextWriteInItsFolder) {
  const std::string key = "t/year=2023/x.csv";
  fs::create_directories(archive / "t/year=2023");
  write_file(archive / "t/year=2023/.hivehook-tmp-AbC123", R"({"error":"half)");
  std::string err;
  ASSERT_TRUE(write_error_json(archive, key, R"({"error":"one"})", &err)) << err;
  EXPECT_EQ(read_file(archive / (key + ".error.json")), R"({"error":"one"})");
  expect_no_temp_files();
  // Across filesystems the copy goes through a temp file in the destination folder too.
  write_file(archive / "t/year=2023/.hivehook-tmp-Zz9", "partial copy");
  ASSERT_TRUE(write_error_json(archive, key, R"({"error":"two"})", &err)) << err;
  expect_no_temp_files();
}

TEST_F(MoverTest, DeleteRemovesAndToleratesMissing) {
  auto src = land("t/x.csv", "x");
  auto r = delete_object(src);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.source_missing);
  EXPECT_FALSE(fs::exists(src));
  auto again = delete_object(src);
  EXPECT_TRUE(again.ok);
  EXPECT_TRUE(again.source_missing);
  auto dir = delete_object(landing / "t");
  EXPECT_FALSE(dir.ok);
  EXPECT_TRUE(fs::is_directory(landing / "t"));
}

}  // namespace
}  // namespace hivehook
