// The journal's priority prefix on std::cerr's lines (issue 16, second operator test, N4).
#include "app/journal_stderr.h"

#include <gtest/gtest.h>

#include <sstream>

namespace hivehook {
namespace {

TEST(LinePrefixBuf, EveryLineOfAStartUpRefusalStartsWithTheErrPriority) {
  std::ostringstream sink;
  LinePrefixBuf buf(sink.rdbuf(), journal_priority_of);
  std::ostream err(&buf);
  err << "hivehook: metrics: cannot listen on 127.0.0.1:9464: Address already in use\n"
      << "second line" << '\n'
      << "\n"
      << "unterminated";
  err.flush();
  EXPECT_EQ(sink.str(),
            "<3>hivehook: metrics: cannot listen on 127.0.0.1:9464: Address already in use\n"
            "<3>second line\n<3>\n<3>unterminated");
}

TEST(LinePrefixBuf, AConfigWarningIsAWarningAndAFlushedPartLineIsPrefixedOnce) {
  std::ostringstream sink;
  LinePrefixBuf buf(sink.rdbuf(), journal_priority_of);
  std::ostream err(&buf);
  err << "hivehook.yaml:3:10: warning: metrics listens on 0.0.0.0\n" << "partial" << std::flush << " rest\n";
  EXPECT_EQ(sink.str(), "<4>hivehook.yaml:3:10: warning: metrics listens on 0.0.0.0\n<3>partial rest\n");
}

TEST(LinePrefixBuf, NothingWrittenNothingPrefixed) {
  std::ostringstream sink;
  LinePrefixBuf buf(sink.rdbuf(), journal_priority_of);
  std::ostream err(&buf);
  err.flush();
  EXPECT_EQ(sink.str(), "");
}

}  // namespace
}  // namespace hivehook
