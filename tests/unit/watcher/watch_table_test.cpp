#include "watcher/watch_table.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hivehook {
namespace {

TEST(WatchTable, MapsBothWays) {
  WatchTable t;
  t.set(1, "/l");
  t.set(2, "/l/a");
  ASSERT_NE(t.path_of(2), nullptr);
  EXPECT_EQ(*t.path_of(2), "/l/a");
  EXPECT_EQ(t.wd_of("/l"), 1);
  EXPECT_EQ(t.path_of(3), nullptr);
  EXPECT_EQ(t.wd_of("/nope"), -1);
  EXPECT_EQ(t.size(), 2u);
}

TEST(WatchTable, SameWdUnderANewNameReplacesTheOldPath) {
  WatchTable t;
  t.set(5, "/l/a");
  t.set(5, "/l/b");
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.wd_of("/l/a"), -1);
  EXPECT_EQ(t.wd_of("/l/b"), 5);
  t.set(6, "/l/b");  // a new inode at the same path
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.path_of(5), nullptr);
}

TEST(WatchTable, SubtreeRemovalLeavesSiblingsWithSharedPrefixes) {
  WatchTable t;
  t.set(1, "/l");
  t.set(2, "/l/a");
  t.set(3, "/l/a/b");
  t.set(4, "/l/a/b/c");
  t.set(5, "/l/a.x");
  t.set(6, "/l/a-b");
  t.set(7, "/l/ab");
  auto removed = t.erase_subtree("/l/a");
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.wd_of("/l/a.x"), 5);
  EXPECT_EQ(t.wd_of("/l/a-b"), 6);
  EXPECT_EQ(t.wd_of("/l/ab"), 7);
  EXPECT_TRUE(t.erase_wd(7));
  EXPECT_FALSE(t.erase_wd(7));
  EXPECT_EQ(t.wd_of("/l/ab"), -1);
}

}  // namespace
}  // namespace hivehook
