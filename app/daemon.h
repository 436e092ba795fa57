// `hivehook run` (the daemon) and `hivehook scan` (one shot), wired top to bottom.
#pragma once

#include <string>

namespace hivehook {

enum class DaemonMode { watch, one_shot };

// Returns the process exit code (0 ok, 1 some object failed (scan), 2 usage/config/ownership error).
int run_daemon(const std::string& config_arg, DaemonMode mode);

}  // namespace hivehook
