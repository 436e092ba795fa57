#include <gtest/gtest.h>

#include "rules/glob.h"
#include "rules/rule.h"

using namespace hivehook;

TEST(KeyGlob, StarStaysInsideASegment) {
  EXPECT_TRUE(key_glob_match("t/*.csv", "t/a.csv"));
  EXPECT_TRUE(key_glob_match("t/*.csv", "t/.csv"));
  EXPECT_FALSE(key_glob_match("t/*.csv", "t/x/a.csv"));
  EXPECT_FALSE(key_glob_match("*", "a/b"));
  EXPECT_TRUE(key_glob_match("*", "a"));
  EXPECT_TRUE(key_glob_match("t/year=*/month=*/*.csv", "t/year=2023/month=03/x.csv"));
  EXPECT_TRUE(key_glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(key_glob_match("a*b*c", "aXXbYY"));
}

TEST(KeyGlob, DoubleStarSpansZeroOrMoreSegments) {
  // at the start
  EXPECT_TRUE(key_glob_match("**/x.csv", "x.csv"));
  EXPECT_TRUE(key_glob_match("**/x.csv", "a/b/x.csv"));
  EXPECT_FALSE(key_glob_match("**/x.csv", "a/b/y.csv"));
  // in the middle
  EXPECT_TRUE(key_glob_match("t/**/x.csv", "t/x.csv"));
  EXPECT_TRUE(key_glob_match("t/**/x.csv", "t/a/b/c/x.csv"));
  EXPECT_FALSE(key_glob_match("t/**/x.csv", "u/a/x.csv"));
  EXPECT_TRUE(key_glob_match("t/**/day=*/*.csv", "t/year=1/month=2/day=3/f.csv"));
  // at the end
  EXPECT_TRUE(key_glob_match("t/**", "t/a"));
  EXPECT_TRUE(key_glob_match("t/**", "t/a/b/c"));
  EXPECT_FALSE(key_glob_match("t/**", "u/a"));
  EXPECT_TRUE(key_glob_match("**", "anything/at/all"));
  // several
  EXPECT_TRUE(key_glob_match("**/a/**/b", "x/a/y/z/b"));
  EXPECT_FALSE(key_glob_match("**/a/**/b", "x/a/y/z/c"));
}

TEST(KeyGlob, QuestionMarkIsOneNonSlashChar) {
  EXPECT_TRUE(key_glob_match("t/?.csv", "t/a.csv"));
  EXPECT_FALSE(key_glob_match("t/?.csv", "t/ab.csv"));
  EXPECT_FALSE(key_glob_match("t?x", "t/x"));
  EXPECT_FALSE(key_glob_match("t/?.csv", "t/.csv"));
}

TEST(KeyGlob, CharacterClasses) {
  EXPECT_TRUE(key_glob_match("d/[0-9].csv", "d/7.csv"));
  EXPECT_FALSE(key_glob_match("d/[0-9].csv", "d/x.csv"));
  EXPECT_TRUE(key_glob_match("d/[!0-9].csv", "d/x.csv"));
  EXPECT_TRUE(key_glob_match("d/[^0-9].csv", "d/x.csv"));
  EXPECT_FALSE(key_glob_match("d/[!0-9].csv", "d/5.csv"));
  EXPECT_TRUE(key_glob_match("d/[abc]x", "d/bx"));
  EXPECT_TRUE(key_glob_match("d/[]]x", "d/]x"));
  EXPECT_TRUE(key_glob_match("d/[a-]x", "d/-x"));
  EXPECT_FALSE(key_glob_match("a[/]b", "a/b"));
  EXPECT_TRUE(key_glob_match("a[b", "a[b"));  // unterminated: literal (rejected by validation)
}

TEST(KeyGlob, EscapesAndLiterals) {
  EXPECT_TRUE(key_glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(key_glob_match("a\\*b", "aXb"));
  EXPECT_TRUE(key_glob_match("exact/key.csv", "exact/key.csv"));
  EXPECT_FALSE(key_glob_match("exact/key.csv", "exact/key.csvx"));
  EXPECT_TRUE(key_glob_match("ünï/*.csv", "ünï/dätä.csv"));
}

TEST(KeyGlob, NoExponentialBlowUp) {
  std::string key(2000, 'a');
  EXPECT_FALSE(key_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", key));
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "a/";
  deep += "c";
  EXPECT_FALSE(key_glob_match("**/a/**/a/**/a/**/a/**/b", deep));
}

TEST(KeyGlob, ProblemsAreExplained) {
  EXPECT_EQ(key_glob_problem("t/**/*.csv"), std::nullopt);
  EXPECT_EQ(key_glob_problem(""), "glob is empty");
  EXPECT_EQ(key_glob_problem("/t/*"), "glob starts with '/' but keys are relative to landing");
  EXPECT_EQ(key_glob_problem("t/"), "glob ends with '/' but keys name files (to match everything below, end with '/**')");
  EXPECT_EQ(key_glob_problem("a//b"), "glob has an empty segment ('//')");
  EXPECT_EQ(key_glob_problem("a/x**/b"), "'**' must be a whole segment (as in 'a/**/b'); inside a segment use '*'");
  EXPECT_EQ(key_glob_problem("a/[bc"), "unterminated '[' in glob (write '[[]' for a literal '[')");
  EXPECT_EQ(key_glob_problem("a/[[]"), std::nullopt);
}
