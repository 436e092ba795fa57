// The cron parser against crontab(5)'s own examples and rules: ranges, steps, lists, names, the
// day-of-month / day-of-week OR rule, the @ macros; and the search for the next firing.
#include <gtest/gtest.h>

#include "orchestration/cron.h"

namespace hivehook {
namespace {

using namespace std::chrono;

// A wall-clock reading: 2024-03-15 (a Friday) etc.
LocalSeconds at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return local_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s);
}

CronExpression cron(std::string_view text) {
  CronError err;
  auto c = CronExpression::parse(text, &err);
  EXPECT_TRUE(c) << text << ": " << err.message;
  return c ? *c : *CronExpression::parse("* * * * *");
}

// The firings after `from`, `n` of them.
std::vector<LocalSeconds> firings(std::string_view text, LocalSeconds from, int n) {
  auto c = cron(text);
  std::vector<LocalSeconds> out;
  for (int i = 0; i < n; ++i) {
    auto next = c.next_after(from);
    if (!next) break;
    out.push_back(*next);
    from = *next;
  }
  return out;
}

// crontab(5) EXAMPLE CRON FILE: "run five minutes after midnight, every day".
TEST(Cron, ManPageFiveMinutesAfterMidnight) {
  EXPECT_EQ(firings("5 0 * * *", at(2024, 3, 15, 12), 2),
            (std::vector{at(2024, 3, 16, 0, 5), at(2024, 3, 17, 0, 5)}));
}

// "run at 2:15pm on the first of every month".
TEST(Cron, ManPageFirstOfEveryMonth) {
  EXPECT_EQ(firings("15 14 1 * *", at(2024, 1, 1, 14, 15), 3),
            (std::vector{at(2024, 2, 1, 14, 15), at(2024, 3, 1, 14, 15), at(2024, 4, 1, 14, 15)}));
}

// "run at 10 pm on weekdays": 2024-03-15 is a Friday, the next is Monday the 18th.
TEST(Cron, ManPageWeekdayRange) {
  EXPECT_EQ(firings("0 22 * * 1-5", at(2024, 3, 15, 22, 0), 2),
            (std::vector{at(2024, 3, 18, 22), at(2024, 3, 19, 22)}));
}

// "23 0-23/2 * * *": 23 minutes after midnight, 2am, 4am, ..., every day.
TEST(Cron, ManPageStepOverRange) {
  EXPECT_EQ(firings("23 0-23/2 * * *", at(2024, 3, 15, 21), 3),
            (std::vector{at(2024, 3, 15, 22, 23), at(2024, 3, 16, 0, 23), at(2024, 3, 16, 2, 23)}));
}

// "5 4 * * sun": 5 after 4 every Sunday.
TEST(Cron, ManPageDayName) {
  EXPECT_EQ(firings("5 4 * * sun", at(2024, 3, 15), 2), (std::vector{at(2024, 3, 17, 4, 5), at(2024, 3, 24, 4, 5)}));
}

// "30 4 1,15 * 5": 4:30 am on the 1st and 15th of each month, plus every Friday (the OR rule).
TEST(Cron, ManPageDayOfMonthOrDayOfWeek) {
  // From Thursday 2024-02-29: Fri 1 Mar (both), Fri 8, Fri 15 (both), Fri 22, Fri 29, Mon 1 Apr.
  EXPECT_EQ(firings("30 4 1,15 * 5", at(2024, 2, 29), 6),
            (std::vector{at(2024, 3, 1, 4, 30), at(2024, 3, 8, 4, 30), at(2024, 3, 15, 4, 30), at(2024, 3, 22, 4, 30),
                         at(2024, 3, 29, 4, 30), at(2024, 4, 1, 4, 30)}));
}

// Only one day field restricted: both must hold (the '*' one always does).
TEST(Cron, OneDayFieldRestrictedMeansAnd) {
  EXPECT_EQ(firings("0 0 13 * *", at(2024, 1, 1), 2), (std::vector{at(2024, 1, 13), at(2024, 2, 13)}));
  EXPECT_EQ(firings("0 0 * * fri", at(2024, 3, 15), 1), (std::vector{at(2024, 3, 22)}));
}

