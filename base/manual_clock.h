// A clock and timer source that only moves when told to: the test double of the Clock and Timers
// seams. Time starts at a fixed wall-clock instant; advance() moves both clocks and runs every
// timer that falls due, in due order (ties in arming order), including timers armed meanwhile.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "base/timers.h"

namespace hivehook {

class ManualClock final : public Clock, public Timers {
 public:
  // `start`: the wall-clock reading at steady time zero (default 2024-01-01T00:00:00Z).
  explicit ManualClock(SystemTime start = SystemTime(std::chrono::milliseconds(1704067200000LL)));
  ~ManualClock() override;

  SystemTime now() const override { return start_ + (steady_ - SteadyTime{}); }
  SteadyTime steady_now() const override { return steady_; }
  TimerHandle after(Duration delay, std::function<void()> fn) override;

  // Moves time forward by `d`, running due timers as their times are reached.
  void advance(Duration d);
  // Moves time to the next armed timer and runs it (and any due with it). False: none armed.
  bool advance_to_next();
  std::size_t armed() const { return timers_.size(); }
  // The delay until the next armed timer (nullopt: none).
  std::optional<Duration> next_in() const;

 private:
  struct Key {
    SteadyTime at;
    uint64_t seq;
    bool operator<(const Key& o) const { return at != o.at ? at < o.at : seq < o.seq; }
  };
  void run_due();

  SystemTime start_;
  SteadyTime steady_{};
  uint64_t seq_ = 0;
  std::map<Key, std::function<void()>> timers_;
  std::shared_ptr<ManualClock*> self_ = std::make_shared<ManualClock*>(this);  // for handles outliving us
};

}  // namespace hivehook
