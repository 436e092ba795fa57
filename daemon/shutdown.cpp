#include "daemon/shutdown.h"

#include <spdlog/spdlog.h>

namespace hivehook {

namespace {
constexpr auto kPollEvery = std::chrono::milliseconds(20);
constexpr auto kKillGrace = std::chrono::seconds(2);  // SIGTERM, then SIGKILL after this
}  // namespace

Shutdown::Shutdown(const Clock& clock, Timers& timers, Pipeline& pipeline, const Duration& grace,
                   std::function<std::size_t()> running, std::function<void()> stop_inputs,
                   std::function<void()> finish)
    : clock_(clock),
      timers_(timers),
      pipeline_(pipeline),
      grace_(grace),
      running_(std::move(running)),
      stop_inputs_(std::move(stop_inputs)),
      finish_(std::move(finish)) {}

void Shutdown::begin(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping ({}): {} job(s) running", why, running_());
  stop_inputs_();
  pipeline_.stop_starting();
  deadline_ = clock_.steady_now() + grace_;
  // First look after a poll interval: the batch of this loop turn may still start a run.
  ticker_.start(timers_, kPollEvery, [this] { return tick(); });
}

// Returns false once finished.
bool Shutdown::tick() {
  if (running_() == 0) {
    finish_();
    return false;
  }
  if (!killed_ && clock_.steady_now() >= deadline_) {
    spdlog::warn("shutdown_grace over: stopping {} job(s)", running_());
    pipeline_.kill_running(kKillGrace);
    killed_ = true;
  }
  return true;
}

}  // namespace hivehook
