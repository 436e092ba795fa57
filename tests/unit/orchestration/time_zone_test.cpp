// Time zones from the system's zone database, and cron firings across daylight-saving moves.
#include <gtest/gtest.h>

#include "orchestration/time_zone.h"

namespace hivehook {
namespace {

using namespace std::chrono;

SystemTime utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return SystemTime{(sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s)).time_since_epoch()};
}
LocalSeconds local(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return local_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s);
}

TimeZone zone(const char* name) {
  std::string err;
  auto z = TimeZone::locate(name, &err);
  EXPECT_TRUE(z) << err;
  return z ? *z : TimeZone{};
}

TEST(TimeZone, UtcNeedsNoDatabase) {
  TimeZone tz;
  EXPECT_TRUE(tz.is_utc());
  EXPECT_EQ(tz.to_local(utc(2024, 3, 15, 13, 45, 12)), local(2024, 3, 15, 13, 45, 12));
  EXPECT_EQ(tz.to_system(local(2024, 3, 15, 13, 45, 12)), utc(2024, 3, 15, 13, 45, 12));
  EXPECT_TRUE(TimeZone::locate("UTC")->is_utc());
}

TEST(TimeZone, UnknownZoneIsAClearError) {
  std::string err;
  EXPECT_FALSE(TimeZone::locate("Mars/Olympus_Mons", &err));
  EXPECT_NE(err.find("unknown time zone 'Mars/Olympus_Mons'"), std::string::npos) << err;
  EXPECT_FALSE(TimeZone::locate("../../etc/passwd", &err));
  EXPECT_FALSE(TimeZone::locate("", &err));
}

TEST(TimeZone, OffsetsFromTheDatabase) {
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.to_local(utc(2024, 1, 15, 12)), local(2024, 1, 15, 13));  // CET
  EXPECT_EQ(berlin.to_local(utc(2024, 7, 15, 12)), local(2024, 7, 15, 14));  // CEST
  EXPECT_EQ(berlin.to_system(local(2024, 7, 15, 14)), utc(2024, 7, 15, 12));
  auto kolkata = zone("Asia/Kolkata");  // +05:30, no DST
  EXPECT_EQ(kolkata.to_local(utc(2024, 3, 15, 0)), local(2024, 3, 15, 5, 30));
}

// 2024-03-31 in Berlin: 02:00 CET jumps to 03:00 CEST (01:00 UTC). 02:30 does not exist.
TEST(TimeZone, SkippedHourMapsToTheMoment) {
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.to_system(local(2024, 3, 31, 2, 30)), utc(2024, 3, 31, 1));
  // A daily 02:30 job runs right after the change that day, and at 02:30 CEST the next.
  auto c = *CronExpression::parse("30 2 * * *");
  EXPECT_EQ(next_firing(c, berlin, utc(2024, 3, 30, 12)), utc(2024, 3, 31, 1));
  EXPECT_EQ(next_firing(c, berlin, utc(2024, 3, 31, 1)), utc(2024, 4, 1, 0, 30));
  // Every minute through the gap: 01:59 CET, then once at the change, then 03:01 CEST.
  auto every = *CronExpression::parse("* * * * *");
  EXPECT_EQ(next_firing(every, berlin, utc(2024, 3, 31, 0, 58)), utc(2024, 3, 31, 0, 59));
  EXPECT_EQ(next_firing(every, berlin, utc(2024, 3, 31, 0, 59)), utc(2024, 3, 31, 1));
  EXPECT_EQ(next_firing(every, berlin, utc(2024, 3, 31, 1)), utc(2024, 3, 31, 1, 1));
}

// 2024-10-27 in Berlin: 03:00 CEST goes back to 02:00 CET (01:00 UTC); 02:30 happens twice.
TEST(TimeZone, RepeatedHourFiresOnce) {
  auto berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.to_system(local(2024, 10, 27, 2, 30)), utc(2024, 10, 27, 0, 30));  // the first
  auto c = *CronExpression::parse("30 2 * * *");
  EXPECT_EQ(next_firing(c, berlin, utc(2024, 10, 26, 12)), utc(2024, 10, 27, 0, 30));
  EXPECT_EQ(next_firing(c, berlin, utc(2024, 10, 27, 0, 30)), utc(2024, 10, 28, 1, 30));
  // Even when asked from inside the second 02:xx hour.
  EXPECT_EQ(next_firing(c, berlin, utc(2024, 10, 27, 1, 10)), utc(2024, 10, 28, 1, 30));
}

