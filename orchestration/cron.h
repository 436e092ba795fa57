// Cron expressions as crontab(5) writes them (Vixie cron / cronie, the cron of Debian), for the
// `schedule:` of a rule (DESIGN.md "Orchestration"). Debian ships no C++ cron library (see
// docs/decisions.md), so this is the one small parser, fuzzed by tests/fuzz/fuzz_cron.cpp.
//
// Syntax (crontab(5)):
//   "MIN HOUR DOM MON DOW"        five fields: minute 0-59, hour 0-23, day of month 1-31,
//                                 month 1-12 or jan-dec, day of week 0-7 or sun-sat (0 and 7: Sunday)
//   "SEC MIN HOUR DOM MON DOW"    six fields: a leading seconds field 0-59 (the Quartz/Spring
//                                 extension; lets tests fire every second)
//   each field: "*", "N", "N-M", a step "*/S" or "N-M/S", or a comma list of those
//   "@yearly" ("@annually"), "@monthly", "@weekly", "@daily" ("@midnight"), "@hourly"
//   (@reboot is not a schedule and is refused). Names are case-insensitive and not allowed in
//   ranges' steps; a range must not run backwards.
// The day rule (crontab(5) "Note: The day of a command's execution can be specified by two
// fields"): when both day of month and day of week are restricted (neither field starts with '*'),
// a day matches when EITHER matches; otherwise both must (the unrestricted one always does).
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hivehook {

// A wall-clock time without a zone (what cron fields are compared with), in whole seconds.
using LocalSeconds = std::chrono::local_seconds;

// Why a cron expression was refused: the message and the 0-based offset in the text where the
// offending field starts.
struct CronError {
  std::string message;
  size_t offset = 0;
};

class CronExpression {
 public:
  // Parses `text` (leading/trailing blanks allowed, fields separated by blanks or tabs).
  // Returns nullopt and fills *error (if given) when malformed.
  static std::optional<CronExpression> parse(std::string_view text, CronError* error = nullptr);

  // Does this wall-clock second match every field (with the day rule above)?
  bool matches(LocalSeconds t) const;
  // The first matching wall-clock second strictly after `t`; nullopt when none falls within the
  // next 9 years (e.g. "0 0 30 2 *", which never fires; 9 years covers the 8-year gap between
  // leap days around 2100).
  std::optional<LocalSeconds> next_after(LocalSeconds t) const;
  // cron(8)'s "wildcard" job: the seconds (six fields), minute or hour field starts with '*' (so
  // `@hourly` is one). Across a daylight-saving move such a job runs by the new wall-clock time
  // at once, and in a repeated hour it runs again; a job at a fixed time runs once
  // (next_firing, orchestration/time_zone.h).
  bool wildcard_time() const { return wildcard_time_; }
  // True when written with a seconds field (six fields).
  bool has_seconds() const { return has_seconds_; }
  // The text as written (trimmed).
  const std::string& text() const { return text_; }

 private:
  bool day_matches(int year, unsigned month, unsigned day, unsigned weekday) const;

  std::string text_;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bits 1-31
  std::bitset<13> months_;         // bits 1-12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool dom_restricted_ = false, dow_restricted_ = false, has_seconds_ = false, wildcard_time_ = false;
};

}  // namespace hivehook
