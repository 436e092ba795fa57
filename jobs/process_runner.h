// Child processes on the event loop: spawn in a new process group, feed stdin, keep the last bytes
// of stdout/stderr without ever blocking the child, reap asynchronously, kill the group on timeout.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "jobs/job_runner.h"

namespace hivehook {

class ProcessRunner final : public JobRunner {
 public:
  explicit ProcessRunner(boost::asio::io_context& io, const Clock& clock = SystemClock::instance());
  ~ProcessRunner() override;
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  // Starts a child; `on_exit` runs on the io_context exactly once, after the child is reaped and
  // both output pipes are drained (or immediately-posted when it could not be spawned).
  ChildIdentity start(ProcessSpec spec, std::function<void(ProcessResult)> on_exit);
  // JobRunner: runs request.process.
  ChildIdentity start(JobRequest request, std::function<void(ProcessResult)> on_exit) override;

  std::size_t running() const override;
  // SIGTERM to every running group now, SIGKILL after `grace` (used at shutdown).
  void terminate_all(Duration grace) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hivehook
