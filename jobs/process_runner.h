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

namespace hivehook {

struct ProcessSpec {
  std::vector<std::string> argv;              // argv[0] resolved through PATH when it has no '/'
  std::map<std::string, std::string> env;     // added to (and overriding) the daemon's environment
  std::filesystem::path cwd;                  // empty: inherit
  std::string stdin_data;                     // written to the child's stdin, then stdin is closed
  Duration timeout{0};                        // 0: none
  Duration kill_grace = std::chrono::seconds(5);  // SIGTERM to the group, then SIGKILL after this
  std::size_t tail_bytes = 64 * 1024;         // keep the last N bytes of stdout and of stderr
};

struct ProcessResult {
  bool spawned = false;      // false: could not start (error says why: not found, not executable...)
  int exit_code = -1;        // valid when exited normally
  int term_signal = 0;       // non-zero when killed by a signal
  bool timed_out = false;
  std::string error;         // spawn error or a summary ("killed by SIGKILL after timeout 10s")
  std::string stdout_tail;
  std::string stderr_tail;
  std::uint64_t stdout_bytes = 0;  // total seen
  std::uint64_t stderr_bytes = 0;
  Duration duration{0};
  int pid = 0;
};

class ProcessRunner {
 public:
  explicit ProcessRunner(boost::asio::io_context& io);
  ~ProcessRunner();
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  // Starts a child; `on_exit` runs on the io_context exactly once, after the child is reaped and
  // both output pipes are drained (or immediately-posted when it could not be spawned).
  // Returns the pid (0 when not spawned).
  int start(ProcessSpec spec, std::function<void(ProcessResult)> on_exit);

  std::size_t running() const;
  // SIGTERM to every running group now, SIGKILL after `grace` (used at shutdown).
  void terminate_all(Duration grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hivehook
