// scan_tree lives in hivehook_landing; its tests sit here because unit_watcher links it.
#include "landing/scan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "unit/support/temp_dir.h"

namespace hivehook {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_file;

struct Collected {
  std::vector<ScanEntry> entries;
  std::vector<std::pair<fs::path, std::string>> errors;
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (const auto& e : entries) k.push_back(e.key);
    return k;
  }
};

Collected scan(const fs::path& landing, const fs::path& dir) {
  Collected c;
  scan_tree(
      landing, dir, [&](const ScanEntry& e) { c.entries.push_back(e); },
      [&](const fs::path& p, const std::string& m) { c.errors.emplace_back(p, m); });
  return c;
}

TEST(ScanTree, VisitsInByteWiseKeyOrderAcrossFolders) {
  TempDir tmp;
  const fs::path l = tmp.path();
  for (const char* d : {"a", "a/c", "a-b", "B", "day=2023-03-10", "day=2023-03-09"}) fs::create_directories(l / d);
  for (const char* f : {"a/b", "a.x", "a-b/c", "A", "b", "a/c/d", "B/z", "day=2023-03-10/f.csv",
                        "day=2023-03-09/f.csv", "\xc3\xa9t\xc3\xa9", "z"})
    write_file(l / f);
  auto c = scan(l, l);
  EXPECT_TRUE(c.errors.empty());
  std::vector<std::string> want{"A", "B/z", "a-b/c", "a.x", "a/b", "a/c/d", "b", "day=2023-03-09/f.csv",
                                "day=2023-03-10/f.csv", "z", "\xc3\xa9t\xc3\xa9"};
  EXPECT_EQ(c.keys(), want);
  for (const auto& e : c.entries) {
    EXPECT_EQ(e.path, l / e.key);
    EXPECT_EQ(e.kind, EntryKind::regular);
  }
}

TEST(ScanTree, SubFolderKeysAreRelativeToLanding) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "t" / "year=2023");
  write_file(tmp.path() / "t" / "year=2023" / "x.csv");
  write_file(tmp.path() / "other.csv");
  auto c = scan(tmp.path(), tmp.path() / "t");
  EXPECT_EQ(c.keys(), std::vector<std::string>{"t/year=2023/x.csv"});
  auto trailing = scan(tmp.path().string() + "/", tmp.path() / "t" / "");
  EXPECT_EQ(trailing.keys(), std::vector<std::string>{"t/year=2023/x.csv"});
}

TEST(ScanTree, SymlinksAreReportedNeverFollowedAndSpecialFilesAreOther) {
  TempDir tmp, elsewhere;
  const fs::path l = tmp.path();
  fs::create_directories(elsewhere.path() / "d");
  write_file(elsewhere.path() / "d" / "inside.csv");
  fs::create_directory_symlink(elsewhere.path() / "d", l / "dirlink");
  write_file(l / "real.csv");
  fs::create_symlink(l / "real.csv", l / "filelink");
  fs::create_symlink(l / "missing", l / "dangling");
  ASSERT_EQ(::mkfifo((l / "fifo").c_str(), 0644), 0);
  auto c = scan(l, l);
  ASSERT_EQ(c.keys(), (std::vector<std::string>{"dangling", "dirlink", "fifo", "filelink", "real.csv"}));
  EXPECT_EQ(c.entries[0].kind, EntryKind::symlink);
  EXPECT_EQ(c.entries[1].kind, EntryKind::symlink);
  EXPECT_EQ(c.entries[2].kind, EntryKind::other);
  EXPECT_EQ(c.entries[3].kind, EntryKind::symlink);
  EXPECT_EQ(c.entries[4].kind, EntryKind::regular);
  // Asked to scan a symlinked sub-folder directly: reported as the symlink, not entered.
  auto d = scan(l, l / "dirlink");
  ASSERT_EQ(d.keys(), std::vector<std::string>{"dirlink"});
  EXPECT_EQ(d.entries[0].kind, EntryKind::symlink);
}

TEST(ScanTree, VanishedFolderIsNotAnErrorButOutsideLandingIs) {
  TempDir tmp, other;
  auto gone = scan(tmp.path(), tmp.path() / "gone");
  EXPECT_TRUE(gone.entries.empty());
  EXPECT_TRUE(gone.errors.empty());
  auto outside = scan(tmp.path(), other.path());
  EXPECT_TRUE(outside.entries.empty());
  ASSERT_EQ(outside.errors.size(), 1u);
  EXPECT_NE(outside.errors[0].second.find("not inside the landing folder"), std::string::npos);
}

// Root reads any folder, so the unreadable case runs in a child that drops to "nobody".
TEST(ScanTree, UnreadableFolderIsReportedAndSkipped) {
  TempDir tmp;
  const fs::path l = tmp.path();
  fs::create_directories(l / "locked");
  write_file(l / "locked" / "secret.csv");
  write_file(l / "open.csv");
  fs::permissions(l, fs::perms::all);
  fs::permissions(l / "locked", fs::perms::none);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    auto c = scan(l, l);
    const bool ok = c.keys() == std::vector<std::string>{"open.csv"} && c.errors.size() == 1 &&
                    c.errors[0].first == l / "locked" && !c.errors[0].second.empty();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 10) GTEST_SKIP() << "cannot drop privileges";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's scan did not report exactly one unreadable folder";
}

}  // namespace
}  // namespace hivehook
