// Time: the injectable clock seam and the one RFC 3339 format every event uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hivehook {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::milliseconds;

// "2023-03-15T13:45:12.345Z" (UTC, milliseconds).
std::string format_rfc3339_ms(SystemTime t);
// Accepts "2023-03-15T13:45:12Z", "...12.345Z", "...12+02:00", and a bare date "2023-03-15".
std::optional<SystemTime> parse_rfc3339(std::string_view text);
// Milliseconds since the Unix epoch.
long long unix_ms(SystemTime t);

// The clock seam: every wall-clock or monotonic reading in the daemon goes through one of these.
// Production uses SystemClock; tests substitute ManualClock (base/manual_clock.h).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;         // wall clock: event times, stored timestamps
  virtual SteadyTime steady_now() const = 0;  // monotonic: durations, deadlines
  // now() as milliseconds since the Unix epoch (the unit every store column uses).
  int64_t now_ms() const { return unix_ms(now()); }
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  static const SystemClock& instance();
};

}  // namespace hivehook
