#include "daemon/health.h"

#include <unistd.h>

namespace hivehook {

namespace {
constexpr int64_t kStallMs = 5000;
constexpr auto kLagProbe = std::chrono::milliseconds(20);
}

Health::Health(const Clock& clock, Timers& timers, PipelineStats& stats, std::filesystem::path state_db)
    : clock_(clock), timers_(timers), stats_(stats), state_db_(std::move(state_db)) {
  heartbeat_ms_ = clock_.now_ms();
}

Health::~Health() { stop(); }

void Health::start_heartbeat() {
  heartbeat_ms_ = clock_.now_ms();
  heartbeat_.start(timers_, std::chrono::seconds(1), [this] {
    heartbeat_ms_ = clock_.now_ms();
    if (on_heartbeat) on_heartbeat();
    return true;
  });
  lag_last_ = clock_.steady_now();
  lag_probe_.start(timers_, kLagProbe, [this] {
    const auto now = clock_.steady_now();
    const auto stall = std::chrono::duration_cast<Duration>(now - lag_last_ - kLagProbe);
    lag_last_ = now;
    if (stall > max_stall_) {
      max_stall_ = stall;
      stats_.m.loop_max_stall.set(static_cast<double>(stall.count()) / 1000.0);
    }
    return true;
  });
}

void Health::stop() {
  heartbeat_.stop();
  lag_probe_.stop();
}

void Health::set_storage_fault(std::optional<std::string> why) {
  std::lock_guard<std::mutex> lock(fault_mutex_);
  storage_fault_ = std::move(why);
}

std::pair<bool, std::string> Health::check() const {
  int64_t age = clock_.now_ms() - heartbeat_ms_.load();
  if (age > kStallMs) return {false, "event loop stalled for " + std::to_string(age) + " ms"};
  {
    std::lock_guard<std::mutex> lock(fault_mutex_);
    if (storage_fault_) return {false, *storage_fault_};
  }
  if (::access(state_db_.c_str(), W_OK) != 0) return {false, "state DB " + state_db_.string() + " not writable"};
  for (const auto& c : checks_)
    if (auto why = c()) return {false, *why};
  for (const auto& c : degradations_)
    if (auto why = c()) return {true, "degraded: " + *why};
  return {true, ""};
}

}  // namespace hivehook
