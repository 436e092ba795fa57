// Daemon logging: spdlog to stderr as text, or one JSON object a line (`log.format: json`).
#pragma once

#include "rules/config.h"

namespace hivehook {

void setup_logging(const LogConfig& log);

}  // namespace hivehook
