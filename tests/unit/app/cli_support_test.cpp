// The CLI's shared formatting: durations for people, help text wrapping.
#include <gtest/gtest.h>

#include "app/cli_support.h"

using hivehook::cli::human_duration;
using hivehook::cli::wrap;

TEST(HumanDuration, UnitsPeopleRead) {
  EXPECT_EQ(human_duration(0), "0ms");
  EXPECT_EQ(human_duration(412), "412ms");
  EXPECT_EQ(human_duration(999), "999ms");
  EXPECT_EQ(human_duration(1000), "1.00s");
  EXPECT_EQ(human_duration(5004), "5.00s");
  EXPECT_EQ(human_duration(5049), "5.04s");
  EXPECT_EQ(human_duration(42'150), "42.1s");
  EXPECT_EQ(human_duration(125'000), "2m05s");
  EXPECT_EQ(human_duration(3'720'000), "1h02m");
  EXPECT_EQ(human_duration(273'600'000), "3d04h");
  EXPECT_EQ(human_duration(-1), "-");
}

TEST(HumanDuration, NeverRoundsUpIntoTheNextUnit) {
  EXPECT_EQ(human_duration(9'999), "9.99s");
  EXPECT_EQ(human_duration(59'999), "59.9s");
  EXPECT_EQ(human_duration(3'599'999), "59m59s");
}

TEST(Wrap, ParagraphsWrapAtTheWidthExamplesStay) {
  std::string text = "one two three four five six\n\n  an example line that is longer than the width";
  EXPECT_EQ(wrap(text, 10), "one two\nthree four\nfive six\n\n  an example line that is longer than the width");
  EXPECT_EQ(wrap("short", 10), "short");
}
