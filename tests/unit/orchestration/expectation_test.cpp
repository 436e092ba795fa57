// Expectation periods, deadlines and partitions, in UTC and in a zone.
#include <gtest/gtest.h>

#include "orchestration/expectation.h"

namespace hivehook {
namespace {

using namespace std::chrono;

SystemTime utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return SystemTime{(sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi)).time_since_epoch()};
}
LocalSeconds local(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return local_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi);
}

ExpectationSchedule daily(const char* by = "06:00") {
  ExpectationSchedule e;
  e.every = hours(24);
  e.by = *parse_time_of_day(by);
  e.partition = *parse_partition_template("year={yyyy}/month={mm}/day={dd}", nullptr);
  return e;
}

TEST(Expectation, DailyPartitionIsDueTheNextMorning) {
  auto e = daily();
  auto p = e.period_start(local(2023, 3, 15, 17, 20));
  EXPECT_EQ(p, local(2023, 3, 15));
  EXPECT_EQ(e.render(p), "year=2023/month=03/day=15");
  EXPECT_EQ(e.deadline(p), utc(2023, 3, 16, 6));
}

TEST(Expectation, DueBetweenListsEachPassedDeadlineOnce) {
  auto e = daily();
  auto due = e.due_between(utc(2023, 3, 16, 5), utc(2023, 3, 18, 7));
  ASSERT_EQ(due.size(), 3u);  // deadlines 16th, 17th and 18th at 06:00
  EXPECT_EQ(e.render(due[0]), "year=2023/month=03/day=15");
  EXPECT_EQ(e.render(due[2]), "year=2023/month=03/day=17");
  // A deadline exactly at `now` is due; exactly at `since` was already handled.
  EXPECT_EQ(e.due_between(utc(2023, 3, 16, 6), utc(2023, 3, 17, 6)).size(), 1u);
  EXPECT_TRUE(e.due_between(utc(2023, 3, 16, 6), utc(2023, 3, 17, 5)).empty());
  EXPECT_EQ(e.next_deadline_after(utc(2023, 3, 16, 6)), utc(2023, 3, 17, 6));
  EXPECT_EQ(e.next_deadline_after(utc(2023, 3, 16, 5)), utc(2023, 3, 16, 6));
}

TEST(Expectation, LongDowntimeKeepsTheNewestPeriods) {
  auto e = daily();
  auto due = e.due_between(utc(2020, 1, 1), utc(2023, 3, 18, 7), 10);
  ASSERT_EQ(due.size(), 10u);
  EXPECT_EQ(e.render(due.back()), "year=2023/month=03/day=17");
  EXPECT_EQ(e.render(due.front()), "year=2023/month=03/day=08");
}

TEST(Expectation, HourlyInAZone) {
  ExpectationSchedule e;
  e.every = hours(1);
  e.by = *parse_time_of_day("00:15");
  e.partition = *parse_partition_template("dt={yyyy}-{mm}-{dd}/hour={hh}", nullptr);
  e.zone = *TimeZone::locate("Europe/Berlin");
  EXPECT_EQ(e.template_problem(), "");
  auto p = e.period_start(local(2024, 7, 15, 14, 40));
  EXPECT_EQ(e.render(p), "dt=2024-07-15/hour=14");
  EXPECT_EQ(e.deadline(p), utc(2024, 7, 15, 13, 15));  // 15:15 CEST
}

TEST(Expectation, PartitionOfAnArrivedKey) {
  auto e = daily();
  auto key = *parse_key("transactions/year=2023/month=03/day=15/t.csv");
  EXPECT_EQ(e.partition_of(key), "year=2023/month=03/day=15");
  EXPECT_FALSE(e.partition_of(*parse_key("transactions/year=2023/t.csv")));
}

TEST(Expectation, ChecksEveryAndTemplate) {
  EXPECT_EQ(ExpectationSchedule::every_problem(hours(24), "1d"), "");
  EXPECT_EQ(ExpectationSchedule::every_problem(minutes(15), "15m"), "");
  EXPECT_NE(ExpectationSchedule::every_problem(minutes(7), "7m"), "");  // does not divide a day
  EXPECT_NE(ExpectationSchedule::every_problem(hours(48), "2d"), "");
  EXPECT_NE(ExpectationSchedule::every_problem(seconds(30), "30s"), "");
  auto e = daily();
  e.every = hours(1);
  EXPECT_NE(e.template_problem().find("{hh}"), std::string::npos);
  std::string err;
  EXPECT_FALSE(parse_partition_template("year={yy}", &err));
  EXPECT_NE(err.find("unknown placeholder '{yy}'"), std::string::npos);
  EXPECT_FALSE(parse_partition_template("{yyyy}", &err));
  EXPECT_FALSE(parse_partition_template("a=1/a=2", &err));
  EXPECT_FALSE(parse_partition_template("day={dd", &err));
  EXPECT_FALSE(parse_time_of_day("24:00"));
  EXPECT_FALSE(parse_time_of_day("6:00"));
  EXPECT_EQ(parse_time_of_day("23:59:59"), hours(23) + minutes(59) + seconds(59));
}

