// landing/key_order.h: partition values compare as users mean them (day=9 before day=10).
#include "landing/key_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace hivehook {
namespace {

bool less(std::string_view a, std::string_view b) { return compare_keys(a, b) < 0; }

// The fault: `requires:` released day=10 before day=9 (string order of the keys).
TEST(KeyOrder, Day9SortsBeforeDay10NotInStringOrder) {
  EXPECT_TRUE(less("t/year=2023/month=03/day=9/a.csv", "t/year=2023/month=03/day=10/a.csv"));
  EXPECT_FALSE(less("t/year=2023/month=03/day=10/a.csv", "t/year=2023/month=03/day=9/a.csv"));
  EXPECT_TRUE(compare_partition_values("9", "10") < 0);
  EXPECT_TRUE(compare_partition_values("10", "9") > 0);
}

TEST(KeyOrder, ZeroPaddedAndUnpaddedValuesCompareNumerically) {
  EXPECT_TRUE(compare_partition_values("09", "10") < 0);
  EXPECT_TRUE(compare_partition_values("9", "010") < 0);
  EXPECT_TRUE(compare_partition_values("0009", "10") < 0);
  // Equal numbers stay distinct (a total order): bytes break the tie.
  EXPECT_TRUE(compare_partition_values("09", "9") < 0);
  EXPECT_TRUE(compare_partition_values("9", "9") == 0);
  EXPECT_TRUE(less("t/month=3/x", "t/month=03/x") || less("t/month=03/x", "t/month=3/x"));
  EXPECT_TRUE(less("t/month=2/x", "t/month=03/x"));
}

// The fault: with month=03 and month=3 in one listing, the tie between the two spellings of March
// was broken by bytes at the month level, so month=03/day=20 came before month=3/day=1.
TEST(KeyOrder, MixedZeroPaddingAcrossLevelsOrdersByTheLevelBelowNotByBytes) {
  EXPECT_TRUE(less("t/year=2023/month=3/day=1/a.csv", "t/year=2023/month=03/day=20/a.csv"));
  EXPECT_TRUE(less("t/year=2023/month=03/day=1/a.csv", "t/year=2023/month=3/day=20/a.csv"));
  EXPECT_TRUE(less("t/year=2023/month=03/day=9", "t/year=2023/month=3/day=10"));
  EXPECT_TRUE(less("t/year=2023/month=3/day=9", "t/year=2023/month=03/day=10"));
  EXPECT_TRUE(less("sales/2023/3/9", "sales/2023/03/10"));
  // Equal at every level: bytes decide, so the order stays total.
  EXPECT_TRUE(less("t/month=03/day=1", "t/month=3/day=1"));
  EXPECT_TRUE(less("t/month=03/day=1", "t/month=3/day=01"));
  EXPECT_TRUE(compare_keys("t/month=03/day=1", "t/month=3/day=01") != 0);
}

TEST(KeyOrder, NonIntegersCompareByBytes) {
  EXPECT_TRUE(compare_partition_values("a10", "a9") < 0);  // not natural sort: bytes
  EXPECT_TRUE(compare_partition_values("2023-03-09", "2023-03-10") < 0);
  EXPECT_TRUE(compare_partition_values("EU", "US") < 0);
  // An integer sorts before a non-integer (so the order stays transitive).
  EXPECT_TRUE(compare_partition_values("10", "1a") < 0);
  EXPECT_TRUE(compare_partition_values("9", "1a") < 0);
}

TEST(KeyOrder, BigNumbersNeedNoParsing) {
  EXPECT_TRUE(compare_partition_values("99999999999999999999999", "100000000000000000000000") < 0);
}

TEST(KeyOrder, BareSegmentsOfBatchGroupsCompareNumerically) {
  EXPECT_TRUE(less("sales/2023/3/9", "sales/2023/3/10"));
  EXPECT_TRUE(less("sales/2023/9/30", "sales/2023/10/1"));
}

TEST(KeyOrder, NamesThenValuesThenFewerSegmentsFirst) {
  EXPECT_TRUE(less("t/day=5/x", "t/hour=1/x"));  // name decides first
  EXPECT_TRUE(less("t/day=5", "t/day=5/x"));
  EXPECT_FALSE(less("t/day=5/x", "t/day=5/x"));
  EXPECT_TRUE(less("a/x.csv", "b/x.csv"));
}

// std::sort needs a strict weak order: check transitivity and antisymmetry over a mixed set.
TEST(KeyOrder, IsATotalOrderOverMixedValues) {
  std::vector<std::string> v = {"t/day=9",  "t/day=10", "t/day=1a", "t/day=09", "t/day=",  "t/day=a",
                                "t/day=9/x", "t/x",     "t/9",      "t/10",     "u",       "t/day=0",
                                "t/day=00", "t/1a",     "t",        "t/day=9.5", "t/day=-1",
                                "t/day=09/x", "t/day=9/y", "t/day=09/y", "t/m=3/d=10", "t/m=03/d=9", "t/m=3/d=09"};
  for (const auto& a : v)
    for (const auto& b : v) {
      EXPECT_EQ(compare_keys(a, b) < 0, compare_keys(b, a) > 0) << a << " " << b;
      EXPECT_EQ(compare_keys(a, b) == 0, a == b) << a << " " << b;
      for (const auto& c : v)
        if (less(a, b) && less(b, c)) EXPECT_TRUE(less(a, c)) << a << " < " << b << " < " << c;
    }
  std::mt19937 rng(7);
  std::shuffle(v.begin(), v.end(), rng);
  std::sort(v.begin(), v.end(), KeyLess{});
  EXPECT_TRUE(std::is_sorted(v.begin(), v.end(), KeyLess{}));
}

}  // namespace
}  // namespace hivehook
