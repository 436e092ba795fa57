// What /healthz answers: the loop heartbeat and the health conditions. check() is called on the HTTP
// listener's threads (daemon/http_listener.h), so each condition reads only atomics or the filesystem.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/timers.h"
#include "pipeline/stats.h"

namespace hivehook {

class Health {
 public:
  // A condition: nullopt while healthy, else why not (the /healthz 503 body).
  using Check = std::function<std::optional<std::string>()>;

  Health(const Clock& clock, Timers& timers, PipelineStats& stats, std::filesystem::path state_db);
  ~Health();
  // Beats every second on the loop; /healthz fails when the loop has not beaten for 5 s. Also
  // measures how late a 20 ms timer fires: the longest stall of the loop since start
  // (hivehook_event_loop_max_stall_seconds, max_stall()).
  void start_heartbeat();
  Duration max_stall() const { return max_stall_; }
  void add_check(Check check) { checks_.push_back(std::move(check)); }
  // A degradation: working, but not as configured (e.g. the rules on disk rejected, the last good
  // ones in force). /healthz still answers 200, with "degraded: why" as its body.
  void add_degradation(Check check) { degradations_.push_back(std::move(check)); }
  // The state DB refuses writes (the message names it and the error), or accepts them again.
  void set_storage_fault(std::optional<std::string> why);
  void stop();
  // (ok, why): what /healthz answers. ok with a non-empty why: degraded.
  std::pair<bool, std::string> check() const;

  std::function<void()> on_heartbeat;  // each beat, on the loop (e.g. sd_notify WATCHDOG=1)

 private:
  const Clock& clock_;
  Timers& timers_;
  PipelineStats& stats_;
  std::filesystem::path state_db_;
  std::atomic<int64_t> heartbeat_ms_{0};
  std::vector<Check> checks_, degradations_;
  mutable std::mutex fault_mutex_;
  std::optional<std::string> storage_fault_;
  Ticker heartbeat_, lag_probe_;
  SteadyTime lag_last_{};
  Duration max_stall_{0};
};

}  // namespace hivehook