// Vixie cron's DOM_STAR: a field starting with '*' (even "*/2") counts as unrestricted.
TEST(Cron, StarStepCountsAsUnrestrictedForTheOrRule) {
  // Day of month */2 and Friday: AND, so odd days that are Fridays: 2024-03-01, 03-15, 03-29.
  EXPECT_EQ(firings("0 0 */2 * 5", at(2024, 2, 29), 3), (std::vector{at(2024, 3, 1), at(2024, 3, 15), at(2024, 3, 29)}));
}

// "8-11 for an hours entry specifies execution at hours 8, 9, 10 and 11".
TEST(Cron, ManPageRange) {
  EXPECT_EQ(firings("0 8-11 * * *", at(2024, 3, 15), 5),
            (std::vector{at(2024, 3, 15, 8), at(2024, 3, 15, 9), at(2024, 3, 15, 10), at(2024, 3, 15, 11),
                         at(2024, 3, 16, 8)}));
}

// Lists "1,2,5,9" and "0-4,8-12".
TEST(Cron, ManPageLists) {
  EXPECT_EQ(firings("1,2,5,9 0 * * *", at(2024, 3, 15), 5),
            (std::vector{at(2024, 3, 15, 0, 1), at(2024, 3, 15, 0, 2), at(2024, 3, 15, 0, 5), at(2024, 3, 15, 0, 9),
                         at(2024, 3, 16, 0, 1)}));
  auto c = cron("0 0-4,8-12 * * *");
  for (int h = 0; h < 24; ++h) EXPECT_EQ(c.matches(at(2024, 3, 15, h)), (h <= 4 || (h >= 8 && h <= 12))) << h;
}

// "*/2" in the hours field: every other hour (0, 2, ...).
TEST(Cron, ManPageStarStep) {
  auto c = cron("0 */2 * * *");
  for (int h = 0; h < 24; ++h) EXPECT_EQ(c.matches(at(2024, 3, 15, h)), h % 2 == 0) << h;
}

// Names are case-insensitive; 0 and 7 are both Sunday; month names.
TEST(Cron, NamesAndSunday) {
  auto sunday = at(2024, 3, 17, 0);
  EXPECT_TRUE(cron("0 0 * * 0").matches(sunday));
  EXPECT_TRUE(cron("0 0 * * 7").matches(sunday));
  EXPECT_TRUE(cron("0 0 * * SUN").matches(sunday));
  EXPECT_TRUE(cron("0 0 * * 5-7").matches(sunday));
  EXPECT_TRUE(cron("0 0 17 Mar *").matches(sunday));
  EXPECT_FALSE(cron("0 0 17 jan-feb,apr-dec *").matches(sunday));
}

TEST(Cron, Macros) {
  auto from = at(2024, 3, 15, 12, 30);
  EXPECT_EQ(firings("@hourly", from, 1), (std::vector{at(2024, 3, 15, 13)}));
  EXPECT_EQ(firings("@daily", from, 1), (std::vector{at(2024, 3, 16)}));
  EXPECT_EQ(firings("@midnight", from, 1), (std::vector{at(2024, 3, 16)}));
  EXPECT_EQ(firings("@weekly", from, 1), (std::vector{at(2024, 3, 17)}));
  EXPECT_EQ(firings("@monthly", from, 1), (std::vector{at(2024, 4, 1)}));
  EXPECT_EQ(firings("@yearly", from, 1), (std::vector{at(2025, 1, 1)}));
  EXPECT_EQ(firings("@annually", from, 1), (std::vector{at(2025, 1, 1)}));
}

TEST(Cron, SecondsField) {
  auto c = cron("*/15 * * * * *");
  EXPECT_TRUE(c.has_seconds());
  EXPECT_EQ(firings("*/15 * * * * *", at(2024, 3, 15, 0, 0, 50), 2), (std::vector{at(2024, 3, 15, 0, 1, 0), at(2024, 3, 15, 0, 1, 15)}));
  EXPECT_EQ(firings("* * * * * *", at(2024, 3, 15, 23, 59, 59), 1), (std::vector{at(2024, 3, 16)}));
  EXPECT_FALSE(cron("* * * * *").has_seconds());
}

TEST(Cron, NextIsStrictlyAfterAndSkipsPartialSeconds) {
  EXPECT_EQ(firings("0 2 * * *", at(2024, 3, 15, 2), 1), (std::vector{at(2024, 3, 16, 2)}));
  EXPECT_EQ(firings("* * * * *", at(2024, 3, 15, 2, 0, 1), 1), (std::vector{at(2024, 3, 15, 2, 1)}));
}

