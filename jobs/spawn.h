// Starting one child process with vfork + execve (see docs/job-contract.md "Decision: how jobs are
// spawned"): new process group, dies with the daemon (PR_SET_PDEATHSIG), stdio on pipes, no other
// inherited fd, signals reset, a clean environment, no shell.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "jobs/process_runner.h"

namespace hivehook {

struct SpawnedChild {
  int pid = 0;              // also the process group id
  UniqueFd stdin_write;     // parent ends: non-blocking, close-on-exec
  UniqueFd stdout_read;
  UniqueFd stderr_read;
};

// Starts spec.argv with the environment spec describes (a clean base, see ProcessSpec), in spec.cwd.
// On failure returns nullopt and sets *error to one sentence ("command not found: foo").
std::optional<SpawnedChild> spawn_child(const ProcessSpec& spec, std::string* error);

}  // namespace hivehook
