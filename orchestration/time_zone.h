// Time zones for schedules and expectations: IANA names ("Europe/Berlin") read from the system's
// TZif files (/usr/share/zoneinfo, Debian's tzdata) through Howard Hinnant's date/tz library as
// Debian builds it (libhowardhinnant-date-dev, USE_OS_TZDB) — the library that became C++20's
// <chrono> time zones, which libstdc++ 12 lacks (see docs/decisions.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "orchestration/cron.h"

namespace date {
class time_zone;
}

namespace hivehook {

class TimeZone {
 public:
  // UTC (no lookup, no files).
  TimeZone() = default;
  // An IANA zone name, "UTC" or "Etc/UTC". Returns nullopt and fills *error when the system's zone
  // database has no such zone (or cannot be read).
  static std::optional<TimeZone> locate(std::string_view name, std::string* error = nullptr);

  const std::string& name() const { return name_; }
  bool is_utc() const { return zone_ == nullptr; }

  // The wall-clock reading of an instant in this zone (whole seconds, truncated).
  LocalSeconds to_local(SystemTime t) const;
  // The instant of a wall-clock reading. Readings that do not exist (skipped by a move to summer
  // time) map to the instant the clocks moved, i.e. the first instant after the gap, as cronie runs
  // jobs of a skipped hour right after the change; readings that happen twice (the repeated hour
  // of a move back) map to the first of the two.
  SystemTime to_system(LocalSeconds t) const;
  // The UTC offset in force at `t` and the instant it ends (the next daylight-saving or other
  // change of the zone's rules; SystemTime::max() for UTC or a zone with no change to come).
  struct Period {
    std::chrono::seconds offset{0};
    SystemTime end = SystemTime::max();
  };
  Period period_at(SystemTime t) const;

 private:
  std::string name_ = "UTC";
  const date::time_zone* zone_ = nullptr;  // null: UTC
};

// The next firing of `cron` in `zone` strictly after `after`, by cron(8)'s rules for daylight-saving
// moves: a job at a fixed time (no '*' in its minute or hour field) maps its wall-clock match to an
// instant by TimeZone::to_system, so a skipped time runs at the move and a repeated one once; a
// wildcard job (CronExpression::wildcard_time: "*/15 * * * *", @hourly) fires at every instant whose
// wall-clock reading, in the offset then in force, matches: at the move forward it runs by the new
// time at once, and it runs through the repeated hour again. nullopt when the expression never fires.
std::optional<SystemTime> next_firing(const CronExpression& cron, const TimeZone& zone, SystemTime after);

// The latest firing of `cron` in `zone` in (after, until]: what a schedule that missed several
// times runs once for (Airflow's `catchup=False`: the latest interval only). nullopt when none
// falls in that span. next_firing is monotone in its argument, so this is a binary search over
// the milliseconds of the span (about 40 next_firing calls for years of downtime), not a walk
// over every missed firing.
std::optional<SystemTime> last_firing_between(const CronExpression& cron, const TimeZone& zone, SystemTime after,
                                              SystemTime until);

// How many firings of `cron` in `zone` fall in (after, until], counting at most `limit` (a result
// equal to `limit` means "at least that many": an every-second schedule down for a month missed
// millions, and counting them would walk every one).
std::size_t count_firings_between(const CronExpression& cron, const TimeZone& zone, SystemTime after, SystemTime until,
                                  std::size_t limit);

}  // namespace hivehook
