#include <gtest/gtest.h>

#include "rules/config.h"

using namespace hivehook;
using namespace std::chrono_literals;

TEST(Duration, ParsesEachUnit) {
  EXPECT_EQ(parse_duration("250ms"), Duration(250));
  EXPECT_EQ(parse_duration("30s"), Duration(30s));
  EXPECT_EQ(parse_duration("10m"), Duration(10min));
  EXPECT_EQ(parse_duration("1h"), Duration(1h));
  EXPECT_EQ(parse_duration("0"), Duration(0));
  EXPECT_EQ(parse_duration("0s"), Duration(0));
  EXPECT_EQ(parse_duration("1h30m"), Duration(90min));
  EXPECT_EQ(parse_duration("1m500ms"), Duration(60'500));
  EXPECT_EQ(parse_duration("1d"), Duration(24h));  // expect: {every: 1d}
  EXPECT_EQ(parse_duration("1d12h"), Duration(36h));
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad : {"", "30", "s", "-1s", "1.5s", "10 s", " 10s", "10S", "1w", "1D", "ms", "1hh", "10sx", "00x",
                          "99999999999999999999s", "100000h"})
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
}

TEST(Duration, FormatsTheLargestExactUnit) {
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(Duration(250)), "250ms");
  EXPECT_EQ(format_duration(Duration(30s)), "30s");
  EXPECT_EQ(format_duration(Duration(90s)), "90s");
  EXPECT_EQ(format_duration(Duration(10min)), "10m");
  EXPECT_EQ(format_duration(Duration(2h)), "2h");
  EXPECT_EQ(parse_duration(format_duration(Duration(1500))), Duration(1500));
}
