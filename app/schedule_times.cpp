#include "app/schedule_times.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "app/cli_support.h"
#include "base/clock.h"
#include "orchestration/time_zone.h"
#include "store/orchestration_state.h"

namespace hivehook::cli {

namespace {
// "2026-12-03T02:00:00+01:00": the instant as read in `zone`, with the offset then in force.
std::string local_reading(const TimeZone& zone, SystemTime t) {
  const auto local = zone.to_local(t);
  const auto offset = std::chrono::duration_cast<std::chrono::minutes>(zone.period_at(t).offset).count();
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day ymd{std::chrono::sys_days{day.time_since_epoch()}};
  const std::chrono::hh_mm_ss hms{local - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld%c%02lld:%02lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(hms.hours().count()), static_cast<long long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()), offset < 0 ? '-' : '+',
                static_cast<long long>(std::abs(offset) / 60), static_cast<long long>(std::abs(offset) % 60));
  return buf;
}
}  // namespace

void print_schedule_times(const nlohmann::json& times, bool with_last) {
  for (const auto& s : times) {
    std::cout << "schedule: " << s["rule"].get<std::string>();
    if (!with_last)
      std::cout << " \"" << s["schedule"].get<std::string>() << "\" (" << s["timezone"].get<std::string>() << ")";
    std::cout << ": ";
    if (with_last) {
      if (s["last_fired_for"].is_null()) std::cout << "never fired yet";
      else
        std::cout << "last fired for " << s["last_fired_for"].get<std::string>()
                  << (s["last_run_state"].is_null() ? "" : " (" + s["last_run_state"].get<std::string>());
      // Failed for good (not open, so not waiting for a retry): the way to run it again.
      const std::string state = s["last_run_state"].is_null() ? "" : s["last_run_state"].get<std::string>();
      if ((state == "failed" || state == "timed_out") && !s.value("open", false))
        std::cout << ": `hivehook retry --schedule " << s["rule"].get<std::string>() << "` runs it again";
      if (!state.empty()) std::cout << ")";
      std::cout << ", ";
      if (s["missed"].get<bool>())
        std::cout << (s["catch_up"].get<bool>() ? "a time missed while no daemon ran fires once at the next start, then "
                                                : "times missed while no daemon ran are skipped at the next start, then ");
    }
    std::cout << "next ";
    if (s["next"].empty()) std::cout << "never";
    // A schedule in a time zone: each time's wall-clock reading there beside the UTC instant, so
    // "0 2 * * *" reads 02:00 (issue 14 retest 3 G4: only UTC was shown).
    const auto zone = TimeZone::locate(s["timezone"].get<std::string>());
    for (size_t i = 0; i < s["next"].size(); ++i) {
      const std::string at = s["next"][i].get<std::string>();
      std::cout << (i ? ", " : "") << at;
      if (zone && !zone->is_utc())
        if (auto t = parse_rfc3339(at)) std::cout << " (" << local_reading(*zone, *t) << ")";
    }
    std::cout << "\n";
  }
}

}  // namespace hivehook::cli
