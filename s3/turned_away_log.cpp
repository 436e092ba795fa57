#include "s3/turned_away_log.h"

#include <spdlog/spdlog.h>

namespace hivehook::s3 {

TurnedAwayLog::TurnedAwayLog(std::function<std::chrono::steady_clock::time_point()> now,
                             std::function<void(const std::string&)> warn)
    : now_(now ? std::move(now) : [] { return std::chrono::steady_clock::now(); }),
      warn_(warn ? std::move(warn) : [](const std::string& line) { spdlog::warn("{}", line); }) {}

void TurnedAwayLog::note(const char* reason, const std::string& client, const std::string& message) {
  std::string line;
  {
    std::lock_guard lock(mu_);
    Reason& r = reasons_[reason];
    const auto t = now_();
    if (r.logged && t - r.last < kEvery) {
      ++r.since;
      return;
    }
    const bool slow = std::string_view(reason) == "request_timeout";
    line = "s3: " + std::string(slow ? "400 RequestTimeout to " : "503 SlowDown to ") + client + ": " + message;
    if (r.since > 0)
      line += " (and " + std::to_string(r.since) + " more turned away for this reason in the last " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t - r.last).count()) + " s)";
    line += "; see docs/runbook.md, \"S3 clients get 503 SlowDown or 400 RequestTimeout\"";
    r.last = t;
    r.logged = true;
    r.since = 0;
  }
  warn_(line);
}

}  // namespace hivehook::s3
