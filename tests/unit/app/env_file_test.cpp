// parse_env_file reads systemd's EnvironmentFile= format as systemd does (src/basic/env-file.c).
#include <gtest/gtest.h>

#include "app/env_file.h"

using hivehook::cli::parse_env_file;

namespace {
std::vector<std::pair<std::string, std::string>> vars(std::string_view text) { return parse_env_file(text).vars; }
using V = std::vector<std::pair<std::string, std::string>>;
}  // namespace

TEST(EnvFile, PlainAssignmentsInOrder) {
  EXPECT_EQ(vars("A=1\nB=two\n"), (V{{"A", "1"}, {"B", "two"}}));
  EXPECT_EQ(vars("A=1"), (V{{"A", "1"}})) << "the last line needs no newline";
}

TEST(EnvFile, CommentsAndBlankLinesAreIgnored) {
  auto r = parse_env_file("# a comment\n\n; another\n   # indented\nA=1\n");
  EXPECT_EQ(r.vars, (V{{"A", "1"}}));
  EXPECT_TRUE(r.warnings.empty());
}

TEST(EnvFile, WhitespaceAroundKeyAndBeforeValueSkippedTrailingDropped) {
  EXPECT_EQ(vars("  KEY = value with spaces   \n"), (V{{"KEY", "value with spaces"}}));
  EXPECT_EQ(vars("K=v\r\n"), (V{{"K", "v"}})) << "CR is whitespace";
}

TEST(EnvFile, EmptyValue) { EXPECT_EQ(vars("E=\nF=\"\"\n"), (V{{"E", ""}, {"F", ""}})); }

TEST(EnvFile, SingleQuotesAreLiteral) {
  EXPECT_EQ(vars(R"(K='a \n $HOME "x" \'  )" "\n"), (V{{"K", R"(a \n $HOME "x" \)"}}));
}

TEST(EnvFile, DoubleQuoteEscapesOnlyQuoteBackslashBacktickDollar) {
  EXPECT_EQ(vars(R"(K="a\"b\\c\`d\$e\xf")" "\n"), (V{{"K", R"(a"b\c`d$e\xf)"}}));
}

TEST(EnvFile, QuotedAndUnquotedPartsConcatenate) {
  EXPECT_EQ(vars(R"(K="a b"'c d'e)" "\n"), (V{{"K", "a bc de"}}));
}

TEST(EnvFile, BackslashNewlineContinuesTheValue) {
  EXPECT_EQ(vars("K=one\\\ntwo\nL=x\n"), (V{{"K", "onetwo"}, {"L", "x"}}));
  EXPECT_EQ(vars("K=\"one\\\ntwo\"\n"), (V{{"K", "onetwo"}}));
}

TEST(EnvFile, UnquotedBackslashEscapesTheNextCharacter) {
  EXPECT_EQ(vars("K=a\\ \\#b\\\\\n"), (V{{"K", "a #b\\"}}));
  EXPECT_EQ(vars("K=a\\  \n"), (V{{"K", "a "}})) << "an escaped space is not trailing whitespace";
}

TEST(EnvFile, NewlineInsideQuotesIsPartOfTheValue) {
  EXPECT_EQ(vars("K=\"line1\nline2\"\nL=2\n"), (V{{"K", "line1\nline2"}, {"L", "2"}}));
}

TEST(EnvFile, HashInsideAValueIsNoComment) { EXPECT_EQ(vars("K=a#b\n"), (V{{"K", "a#b"}})); }

TEST(EnvFile, CommentLineCanContinueWithBackslash) {
  EXPECT_EQ(vars("# comment \\\nA=hidden\nB=seen\n"), (V{{"B", "seen"}}));
}

TEST(EnvFile, LineWithoutEqualsIsIgnoredWithItsLineNumber) {
  auto r = parse_env_file("A=1\nNOEQUALS\nB=2\n");
  EXPECT_EQ(r.vars, (V{{"A", "1"}, {"B", "2"}}));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].line, 2u);
  EXPECT_NE(r.warnings[0].text.find("NOEQUALS"), std::string::npos);
}

TEST(EnvFile, InvalidNameIsIgnoredWithItsLineNumber) {
  auto r = parse_env_file("\n\nexport X=1\n9A=2\nOK_1=3\n");
  EXPECT_EQ(r.vars, (V{{"OK_1", "3"}}));
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0].line, 3u);
  EXPECT_EQ(r.warnings[1].line, 4u);
}

TEST(EnvFile, LineNumbersCountContinuedLines) {
  auto r = parse_env_file("K=\"a\nb\"\nBAD\n");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].line, 3u);
}

TEST(EnvFile, UnterminatedQuoteTakesTheRestOfTheFile) {
  EXPECT_EQ(vars("K=\"abc\nL=1"), (V{{"K", "abc\nL=1"}}));
}
