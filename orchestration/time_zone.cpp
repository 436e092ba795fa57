// TimeZone over date/tz (USE_OS_TZDB: the zone database is /usr/share/zoneinfo).
#include "orchestration/time_zone.h"

#include <date/tz.h>

namespace hivehook {

using namespace std::chrono;

std::optional<TimeZone> TimeZone::locate(std::string_view name, std::string* error) {
  TimeZone tz;
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return tz;
  if (name.empty() || name.find("..") != std::string_view::npos || name.front() == '/') {
    if (error) *error = "'" + std::string(name) + "' is not a time zone name (write an IANA name such as Europe/Berlin)";
    return std::nullopt;
  }
  try {
    tz.zone_ = date::locate_zone(name);
    tz.name_ = std::string(name);
    return tz;
  } catch (const std::exception& e) {
    if (error)
      *error = "unknown time zone '" + std::string(name) +
               "' (not in the system's zone database /usr/share/zoneinfo; write an IANA name such as "
               "Europe/Berlin)";
    return std::nullopt;
  }
}

LocalSeconds TimeZone::to_local(SystemTime t) const {
  auto s = floor<seconds>(t);
  if (!zone_) return LocalSeconds{s.time_since_epoch()};
  date::sys_seconds ds{s.time_since_epoch()};
  auto info = zone_->get_info(ds);
  return LocalSeconds{s.time_since_epoch() + info.offset};
}

SystemTime TimeZone::to_system(LocalSeconds t) const {
  if (!zone_) return SystemTime{duration_cast<SystemTime::duration>(t.time_since_epoch())};
  date::local_seconds dl{t.time_since_epoch()};
  date::local_info info = zone_->get_info(dl);
  seconds sys;
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:  // the first of the two: the earlier offset is first's
      sys = t.time_since_epoch() - info.first.offset;
      break;
    case date::local_info::nonexistent:  // the gap: the instant the clocks moved
    default:
      sys = info.second.begin.time_since_epoch();
      break;
  }
  return SystemTime{duration_cast<SystemTime::duration>(sys)};
}

TimeZone::Period TimeZone::period_at(SystemTime t) const {
  if (!zone_) return {};
  auto info = zone_->get_info(date::sys_seconds{floor<seconds>(t).time_since_epoch()});
  Period p;
  p.offset = info.offset;
  if (info.end < date::sys_seconds{duration_cast<seconds>(SystemTime::max().time_since_epoch())})
    p.end = SystemTime{duration_cast<SystemTime::duration>(info.end.time_since_epoch())};
  return p;
}

namespace {

// cron(8)'s wildcard jobs: the first instant after `after` whose reading in the offset then in
// force matches. Within one offset period the reading moves with the instant; a match that falls
// past the period's end is looked for again from the end, in the next period's offset.
std::optional<SystemTime> next_wildcard_firing(const CronExpression& cron, const TimeZone& zone, SystemTime after) {
  SystemTime from = after;
  TimeZone::Period period = zone.period_at(after);
  for (int guard = 0; guard < 1000; ++guard) {
    const LocalSeconds local{floor<seconds>(from).time_since_epoch() + period.offset};
    auto next = cron.next_after(local);
    if (!next) return std::nullopt;
    const SystemTime at{duration_cast<SystemTime::duration>(next->time_since_epoch() - period.offset)};
    if (at < period.end) return at;
    // From the change on, in the new offset: readings from (end - 1 s) + new offset.
    from = period.end - seconds(1);
    period = zone.period_at(period.end);
  }
  return std::nullopt;
}

}  // namespace

std::optional<SystemTime> next_firing(const CronExpression& cron, const TimeZone& zone, SystemTime after) {
  if (cron.wildcard_time() && !zone.is_utc()) return next_wildcard_firing(cron, zone, after);
  LocalSeconds local = zone.to_local(after);
  // A repeated hour can put up to a day's worth of candidates before `after`; each step moves
  // forward in wall-clock time, so this ends.
  for (int guard = 0; guard < 200000; ++guard) {
    auto next = cron.next_after(local);
    if (!next) return std::nullopt;
    SystemTime at = zone.to_system(*next);
    if (at > after) return at;
    local = *next;
  }
  return std::nullopt;
}

std::optional<SystemTime> last_firing_between(const CronExpression& cron, const TimeZone& zone, SystemTime after,
                                              SystemTime until) {
  auto first = next_firing(cron, zone, after);
  if (!first || *first > until) return std::nullopt;
  // Invariant: next_firing(lo) <= until < next_firing(hi) (hi = until: nothing fires in (until, until]).
  using std::chrono::milliseconds;
  SystemTime lo = after, hi = until;
  std::optional<SystemTime> best = first;
  while (hi - lo > milliseconds(1)) {
    const SystemTime mid = lo + (hi - lo) / 2;
    auto at = next_firing(cron, zone, mid);
    if (at && *at <= until) {
      lo = mid;
      best = at;
    } else {
      hi = mid;
    }
  }
  return best;
}

std::size_t count_firings_between(const CronExpression& cron, const TimeZone& zone, SystemTime after, SystemTime until,
                                  std::size_t limit) {
  std::size_t n = 0;
  for (auto at = next_firing(cron, zone, after); at && *at <= until && n < limit; at = next_firing(cron, zone, *at)) ++n;
  return n;
}

}  // namespace hivehook