// Issue 14 G10, cron(8): "Only jobs that run at a particular time (not specified as @hourly, nor
// with '*' in the hour or minute specifier) are affected by these rules. Jobs which are specified
// with wildcards are run based on the new time immediately." An every-15-minutes schedule stopped
// for the whole repeated hour of a move back (01:45 EDT, then 02:00 EST: four firings lost).
TEST(TimeZone, G10_WildcardScheduleRunsThroughTheRepeatedHour) {
  auto ny = zone("America/New_York");  // 2026-11-01: 02:00 EDT (06:00 UTC) goes back to 01:00 EST
  auto quarter = *CronExpression::parse("*/15 * * * *");
  EXPECT_TRUE(quarter.wildcard_time());
  EXPECT_EQ(next_firing(quarter, ny, utc(2026, 11, 1, 5, 40)), utc(2026, 11, 1, 5, 45));  // 01:45 EDT
  EXPECT_EQ(next_firing(quarter, ny, utc(2026, 11, 1, 5, 45)), utc(2026, 11, 1, 6, 0));   // 01:00 EST
  EXPECT_EQ(next_firing(quarter, ny, utc(2026, 11, 1, 6, 0)), utc(2026, 11, 1, 6, 15));   // 01:15 EST
  EXPECT_EQ(count_firings_between(quarter, ny, utc(2026, 11, 1, 4), utc(2026, 11, 1, 8), 1000), 16u);  // 4 h of UTC
  auto hourly = *CronExpression::parse("@hourly");
  EXPECT_TRUE(hourly.wildcard_time());
  EXPECT_EQ(next_firing(hourly, ny, utc(2026, 11, 1, 5, 0)), utc(2026, 11, 1, 6, 0));  // 01:00 EST again
  // A fixed time is not a wildcard job: 01:30 runs once, in the first pass.
  auto fixed = *CronExpression::parse("30 1 * * *");
  EXPECT_FALSE(fixed.wildcard_time());
  EXPECT_EQ(next_firing(fixed, ny, utc(2026, 11, 1, 5, 0)), utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(next_firing(fixed, ny, utc(2026, 11, 1, 5, 30)), utc(2026, 11, 2, 6, 30));
}

// The move forward, 2026-03-08 in New York: 02:00 EST (07:00 UTC) jumps to 03:00 EDT. A wildcard job
// runs by the new time at once: one firing at the move, none for the skipped hour's readings.
TEST(TimeZone, G10_WildcardScheduleRunsByTheNewTimeAtTheMoveForward) {
  auto ny = zone("America/New_York");
  auto hourly = *CronExpression::parse("0 * * * *");
  EXPECT_EQ(next_firing(hourly, ny, utc(2026, 3, 8, 6, 30)), utc(2026, 3, 8, 7, 0));  // 03:00 EDT
  EXPECT_EQ(next_firing(hourly, ny, utc(2026, 3, 8, 7, 0)), utc(2026, 3, 8, 8, 0));
  auto in_the_gap = *CronExpression::parse("*/10 2 * * *");  // only the skipped hour's readings
  EXPECT_EQ(next_firing(in_the_gap, ny, utc(2026, 3, 8, 6, 30)), utc(2026, 3, 9, 6, 0));  // next day 02:00 EDT
  auto every_second = *CronExpression::parse("* * * * * *");
  EXPECT_EQ(next_firing(every_second, ny, utc(2026, 3, 8, 6, 59, 59)), utc(2026, 3, 8, 7, 0, 0));
  // Monotone, so the latest missed firing is found by bisection across the move.
  EXPECT_EQ(last_firing_between(hourly, ny, utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 7, 30)), utc(2026, 3, 8, 7, 0));
}

TEST(TimeZone, NightlyScheduleInAZone) {
  auto ny = zone("America/New_York");
  auto c = *CronExpression::parse("0 2 * * *");
  EXPECT_EQ(next_firing(c, ny, utc(2024, 1, 15, 12)), utc(2024, 1, 16, 7));  // EST, -5
  EXPECT_EQ(next_firing(c, ny, utc(2024, 7, 15, 12)), utc(2024, 7, 16, 6));  // EDT, -4
  EXPECT_EQ(next_firing(c, TimeZone{}, utc(2024, 7, 15, 12)), utc(2024, 7, 16, 2));
}

