// Shell quoting of raw file names and the Latin-1 reading of a name that is not UTF-8.
#include <gtest/gtest.h>

#include "base/encoding.h"
#include "base/utf8.h"

using namespace hivehook;

TEST(ShellQuoted, KeepsPrintableAsciiAndEscapesEveryOtherByte) {
  EXPECT_EQ(shell_quoted("/srv/landing/a b.csv"), "$'/srv/landing/a b.csv'");
  EXPECT_EQ(shell_quoted("caf\xe9.csv"), "$'caf\\xe9.csv'");
  EXPECT_EQ(shell_quoted("it's\\x\n"), "$'it\\'s\\\\x\\x0a'");
  EXPECT_EQ(shell_quoted(std::string("\0\x7f\xff", 3)), "$'\\x00\\x7f\\xff'");
}

TEST(Latin1ToUtf8, ReadsEachByteAsItsCodePoint) {
  EXPECT_EQ(latin1_to_utf8("caf\xe9.csv"), "caf\xc3\xa9.csv");
  EXPECT_EQ(latin1_to_utf8("\xff\x80plain"), "\xc3\xbf\xc2\x80plain");
  EXPECT_TRUE(is_valid_utf8(latin1_to_utf8("\xe9t\xe9\xa0")));
}
