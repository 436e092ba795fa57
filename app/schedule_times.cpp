#include "app/schedule_times.h"

#include <iostream>

#include "app/cli_support.h"
#include "orchestration/time_zone.h"
#include "store/orchestration_state.h"

namespace hivehook::cli {

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
    for (size_t i = 0; i < s["next"].size(); ++i) std::cout << (i ? ", " : "") << s["next"][i].get<std::string>();
    std::cout << "\n";
  }
}

}  // namespace hivehook::cli
