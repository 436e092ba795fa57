// Expectations (`expect:` on a rule, DESIGN.md "Orchestration"): "this rule's partition for each
// period arrives by a deadline", as an Airflow SLA or a CloudWatch "missing data" alarm would say.
// Pure arithmetic over a zone: periods, their deadlines, and the partition each one expects.
//
// A period is `every` long (a whole number of minutes that divides a day, or one day), aligned on
// the zone's midnight. The partition a period expects is the `partition` template rendered with the
// period's start: {yyyy} {mm} {dd} {hh} {mi} (zero-padded). Its deadline is `by` (a time of day,
// "HH:MM" or "HH:MM:SS") after the period ends: `every: 1d, by: "06:00"` expects day D's
// partition by 06:00 on day D+1 (yesterday's file by six in the morning).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "landing/key.h"
#include "orchestration/time_zone.h"

namespace hivehook {

// One "name=TEMPLATE" segment of an expected partition, e.g. {"day", "{dd}"}.
struct PartitionTemplateSegment {
  std::string name;
  std::string value;  // literal text with {yyyy} {mm} {dd} {hh} {mi} tokens
};

// Parses "year={yyyy}/month={mm}/day={dd}". Errors: empty, a segment without "name=", an unknown
// or unclosed token, a repeated name. On error returns nullopt and sets *error.
std::optional<std::vector<PartitionTemplateSegment>> parse_partition_template(std::string_view text,
                                                                              std::string* error);

// "06:00" / "06:00:30" as a duration (00:00:00 to 23:59:59); nullopt when malformed.
std::optional<Duration> parse_time_of_day(std::string_view text);

struct ExpectationSchedule {
  Duration every{std::chrono::hours(24)};
  Duration by{0};
  std::vector<PartitionTemplateSegment> partition;
  TimeZone zone;

  // Why `every` is not usable ("" when fine): it must be a whole number of minutes dividing 24h.
  // `as_written`: the value as the rules file spells it ("7m"), quoted in the message.
  static std::string every_problem(Duration every, std::string_view as_written);
  // Why the template cannot tell periods of this length apart ("" when it can): every < 1d needs
  // {hh}, every < 1h needs {mi}; every token must be used for periods that change it.
  std::string template_problem() const;

  // The start (wall clock) of the period containing a wall-clock time.
  LocalSeconds period_start(LocalSeconds t) const;
  // When the partition of the period starting at `start` is late.
  SystemTime deadline(LocalSeconds start) const;
  // "year=2023/month=03/day=15" for the period starting at `start`.
  std::string render(LocalSeconds start) const;
  // The expected-partition string an arrived key stands for: its values of the template's names,
  // in the template's order ("year=2023/month=03/day=15"); nullopt when the key lacks one of them.
  // A column whose template is one token takes an unpadded number as render writes it: `month=3`
  // stands for "month=03" (Spark's partitionBy writes integer columns unpadded).
  std::optional<std::string> partition_of(const ObjectKey& key) const;
  // The start of the period whose partition is `partition` (the inverse of render): nullopt when
  // this schedule has no such period — the template cannot name it (other columns, other literal
  // text, not a date), or it names a time that does not start a period of `every` ("hour=05" under
  // `every: 1d`, "minute=30" under `every: 1h`). Used when `every`/`by`/`partition` change, to
  // judge an alert raised under the old definition by the new one.
  std::optional<LocalSeconds> period_of(std::string_view partition) const;

  // Periods whose deadline lies in (since, now], oldest first, at most `limit` (the newest ones
  // when there are more).
  std::vector<LocalSeconds> due_between(SystemTime since, SystemTime now, size_t limit = 1000) const;
  // The next deadline strictly after `t` (for arming a timer).
  SystemTime next_deadline_after(SystemTime t) const;
};

}  // namespace hivehook
