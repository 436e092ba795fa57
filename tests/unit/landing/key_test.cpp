#include <gtest/gtest.h>

#include "landing/key.h"

using namespace hivehook;

namespace {
std::string rejection(std::string_view key) {
  std::string err;
  auto k = parse_key(key, &err);
  EXPECT_FALSE(k) << key;
  return err;
}
}  // namespace

TEST(Key, TableHivePartitionAndName) {
  auto k = parse_key("transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->table, "transactions");
  EXPECT_EQ(k->name, "transactions_2023-03-15.csv");
  EXPECT_EQ(k->partition, (Partition{{"year", "2023"}, {"month", "03"}, {"day", "15"}}));
  EXPECT_EQ(k->partition_value("month"), "03");
  EXPECT_EQ(k->partition_value("hour"), std::nullopt);
  EXPECT_EQ(k->key, "transactions/year=2023/month=03/day=15/transactions_2023-03-15.csv");
}

TEST(Key, TopLevelFileHasNoTable) {
  auto k = parse_key("loose.csv");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->table, "");
  EXPECT_EQ(k->name, "loose.csv");
  EXPECT_TRUE(k->partition.empty());
}

TEST(Key, PlainFoldersAreNotPartitions) {
  auto k = parse_key("t/raw/region=eu/x=1.csv");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->partition, (Partition{{"region", "eu"}}));  // the basename is never a partition
  auto top = parse_key("year=2023/x.csv");
  ASSERT_TRUE(top);
  EXPECT_EQ(top->table, "year=2023");  // the first segment is the table
  EXPECT_TRUE(top->partition.empty());
  auto noname = parse_key("t/=x/f");
  ASSERT_TRUE(noname);
  EXPECT_TRUE(noname->partition.empty());
}

TEST(Key, EqualsInsideValueIsKept) {
  auto k = parse_key("t/a=b=c/f");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->partition, (Partition{{"a", "b=c"}}));
  auto empty = parse_key("t/a=/f");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->partition, (Partition{{"a", ""}}));
}

TEST(Key, PercentEscapesDecodedInNameAndValue) {
  auto k = parse_key("t/dt=2023-03-15%2012%3A00%3A00/path=a%2Fb/col%3Dx=1%25/f.csv");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->partition, (Partition{{"dt", "2023-03-15 12:00:00"}, {"path", "a/b"}, {"col=x", "1%"}}));
  EXPECT_EQ(k->key, "t/dt=2023-03-15%2012%3A00%3A00/path=a%2Fb/col%3Dx=1%25/f.csv");  // the key stays raw
}

TEST(Key, HiveUnescapeEdgeCases) {
  EXPECT_EQ(hive_unescape("a%2Fb"), "a/b");
  EXPECT_EQ(hive_unescape("a%2fb"), "a/b");
  EXPECT_EQ(hive_unescape("100%"), "100%");
  EXPECT_EQ(hive_unescape("%4"), "%4");
  EXPECT_EQ(hive_unescape("%zz"), "%zz");
  EXPECT_EQ(hive_unescape("%00"), "%00");  // never a NUL
  EXPECT_EQ(hive_unescape("%C3%A9"), "\xC3\xA9");
  EXPECT_EQ(hive_unescape(""), "");
}

TEST(Key, UnicodePassesThrough) {
  auto k = parse_key("ventes/région=île-de-france/données_été.csv");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->table, "ventes");
  EXPECT_EQ(k->partition_value("région"), "île-de-france");
  EXPECT_EQ(k->name, "données_été.csv");
}

TEST(Key, Rejections) {
  EXPECT_EQ(rejection(""), "key is empty");
  EXPECT_EQ(rejection("/etc/passwd"), "key is absolute (keys are relative to landing)");
  EXPECT_EQ(rejection("t/a/"), "key ends with '/' (a key names a file, not a folder)");
  EXPECT_EQ(rejection("t//a"), "key has an empty segment ('//')");
  EXPECT_EQ(rejection("../x"), "key has a '..' segment (keys must stay inside landing)");
  EXPECT_EQ(rejection("t/../../x"), "key has a '..' segment (keys must stay inside landing)");
  EXPECT_EQ(rejection("t/.."), "key has a '..' segment (keys must stay inside landing)");
  EXPECT_EQ(rejection("./x"), "key has a '.' segment (keys must stay inside landing)");
  EXPECT_EQ(rejection("t/./x"), "key has a '.' segment (keys must stay inside landing)");
  EXPECT_EQ(rejection(std::string_view("t/a\0b", 5)), "key contains a NUL byte");
  EXPECT_EQ(rejection("/"), "key is absolute (keys are relative to landing)");
  EXPECT_FALSE(parse_key("a/"));  // no error pointer is fine too
  EXPECT_TRUE(parse_key("t/..x/.hidden/...")) << "dots inside names are ordinary";
}

TEST(Key, IgnorePatternsUseFnmatchOnTheBasename) {
  const std::vector<std::string> defaults{".*", "*.tmp", "*.part", "*~", "_COPYING_"};
  EXPECT_TRUE(is_ignored(".hidden.csv", defaults));
  EXPECT_TRUE(is_ignored("x.csv.tmp", defaults));
  EXPECT_TRUE(is_ignored("x.part", defaults));
  EXPECT_TRUE(is_ignored("notes~", defaults));
  EXPECT_TRUE(is_ignored("_COPYING_", defaults));
  EXPECT_FALSE(is_ignored("x.csv", defaults));
  EXPECT_FALSE(is_ignored("tmp", defaults));
  EXPECT_FALSE(is_ignored("x.tmp.csv", defaults));
  EXPECT_FALSE(is_ignored("x.csv", {}));
  EXPECT_TRUE(basename_glob_match("data-[0-9][0-9].csv", "data-42.csv"));
  EXPECT_FALSE(basename_glob_match("data-[!0-9]*", "data-4"));
  EXPECT_TRUE(basename_glob_match("?.csv", "a.csv"));
  EXPECT_FALSE(basename_glob_match(std::string_view("a\0", 2), "a"));
}
