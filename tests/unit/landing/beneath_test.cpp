// Tree / TempFile: every path operation stays beneath the tree, with real symlinks swapped in.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <set>
#include <vector>
#include <thread>

#include "landing/beneath.h"

using namespace hivehook;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
std::string read_fd(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) names.insert(e.path().lexically_relative(dir).string());
  return names;
}

// A tree (`root`) beside a folder outside it (`outside`) that must never be touched.
class Beneath : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/hivehook-beneath-XXXXXX";
    base_ = ::mkdtemp(templ);
    root_ = base_ / "root";
    outside_ = base_ / "outside";
    fs::create_directories(root_);
    fs::create_directories(outside_);
    spit(outside_ / "secret", "outside");
    beneath_testing::force_fallback(GetParam());
    auto t = Tree::open(root_);
    ASSERT_TRUE(t) << t.message();
    tree_.emplace(std::move(*t));
    before_ = listing(outside_);
  }
  void TearDown() override {
    // The invariant of every test: nothing outside the tree changed.
    EXPECT_EQ(listing(outside_), before_);
    EXPECT_EQ(slurp(outside_ / "secret"), "outside");
    beneath_testing::force_fallback(false);
    beneath_testing::force_named_temp(false);
    fs::remove_all(base_);
  }
  fs::path base_, root_, outside_;
  std::optional<Tree> tree_;
  std::set<std::string> before_;
};

INSTANTIATE_TEST_SUITE_P(Openat2AndWalk, Beneath, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "walk" : "openat2"; });

TEST_P(Beneath, OpensReadsAndStatsInsideTheTree) {
  fs::create_directories(root_ / "a/b");
  spit(root_ / "a/b/x.csv", "hello");
  auto fd = tree_->open_regular("a/b/x.csv");
  ASSERT_TRUE(fd) << fd.message();
  EXPECT_EQ(read_fd(fd->get()), "hello");
  auto st = tree_->stat("a/b/x.csv");
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISREG(st->st_mode));
  EXPECT_EQ(st->st_size, 5);
  auto root_st = tree_->stat("");
  ASSERT_TRUE(root_st);
  EXPECT_TRUE(S_ISDIR(root_st->st_mode));
}

TEST_P(Beneath, UncleanPathsAreRefusedBeforeTheKernelSeesThem) {
  for (std::string bad : std::vector<std::string>{"../outside/secret", "a/../../outside/secret", "/etc/passwd", "a//b", "./a", "a/.",
                          std::string("a\0b", 3)}) {
    auto fd = tree_->open_regular(bad);
    ASSERT_FALSE(fd) << bad;
    EXPECT_EQ(fd.code(), EINVAL) << bad;
    EXPECT_NE(fd.message().find(root_.string()), std::string::npos) << fd.message();
    EXPECT_EQ(tree_->make_dirs(bad).code(), EINVAL) << bad;
    EXPECT_EQ(tree_->unlink(bad).code(), EINVAL) << bad;
  }
  EXPECT_EQ(relative_path_problem("a/b.csv"), "");
  EXPECT_EQ(relative_path_problem("a//b"), "has an empty segment");
}

TEST_P(Beneath, SymlinkedFolderOnThePathIsRefusedWithEloopNamingThePath) {
  fs::create_directory_symlink(outside_, root_ / "a");
  auto fd = tree_->open_regular("a/secret");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.code(), ELOOP);
  EXPECT_NE(fd.message().find(root_.string() + "/a/secret"), std::string::npos) << fd.message();
  EXPECT_NE(fd.message().find("symlink"), std::string::npos) << fd.message();
  EXPECT_EQ(tree_->stat("a/secret").code(), ELOOP);
  EXPECT_EQ(tree_->unlink("a/secret").code(), ELOOP);
  EXPECT_EQ(tree_->make_dirs("a/new").code(), ELOOP);
  EXPECT_EQ(tree_->open("a/created", O_WRONLY | O_CREAT, 0644).code(), ELOOP);
  EXPECT_EQ(tree_->list_dir("a").code(), ELOOP);
  spit(root_ / "x", "x");
  EXPECT_EQ(tree_->rename("x", *tree_, "a/x", Replace::yes).code(), ELOOP);
  EXPECT_EQ(tree_->rename("a/secret", *tree_, "stolen", Replace::yes).code(), ELOOP);
  EXPECT_TRUE(fs::exists(root_ / "x"));
  EXPECT_FALSE(fs::exists(root_ / "stolen"));
}