TEST(TimeZone, NeverFiringScheduleHasNoNext) {
  EXPECT_FALSE(next_firing(*CronExpression::parse("0 0 30 2 *"), TimeZone{}, utc(2024, 1, 1)));
}

// The fault: a schedule that missed several times while the daemon was down caught up with the
// OLDEST missed time. Catch-up runs once, for the latest (Airflow's catchup=False).
TEST(TimeZone, CatchUpFiringIsTheLatestMissedNotTheOldest) {
  auto nightly = *CronExpression::parse("0 2 * * *");
  // Down from the 10th at noon to the 14th at 09:00: 02:00 of the 11th..14th were missed.
  EXPECT_EQ(last_firing_between(nightly, TimeZone{}, utc(2024, 3, 10, 12), utc(2024, 3, 14, 9)), utc(2024, 3, 14, 2));
  EXPECT_EQ(next_firing(nightly, TimeZone{}, utc(2024, 3, 10, 12)), utc(2024, 3, 11, 2));  // the oldest
  // The span's end is included, its start is not.
  EXPECT_EQ(last_firing_between(nightly, TimeZone{}, utc(2024, 3, 13, 2), utc(2024, 3, 14, 2)), utc(2024, 3, 14, 2));
  EXPECT_FALSE(last_firing_between(nightly, TimeZone{}, utc(2024, 3, 14, 2), utc(2024, 3, 14, 9)));
  // Every second, down for a day and a bit: the last second before `until`.
  auto every = *CronExpression::parse("* * * * * *");
  EXPECT_EQ(last_firing_between(every, TimeZone{}, utc(2024, 3, 10), utc(2024, 3, 11, 0, 0, 7) + milliseconds(999)),
            utc(2024, 3, 11, 0, 0, 7));
  // Years of downtime stay cheap (a binary search), and a zone's wall clock is honoured.
  EXPECT_EQ(last_firing_between(nightly, zone("Europe/Berlin"), utc(2020, 1, 1), utc(2024, 7, 15, 12)),
            utc(2024, 7, 15, 0));  // 02:00 CEST
  EXPECT_FALSE(last_firing_between(*CronExpression::parse("0 0 30 2 *"), TimeZone{}, utc(2024, 1, 1), utc(2025, 1, 1)));
}

// catch_up: false named only the first missed time; it now says how many were missed.
TEST(TimeZone, CatchUpFalseCountsEveryMissedFiringUpToALimit) {
  auto nightly = *CronExpression::parse("0 2 * * *");
  // Down from the 10th at noon to the 14th at 09:00: 02:00 of the 11th..14th, four times.
  EXPECT_EQ(count_firings_between(nightly, TimeZone{}, utc(2024, 3, 10, 12), utc(2024, 3, 14, 9), 100000), 4u);
  // The span's start is excluded, its end included.
  EXPECT_EQ(count_firings_between(nightly, TimeZone{}, utc(2024, 3, 11, 2), utc(2024, 3, 14, 2), 100000), 3u);
  EXPECT_EQ(count_firings_between(nightly, TimeZone{}, utc(2024, 3, 14, 2), utc(2024, 3, 14, 9), 100000), 0u);
  // Every second for a day: 86,400, or the limit when it is lower ("at least").
  auto every = *CronExpression::parse("* * * * * *");
  EXPECT_EQ(count_firings_between(every, TimeZone{}, utc(2024, 3, 10), utc(2024, 3, 11), 100000), 86400u);
  EXPECT_EQ(count_firings_between(every, TimeZone{}, utc(2024, 3, 10), utc(2024, 3, 11), 1000), 1000u);
  // A zone's repeated hour fires once (Europe/Berlin, 2024-10-27 02:30 happens twice).
  EXPECT_EQ(count_firings_between(*CronExpression::parse("30 2 * * *"), zone("Europe/Berlin"), utc(2024, 10, 26, 12),
                                  utc(2024, 10, 27, 12), 100000),
            1u);
}

}  // namespace
}  // namespace hivehook
