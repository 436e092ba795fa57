// `hivehook run` (the daemon) and `hivehook scan` (one shot): config, ownership, then the Daemon.
#pragma once

#include <string>

#include "daemon/daemon.h"

namespace hivehook {

// Returns the process exit code: 0 ok, 1 some object failed (scan), 2 usage/config/ownership
// error at start-up, 70 a fatal fault at run time (the message names the file concerned).
int run_daemon(const std::string& config_arg, DaemonMode mode);

}  // namespace hivehook
