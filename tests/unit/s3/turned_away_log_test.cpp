// s3/turned_away_log: refused and cut-off S3 clients are logged, at most one line per reason every
// 10 s, saying how many more were turned away since (issue 12 re-test, R5). A manual clock.
#include "s3/turned_away_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hivehook::s3 {

TEST(TurnedAwayLog, R5OneLinePerReasonEveryTenSecondsCountingTheRest) {
  auto t = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  std::vector<std::string> lines;
  TurnedAwayLog log([&] { return t; }, [&](const std::string& l) { lines.push_back(l); });
  log.note("connections_per_client", "127.0.0.1 (pid 42)", "too many connections from 127.0.0.1 (pid 42) (512)");
  for (int i = 0; i < 300; ++i) log.note("connections_per_client", "127.0.0.1 (pid 42)", "too many");
  log.note("request_timeout", "127.0.0.1 (pid 7)", "the body arrived at 12 bytes/s");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("s3: 503 SlowDown to 127.0.0.1 (pid 42): too many connections", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("docs/runbook.md"), std::string::npos);
  EXPECT_EQ(lines[1].rfind("s3: 400 RequestTimeout to 127.0.0.1 (pid 7): the body arrived at 12 bytes/s", 0), 0u);
  t += std::chrono::seconds(10);
  log.note("connections_per_client", "127.0.0.1 (pid 43)", "too many connections from 127.0.0.1 (pid 43) (512)");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[2].find("(and 300 more turned away for this reason in the last 10 s)"), std::string::npos) << lines[2];
}

}  // namespace hivehook::s3