TEST_P(Beneath, SymlinkAsTheLastComponentIsNeverFollowed) {
  fs::create_symlink(outside_ / "secret", root_ / "link");
  EXPECT_EQ(tree_->open_regular("link").code(), ELOOP);
  EXPECT_EQ(tree_->open("link", O_WRONLY | O_TRUNC).code(), ELOOP);
  auto st = tree_->stat("link");  // lstat semantics
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISLNK(st->st_mode));
  // unlink removes the link itself, never its target (the fixture checks the target).
  ASSERT_TRUE(tree_->unlink("link").ok());
  EXPECT_FALSE(fs::is_symlink(root_ / "link"));
}

TEST_P(Beneath, AbsoluteSymlinkToTheRootItselfIsRefused) {
  fs::create_directory_symlink(root_, root_ / "loop");
  fs::create_directories(root_ / "d");
  EXPECT_EQ(tree_->open_dir("loop/d").code(), ELOOP);
  EXPECT_TRUE(tree_->open_dir("d").ok());
}

TEST_P(Beneath, MakeDirsCreatesEveryLevelAndRefusesFilesAndSymlinks) {
  ASSERT_TRUE(tree_->make_dirs("t/year=2023/month=03").ok());
  EXPECT_TRUE(fs::is_directory(root_ / "t/year=2023/month=03"));
  ASSERT_TRUE(tree_->make_dirs("t/year=2023/month=03").ok());  // idempotent
  ASSERT_TRUE(tree_->make_dirs("").ok());
  spit(root_ / "file", "f");
  auto st = tree_->make_dirs("file/sub");
  EXPECT_EQ(st.code(), ENOTDIR);
  EXPECT_NE(st.message().find("not a folder"), std::string::npos) << st.message();
  fs::create_directory_symlink(outside_, root_ / "t/year=2023/month=04");
  EXPECT_EQ(tree_->make_dirs("t/year=2023/month=04/day=01").code(), ELOOP);
}

TEST_P(Beneath, MissingFilesKeepTheirErrno) {
  auto fd = tree_->open_regular("nope/x");
  EXPECT_EQ(fd.code(), ENOENT);
  EXPECT_NE(fd.message().find(root_.string() + "/nope/x"), std::string::npos);
  EXPECT_EQ(tree_->stat("x").code(), ENOENT);
  EXPECT_EQ(tree_->unlink("x").code(), ENOENT);
}

TEST_P(Beneath, OpenRegularRefusesFifosWithoutBlockingAndFolders) {
  ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0644), 0);
  EXPECT_EQ(tree_->open_regular("fifo").code(), EINVAL);
  fs::create_directories(root_ / "d");
  EXPECT_EQ(tree_->open_regular("d").code(), EISDIR);
}

TEST_P(Beneath, RenameReplacesOrRefusesAndCrossesTrees) {
  spit(root_ / "a", "A");
  spit(root_ / "b", "B");
  auto st = tree_->rename("a", *tree_, "b", Replace::no);
  EXPECT_EQ(st.code(), EEXIST);
  EXPECT_EQ(slurp(root_ / "b"), "B");
  ASSERT_TRUE(tree_->rename("a", *tree_, "b", Replace::yes).ok());
  EXPECT_EQ(slurp(root_ / "b"), "A");
  fs::create_directories(base_ / "other");
  auto other = Tree::open(base_ / "other");
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->make_dirs("k/p").ok());
  ASSERT_TRUE(tree_->rename("b", *other, "k/p/b", Replace::no).ok());
  EXPECT_EQ(slurp(base_ / "other/k/p/b"), "A");
  fs::remove_all(base_ / "other");
}

TEST_P(Beneath, ListDirReportsTypesWithoutFollowing) {
  fs::create_directories(root_ / "d");
  spit(root_ / "f", "");
  fs::create_directory_symlink(outside_, root_ / "l");
  auto entries = tree_->list_dir("");
  ASSERT_TRUE(entries);
  std::map<std::string, EntryType> got;
  for (const auto& e : *entries) got[e.name] = e.type;
  EXPECT_EQ(got, (std::map<std::string, EntryType>{
                     {"d", EntryType::directory}, {"f", EntryType::regular}, {"l", EntryType::symlink}}));
}

TEST_P(Beneath, TheTreeStaysTheFolderItOpenedEvenWhenItsPathIsMoved) {
  spit(root_ / "x", "in the tree");
  fs::rename(root_, base_ / "moved");
  fs::create_directory_symlink(outside_, root_);  // the old path now leads outside
  auto fd = tree_->open_regular("x");
  ASSERT_TRUE(fd) << fd.message();
  EXPECT_EQ(read_fd(fd->get()), "in the tree");
  EXPECT_EQ(tree_->open_regular("secret").code(), ENOENT);
  fs::remove(root_);
  fs::rename(base_ / "moved", root_);
}

