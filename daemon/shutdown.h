// Stopping: no new discovery or runs; jobs in flight may finish within shutdown_grace; then what
// is left is killed (recorded as interrupted, run again after a restart) and the daemon finishes.
#pragma once

#include <functional>

#include "base/timers.h"
#include "pipeline/pipeline.h"

namespace hivehook {

class Shutdown {
 public:
  // `stop_inputs`: stop watching and scanning. `finish`: the last writes, then leave the loop.
  // `grace` is read when stopping begins (a reload may change it): it must outlive this object.
  // `running`: every job in flight — object runs and the batch and schedule runs beside them (their
  // jobs run on the same runners, so Pipeline::kill_running stops them too).
  Shutdown(const Clock& clock, Timers& timers, Pipeline& pipeline, const Duration& grace,
           std::function<std::size_t()> running, std::function<void()> stop_inputs, std::function<void()> finish);
  // Starts stopping (once; later calls do nothing). `why`: "SIGTERM", "SIGINT", "scan done".
  void begin(const char* why);
  bool stopping() const { return stopping_; }

 private:
  bool tick();

  const Clock& clock_;
  Timers& timers_;
  Pipeline& pipeline_;
  const Duration& grace_;
  std::function<std::size_t()> running_;
  std::function<void()> stop_inputs_, finish_;
  bool stopping_ = false;
  bool killed_ = false;
  SteadyTime deadline_{};
  Ticker ticker_;
};

}  // namespace hivehook
