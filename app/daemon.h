// `hivehook run` (the daemon) and `hivehook scan` (one shot): config, ownership, then the Daemon.
#pragma once

#include <string>

#include "daemon/daemon.h"
#include "store/replay_query.h"

namespace hivehook {

// Returns the process exit code: 0 ok, 1 some object failed or was skipped (scan) or failed
// (replay), 2 usage, config or ownership error at start-up (or a replay refused), 70 a fatal fault
// at run time (the message names the file concerned). Invalid rules on disk: `run` starts with the
// last good rules kept in the store (degraded, and saying so) unless `options.strict`; `scan`,
// `replay` and `run --strict` refuse (2), as does `run` when no rules were ever kept.
// DaemonMode::replay carries out `options.replay` and prints its plan (as JSON with `json`).
int run_daemon(const std::string& config_arg, const DaemonOptions& options, bool json = false);

}  // namespace hivehook
