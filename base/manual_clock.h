// A clock and timer source that only moves when told to: the test double of the Clock and Timers
// seams. Time starts at a fixed wall-clock instant; advance() moves both clocks and runs every
// timer that falls due, in due order (ties in arming order), including timers armed meanwhile.
// Optionally (set_tick_per_reading) each wall-clock reading moves time on a little, as a real
// clock has always moved on by the next reading: code that reads the clock twice and expects the
// same instant is caught.
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

  // The wall clock; with a tick per reading, time moves on by the tick after each call (timers
  // that fall due meanwhile run at the next advance()).
  SystemTime now() const override {
    SystemTime t = start_ + std::chrono::duration_cast<SystemTime::duration>(steady_ - SteadyTime{});
    steady_ += tick_per_reading_;
    return t;
  }
  SteadyTime steady_now() const override { return steady_; }
  TimerHandle after(Duration delay, std::function<void()> fn) override;

  // Moves time forward by `d`, running due timers as their times are reached.
  void advance(Duration d);
  // Moves time to the next armed timer and runs it (and any due with it). False: none armed.
  bool advance_to_next();
  std::size_t armed() const { return timers_.size(); }
  // The delay until the next armed timer (nullopt: none).
  std::optional<Duration> next_in() const;
  // How far (>= 0, nanoseconds) each now() reading moves time on; zero (the default): never.
  void set_tick_per_reading(std::chrono::nanoseconds tick) { tick_per_reading_ = tick; }

 private:
  struct Key {
    SteadyTime at;
    uint64_t seq;
    bool operator<(const Key& o) const { return at != o.at ? at < o.at : seq < o.seq; }
  };
  void run_due();

  SystemTime start_;
  mutable SteadyTime steady_{};
  std::chrono::nanoseconds tick_per_reading_{0};
  uint64_t seq_ = 0;
  std::map<Key, std::function<void()>> timers_;
  std::shared_ptr<ManualClock*> self_ = std::make_shared<ManualClock*>(this);  // for handles outliving us
};

}  // namespace hivehook
