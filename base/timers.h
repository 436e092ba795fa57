// One-shot timers on the event loop, behind a seam: production arms Boost.Asio steady timers,
// tests use ManualClock (base/manual_clock.h) and move time by hand, so retry and settle logic is
// tested without sleeping.
#pragma once

#include <functional>
#include <utility>

#include "base/clock.h"

namespace boost::asio {
class io_context;
}

namespace hivehook {

// Owns one armed timer: destroying or reset()ting it cancels the callback (a callback that already
// ran is not affected). Move-only.
class TimerHandle {
 public:
  TimerHandle() = default;
  explicit TimerHandle(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  TimerHandle(TimerHandle&& o) noexcept : cancel_(std::exchange(o.cancel_, nullptr)) {}
  TimerHandle& operator=(TimerHandle&& o) noexcept {
    if (this != &o) {
      reset();
      cancel_ = std::exchange(o.cancel_, nullptr);
    }
    return *this;
  }
  TimerHandle(const TimerHandle&) = delete;
  TimerHandle& operator=(const TimerHandle&) = delete;
  ~TimerHandle() { reset(); }
  void reset() {
    if (cancel_) std::exchange(cancel_, nullptr)();
  }

 private:
  std::function<void()> cancel_;
};

class Timers {
 public:
  virtual ~Timers() = default;
  // Calls `fn` on the loop thread once `delay` (>= 0) has passed on the steady clock, unless the
  // returned handle is reset or destroyed first.
  [[nodiscard]] virtual TimerHandle after(Duration delay, std::function<void()> fn) = 0;
};

// Calls `fn` every `period` until `fn` returns false or the ticker is stopped or destroyed.
// Not movable once started (its timer refers to it).
class Ticker {
 public:
  Ticker() = default;
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  void start(Timers& timers, Duration period, std::function<bool()> fn);
  void stop() { handle_.reset(); }

 private:
  void arm();
  Timers* timers_ = nullptr;
  Duration period_{0};
  std::function<bool()> fn_;
  TimerHandle handle_;
};

// Timers on a Boost.Asio io_context (the daemon's loop).
class AsioTimers final : public Timers {
 public:
  explicit AsioTimers(boost::asio::io_context& io) : io_(io) {}
  TimerHandle after(Duration delay, std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace hivehook
