#include "app/schedule_times.h"

#include <iostream>

#include "app/cli_support.h"
#include "orchestration/time_zone.h"
#include "store/orchestration_state.h"

namespace hivehook::cli {

namespace {
SystemTime from_ms(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }
}  // namespace

nlohmann::json schedule_times(const RuleSet& rules, Store* store, SystemTime now, int count) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rules.rules) {
    if (!r.schedule) continue;
    nlohmann::json one = {{"rule", r.name}, {"schedule", r.schedule->cron.text()}, {"timezone", r.timezone.name()},
                          {"catch_up", r.schedule->catch_up}};
    nlohmann::json next = nlohmann::json::array();
    SystemTime after = now;
    if (store) {
      one["last_fired_for"] = nullptr;
      one["last_run_state"] = nullptr;
      one["missed"] = false;
      try {
        OrchestrationState state(*store);
        if (auto row = state.schedule(r.name)) {
          if (row->open_for > 0) one["last_fired_for"] = format_rfc3339_ms(from_ms(row->open_for));
          // A time after the last one covered that has come: no daemon was there to fire it.
          if (auto due = next_firing(r.schedule->cron, r.timezone, from_ms(row->last_fired_for)); due && *due <= now)
            one["missed"] = true;
        }
        auto st = store->db().prepare("SELECT state FROM runs WHERE rule = ? AND object_id = 0 AND key = '' "
                                      "ORDER BY id DESC LIMIT 1");
        st.bind(1, r.name);
        if (st.step()) one["last_run_state"] = st.text(0);
      } catch (const sql::StoreError&) {
        // a state DB not yet migrated by a newer daemon has no schedules
      }
    }
    for (int i = 0; i < count; ++i) {
      auto t = next_firing(r.schedule->cron, r.timezone, after);
      if (!t) break;
      next.push_back(format_rfc3339_ms(*t));
      after = *t;
    }
    one["next"] = std::move(next);
    out.push_back(std::move(one));
  }
  return out;
}

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
                  << (s["last_run_state"].is_null() ? "" : " (" + s["last_run_state"].get<std::string>() + ")");
      std::cout << ", ";
      if (s["missed"].get<bool>())
        std::cout << (s["catch_up"].get<bool>() ? "a time missed while no daemon ran fires once at the next start, then "
                                                : "times missed while no daemon ran are skipped at the next start, then ");
    }
    std::cout << "next ";
    if (s["next"].empty()) std::cout << "never";
    for (size_t i = 0; i < s["next"].size(); ++i) std::cout << (i ? ", " : "") << s["next"][i].get<std::string>();
    std::cout << "\n";
  }
}

}  // namespace hivehook::cli
