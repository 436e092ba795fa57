// The seam between the pipeline and whatever executes a job: the pipeline hands over one request
// and gets exactly one ProcessResult back on the loop. jobs/process_runner runs child processes;
// a second runner (lambda/: warm execution environments) slots in beside it, and tests substitute
// a scripted one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "rules/rule.h"

namespace hivehook {

struct ProcessSpec {
  std::vector<std::string> argv;              // argv[0] resolved through PATH when it has no '/'
  // The child's environment (DESIGN.md "Jobs' environment"): a clean base — PATH, HOME, LANG, LC_*,
  // TZ and TMPDIR of the daemon's environment — plus the daemon's variables named in `inherit` (or
  // all of them with `inherit_all`), never those in `never_inherit` (notification secrets), and
  // `env` over all of that.
  std::map<std::string, std::string> env;
  std::vector<std::string> inherit;
  bool inherit_all = false;
  std::set<std::string> never_inherit;
  std::filesystem::path cwd;                  // empty: inherit
  std::string stdin_data;                     // written to the child's stdin, then stdin is closed
  Duration timeout{0};                        // 0: none
  Duration kill_grace = std::chrono::seconds(5);  // SIGTERM to the group, then SIGKILL after this
  std::size_t tail_bytes = 64 * 1024;         // keep the last N bytes of stdout and of stderr
};

// Which process a run is: enough to find (and kill) its process group after a daemon crash, even
// once the pid has been reused (start_time: /proc/<pid>/stat field 22, clock ticks since boot).
struct ChildIdentity {
  int pid = 0;   // 0: nothing was spawned
  int pgid = 0;  // == pid: every job leads its own process group
  uint64_t start_time = 0;
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

struct JobRequest {
  ProcessSpec process;  // argv/env/cwd/stdin/timeout as a child process gets them (the S3 event on stdin)
  JobSpec job;          // the rule's job as written: command | lambda | builtin
  std::string rule;
  std::string run_id;
  int attempt = 1;
};

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  // Starts the job. `on_exit` runs on the loop thread exactly once, never inside this call (also
  // when the job could not start: then ProcessResult::spawned is false and error says why).
  // Returns the started process's identity (pid 0 when nothing was spawned).
  virtual ChildIdentity start(JobRequest request, std::function<void(ProcessResult)> on_exit) = 0;
  // Jobs started and not yet reported through on_exit.
  virtual std::size_t running() const = 0;
  // Shutdown: SIGTERM (or the runner's equivalent) to every job now, SIGKILL after `grace`.
  virtual void terminate_all(Duration grace) = 0;
};

}  // namespace hivehook