// The fault this layer exists for: a folder swapped for a symlink while hivehook works in it.
// One thread flips root/a between a real folder and a symlink to `outside`; the other keeps
// creating, writing, renaming and deleting under a/. Nothing outside may ever change.
TEST_P(Beneath, FolderSwappedForASymlinkMidRunNeverReachesOutside) {
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    const fs::path a = root_ / "a", parked = root_ / "parked";
    fs::create_directories(a);
    while (!stop) {
      std::error_code ec;
      fs::rename(a, parked, ec);  // a real folder out of the way ...
      fs::create_directory_symlink(outside_, a, ec);  // ... and a symlink in its place
      std::this_thread::yield();
      fs::remove(a, ec);  // removes the symlink only
      fs::rename(parked, a, ec);
    }
  });
  int ok = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string name = "a/f" + std::to_string(i % 7);
    auto fd = tree_->open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd) {
      ++ok;
      ASSERT_EQ(::write(fd->get(), "in", 2), 2);
    } else {
      ++refused;
      EXPECT_TRUE(fd.code() == ELOOP || fd.code() == ENOENT || fd.code() == ENOTDIR) << fd.message();
    }
    (void)tree_->rename(name, *tree_, "a/secret", Replace::yes);
    (void)tree_->unlink("a/secret");
    (void)tree_->make_dirs("a/sub");
    auto t = TempFile::create(*tree_, "a");
    if (t) {
      (void)::write(t->fd(), "tmp", 3);
      (void)t->publish("a/secret", Replace::yes);
    }
  }
  stop = true;
  flipper.join();
  EXPECT_GT(ok + refused, 0);
  // TearDown checks `outside` is byte-for-byte what it was.
}

TEST_P(Beneath, UnnamedTempFileIsInvisibleUntilPublished) {
  fs::create_directories(root_ / "t");
  auto t = TempFile::create(*tree_, "t");
  ASSERT_TRUE(t) << t.message();
  ASSERT_EQ(::write(t->fd(), "data", 4), 4);
  EXPECT_TRUE(fs::is_empty(root_ / "t")) << "an O_TMPFILE has no name";
  ASSERT_TRUE(t->publish("t/x.csv", Replace::no).ok());
  EXPECT_EQ(listing(root_ / "t"), (std::set<std::string>{"x.csv"}));
  EXPECT_EQ(slurp(root_ / "t/x.csv"), "data");
  EXPECT_EQ(t->fd(), -1);
}

TEST_P(Beneath, NamedTempFileIsRemovedUnlessPublished) {
  beneath_testing::force_named_temp(true);
  {
    auto t = TempFile::create(*tree_, "");
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->named());
    auto names = listing(root_);
    ASSERT_EQ(names.size(), 1u);
    EXPECT_TRUE(is_temp_name(*names.begin())) << *names.begin();
  }
  EXPECT_TRUE(fs::is_empty(root_));
  auto t = TempFile::create(*tree_, "");
  ASSERT_TRUE(t);
  ASSERT_EQ(::write(t->fd(), "v2", 2), 2);
  fs::create_directories(root_ / "k");
  spit(root_ / "k/x", "v1");
  EXPECT_EQ(t->publish("k/x", Replace::no).code(), EEXIST);
  EXPECT_EQ(slurp(root_ / "k/x"), "v1");
  ASSERT_TRUE(t->publish("k/x", Replace::yes).ok());
  EXPECT_EQ(slurp(root_ / "k/x"), "v2");
  EXPECT_EQ(listing(root_), (std::set<std::string>{"k", "k/x"}));
}

TEST_P(Beneath, PublishIntoAMissingFolderFailsAndCanBeRetried) {
  auto t = TempFile::create(*tree_, "");
  ASSERT_TRUE(t);
  ASSERT_EQ(::write(t->fd(), "z", 1), 1);
  EXPECT_EQ(t->publish("new/dir/z", Replace::yes).code(), ENOENT);
  ASSERT_TRUE(tree_->make_dirs("new/dir").ok());
  ASSERT_TRUE(t->publish("new/dir/z", Replace::yes).ok());
  EXPECT_EQ(slurp(root_ / "new/dir/z"), "z");
}

TEST_P(Beneath, RemoveTempFilesCleansLeftoversEverywhere) {
  fs::create_directories(root_ / "a/b");
  spit(root_ / ".hivehook-tmp-1", "");
  spit(root_ / "a/b/.hivehook-tmp-2", "");
  spit(root_ / "a/b/keep.csv", "");
  fs::create_directory_symlink(outside_, root_ / "a/l");
  spit(outside_ / ".hivehook-tmp-outside", "");
  before_ = listing(outside_);
  std::vector<std::string> errors;
  EXPECT_EQ(remove_temp_files(*tree_, kTempPrefix, &errors), 2u);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(listing(root_), (std::set<std::string>{"a", "a/b", "a/b/keep.csv", "a/l"}));
}

}  // namespace
