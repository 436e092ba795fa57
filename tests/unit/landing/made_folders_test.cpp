// landing/made_folders: folders the S3 API made for an upload go once empty (issue 12 re-test,
// R12); a folder a person made, or one still holding a file, stays. Real folders, real xattrs.
#include "landing/made_folders.h"

#include <sys/xattr.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

using namespace hivehook;
namespace fs = std::filesystem;

namespace {

struct MadeFolders : ::testing::Test {
  fs::path root;
  void SetUp() override {
    char templ[] = "/tmp/hivehook-made-XXXXXX";
    ASSERT_TRUE(::mkdtemp(templ));
    root = templ;
  }
  void TearDown() override { fs::remove_all(root); }
  Tree tree() { return std::move(*Tree::open(root)); }
  bool xattrs() {  // a filesystem without user xattrs marks nothing (and so prunes nothing)
    return ::setxattr(root.c_str(), "user.hivehook.probe", "1", 1, 0) == 0;
  }
};

TEST_F(MadeFolders, R12FoldersAnUploadMadeGoOnceEmptyOthersStay) {
  if (!xattrs()) GTEST_SKIP() << "no user xattrs on " << root;
  Tree t = tree();
  fs::create_directories(root / "mine");  // a person's folder
  ASSERT_TRUE(t.make_dirs("mine/a/b", 0755, [](int fd) { ASSERT_TRUE(mark_made_for_upload(fd)); }).ok());
  ASSERT_TRUE(t.make_dirs("mine/a/c", 0755, [](int fd) { ASSERT_TRUE(mark_made_for_upload(fd)); }).ok());
  std::ofstream(root / "mine/a/c/kept.csv") << "x";
  // b's file left: b goes; a still holds c (in use): it stays, and so does the person's folder.
  EXPECT_EQ(prune_made_folders(t, "mine/a/b/x.csv"), 1u);
  EXPECT_FALSE(fs::exists(root / "mine/a/b"));
  EXPECT_TRUE(fs::is_directory(root / "mine/a/c"));
  fs::remove(root / "mine/a/c/kept.csv");
  EXPECT_EQ(prune_made_folders(t, "mine/a/c/kept.csv"), 2u);
  EXPECT_FALSE(fs::exists(root / "mine/a"));
  EXPECT_TRUE(fs::is_directory(root / "mine")) << "a folder a person made is never removed";
  EXPECT_EQ(prune_made_folders(t, "top.csv"), 0u);  // landing's root is never a candidate
  EXPECT_TRUE(fs::is_directory(root));
}

TEST_F(MadeFolders, OnlyFoldersThisCallCreatedAreReportedMade) {
  Tree t = tree();
  fs::create_directories(root / "x");
  int made = 0;
  ASSERT_TRUE(t.make_dirs("x/y/z", 0755, [&](int) { ++made; }).ok());
  EXPECT_EQ(made, 2);
  ASSERT_TRUE(t.make_dirs("x/y/z", 0755, [&](int) { ++made; }).ok());
  EXPECT_EQ(made, 2);
}

}  // namespace
