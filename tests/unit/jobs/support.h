// Shared helpers for the jobs tests: temp dirs, a RunContext, and pumping the loop to a condition.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include "jobs/job_context.h"
#include "jobs/process_runner.h"
#include "unit/support/temp_dir.h"

namespace hivehook::test {

// Runs the loop until `done()` or the deadline; returns done().
inline bool pump_until(boost::asio::io_context& io, const std::function<bool()>& done,
                       std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return done();
}

// Starts one process and pumps the loop until its on_exit ran.
inline ProcessResult run_process(boost::asio::io_context& io, ProcessRunner& runner, ProcessSpec spec) {
  std::optional<ProcessResult> result;
  runner.start(std::move(spec), [&](ProcessResult r) { result = std::move(r); });
  EXPECT_TRUE(pump_until(io, [&] { return result.has_value(); })) << "process did not finish in time";
  return result.value_or(ProcessResult{});
}

// A process is gone when it no longer exists or is a zombie nobody has reaped yet.
inline bool process_gone(int pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  auto close = content.rfind(')');
  return close == std::string::npos || (close + 2 < content.size() && content[close + 2] == 'Z');
}

inline bool wait_gone(int pid, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!process_gone(pid) && std::chrono::steady_clock::now() < until) ::usleep(10000);
  return process_gone(pid);
}

inline RunContext sample_context(const std::string& key = "transactions/year=2023/month=03/x.csv") {
  RunContext ctx;
  ctx.key.key = key;
  auto slash = key.find('/');
  ctx.key.table = slash == std::string::npos ? "" : key.substr(0, slash);
  ctx.key.name = key.substr(key.rfind('/') == std::string::npos ? 0 : key.rfind('/') + 1);
  // Partition segments parsed the simple way (the real parser lives in landing/).
  std::string rest = key;
  std::size_t pos = 0;
  while ((pos = rest.find('/')) != std::string::npos) {
    std::string seg = rest.substr(0, pos);
    rest = rest.substr(pos + 1);
    if (auto eq = seg.find('='); eq != std::string::npos && eq > 0)
      ctx.key.partition.emplace_back(seg.substr(0, eq), seg.substr(eq + 1));
  }
  ctx.path = "/srv/landing/" + key;
  ctx.bucket = "landing";
  ctx.size = 1234;
  ctx.etag = "d41d8cd98f00b204e9800998ecf8427e";
  ctx.sequencer = "0055AED6DCD90281E5";
  ctx.event_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1678887912345));
  ctx.rule = "transactions-etl";
  ctx.run_id = "run-0001";
  ctx.attempt = 2;
  ctx.result_file = "/tmp/result.json";
  return ctx;
}

}  // namespace hivehook::test