// period_of is render's inverse: it judges an alert raised under an older `every`/`partition`.
TEST(Expectation, PeriodOfInvertsRenderAndRefusesWhatIsNoPeriodOfEvery) {
  auto e = daily();
  EXPECT_EQ(e.period_of("year=2023/month=03/day=15"), local(2023, 3, 15));
  EXPECT_EQ(e.period_of("year=2024/month=02/day=29"), local(2024, 2, 29));
  EXPECT_FALSE(e.period_of("year=2023/month=02/day=29")) << "not a date";
  EXPECT_FALSE(e.period_of("year=2023/month=3/day=15")) << "render zero-pads";
  EXPECT_FALSE(e.period_of("year=2023/month=03")) << "a column short";
  EXPECT_FALSE(e.period_of("year=2023/month=03/day=15/hour=00")) << "a column more";
  EXPECT_FALSE(e.period_of("dt=2023-03-15")) << "another template";

  ExpectationSchedule h;
  h.every = hours(2);
  h.partition = *parse_partition_template("dt={yyyy}-{mm}-{dd}/hour={hh}h", nullptr);
  EXPECT_EQ(h.period_of("dt=2023-03-15/hour=04h"), local(2023, 3, 15, 4));
  EXPECT_FALSE(h.period_of("dt=2023-03-15/hour=05h")) << "05:00 starts no period of every: 2h";
  EXPECT_FALSE(h.period_of("dt=2023-03-15/hour=24h"));
  EXPECT_FALSE(h.period_of("dt=2023-03-15/hour=04")) << "the literal 'h' is missing";

  auto hourly_named_daily = daily();
  hourly_named_daily.partition = *parse_partition_template("day={yyyy}{mm}{dd}/hour={hh}", nullptr);
  EXPECT_EQ(hourly_named_daily.period_of("day=20230315/hour=00"), local(2023, 3, 15));
  EXPECT_FALSE(hourly_named_daily.period_of("day=20230315/hour=07")) << "every: 1d starts at midnight only";

  ExpectationSchedule twice;
  twice.partition = *parse_partition_template("a={dd}/b={dd}/y={yyyy}/m={mm}", nullptr);
  EXPECT_EQ(twice.period_of("a=15/b=15/y=2023/m=03"), local(2023, 3, 15));
  EXPECT_FALSE(twice.period_of("a=15/b=16/y=2023/m=03")) << "one token, two values";
}

// F4 of issue 14's new-user test: a Spark-style unpadded `minute=1` did not satisfy `{mi}`, so a
// false expect.late was raised and never cleared.
TEST(Expectation, AnUnpaddedPartitionValueSatisfiesItsToken) {
  ExpectationSchedule e;
  e.every = minutes(1);
  e.partition = *parse_partition_template("year={yyyy}/month={mm}/day={dd}/hour={hh}/minute={mi}", nullptr);
  EXPECT_EQ(e.partition_of(*parse_key("hb/year=2026/month=11/day=30/hour=23/minute=1/x")),
            "year=2026/month=11/day=30/hour=23/minute=01");
  EXPECT_EQ(e.partition_of(*parse_key("hb/year=2026/month=3/day=5/hour=0/minute=00/x")),
            "year=2026/month=03/day=05/hour=00/minute=00");
  EXPECT_EQ(e.partition_of(*parse_key("hb/year=2026/month=3x/day=5/hour=0/minute=0/x")),
            "year=2026/month=3x/day=05/hour=00/minute=00") << "not a number: kept as it is";
  auto compact = daily();
  compact.partition = *parse_partition_template("dt={yyyy}{mm}{dd}", nullptr);
  EXPECT_EQ(compact.partition_of(*parse_key("t/dt=2026035/x")), "dt=2026035") << "several tokens: no padding guessed";
}

}  // namespace
}  // namespace hivehook
