#include "base/manual_clock.h"

namespace hivehook {

ManualClock::ManualClock(SystemTime start) : start_(start) {}

ManualClock::~ManualClock() { *self_ = nullptr; }

TimerHandle ManualClock::after(Duration delay, std::function<void()> fn) {
  Key k{steady_ + std::max(delay, Duration(0)), seq_++};
  timers_.emplace(k, std::move(fn));
  return TimerHandle([self = self_, k] {
    if (*self) (*self)->timers_.erase(k);
  });
}

void ManualClock::run_due() {
  while (!timers_.empty() && timers_.begin()->first.at <= steady_) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
}

void ManualClock::advance(Duration d) {
  const SteadyTime target = steady_ + d;
  while (!timers_.empty() && timers_.begin()->first.at <= target) {
    steady_ = std::max(steady_, timers_.begin()->first.at);
    run_due();
  }
  steady_ = std::max(steady_, target);  // readings during the timers may have moved it further
}

bool ManualClock::advance_to_next() {
  if (timers_.empty()) return false;
  steady_ = std::max(steady_, timers_.begin()->first.at);
  run_due();
  return true;
}

std::optional<Duration> ManualClock::next_in() const {
  if (timers_.empty()) return std::nullopt;
  return std::chrono::duration_cast<Duration>(timers_.begin()->first.at - steady_);
}

}  // namespace hivehook