TEST(Cron, LeapDayAndNeverFiring) {
  EXPECT_EQ(firings("0 0 29 2 *", at(2024, 3, 1), 1), (std::vector{at(2028, 2, 29)}));
  // 2100 is not a leap year: 2096 -> 2104, eight years.
  EXPECT_EQ(firings("0 0 29 2 *", at(2096, 3, 1), 1), (std::vector{at(2104, 2, 29)}));
  EXPECT_FALSE(cron("0 0 30 2 *").next_after(at(2024, 1, 1)));
  EXPECT_FALSE(cron("0 0 31 4,6,9,11 *").next_after(at(2024, 1, 1)));
  // The 31st exists only in some months: skipped in the others.
  EXPECT_EQ(firings("0 0 31 * *", at(2024, 3, 31), 2), (std::vector{at(2024, 5, 31), at(2024, 7, 31)}));
}

struct Bad {
  const char* text;
  const char* message_part;
  size_t offset;
};

TEST(Cron, RefusesWithAClearMessageAndWhere) {
  const Bad cases[] = {
      {"", "empty", 0},
      {"* * * *", "5 fields", 0},
      {"* * * * * * *", "found 7", 0},
      {"60 * * * *", "minute 60 is out of range 0-59", 0},
      {"0 24 * * *", "hour 24 is out of range 0-23", 2},
      {"0 0 0 * *", "day of month 0 is out of range 1-31", 4},
      {"0 0 32 * *", "day of month 32", 4},
      {"0 0 * 13 *", "month 13", 6},
      {"0 0 * * 8", "day of week 8", 8},
      {"0 0 * foo *", "expected a month (1-12 or jan-dec) but found 'foo'", 6},
      {"0 0 * * 5-1", "runs backwards", 8},
      {"0 0 * * mon-sun", "runs backwards", 8},  // sun is 0, as in cronie
      {"*/0 * * * *", "step 0 is out of range 1-60", 2},
      {"5/10 * * * *", "a step needs a range", 0},
      {"1,,2 * * * *", "expected a minute", 2},
      {"1, * * * *", "must not end with ','", 1},
      {"1-2x * * * *", "unexpected 'x'", 3},
      {"*/ * * * *", "expected a step", 2},
      {"@reboot", "not a schedule", 0},
      {"@often", "unknown macro", 0},
      {"  0 0 * * 9", "day of week 9", 10},
  };
  for (const auto& b : cases) {
    CronError err;
    EXPECT_FALSE(CronExpression::parse(b.text, &err)) << b.text;
    EXPECT_NE(err.message.find(b.message_part), std::string::npos) << b.text << ": " << err.message;
    EXPECT_EQ(err.offset, b.offset) << b.text << ": " << err.message;
  }
}

// Issue 14, F16 of the new-user test: "٣ * * * *" (an Arabic-Indic three) was refused as "found
// '\xD9'", the first byte of its UTF-8 sequence. The whole character is echoed.
TEST(Cron, ANonAsciiCharacterIsEchoedWholeNotItsFirstByte_F16) {
  CronError err;
  EXPECT_FALSE(CronExpression::parse("\xD9\xA3 * * * *", &err));
  EXPECT_EQ(err.message, "expected a minute (0-59) but found '\xD9\xA3'");
  EXPECT_EQ(err.offset, 0u);
  EXPECT_FALSE(CronExpression::parse("\xD9 * * * *", &err));  // a broken sequence: one byte, as it is
  EXPECT_EQ(err.message, "expected a minute (0-59) but found '\xD9'");
}

TEST(Cron, MatchesAgreesWithNext) {
  const char* exprs[] = {"*/7 3-20/3 */5 * mon,wed", "0 0 1,15 * 5", "@weekly", "15 10 * feb-apr 1-5"};
  for (const char* e : exprs) {
    auto c = cron(e);
    LocalSeconds t = at(2024, 1, 1);
    for (int i = 0; i < 200; ++i) {
      auto next = c.next_after(t);
      ASSERT_TRUE(next);
      EXPECT_TRUE(c.matches(*next)) << e;
      // Nothing in between matches (checked minute by minute for the close ones).
      if (*next - t < hours(6))
        for (auto m = floor<minutes>(t) + minutes(1); m < *next; m += minutes(1)) EXPECT_FALSE(c.matches(m)) << e;
      t = *next;
    }
  }
}

}  // namespace
}  // namespace hivehook
