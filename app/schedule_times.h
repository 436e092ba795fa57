// When each `schedule:` rule fires next and when it last fired (issue 14, F6 of the new-user test:
// an idle schedule appeared nowhere, so a cron expression and zone could only be checked by waiting
// for them). Shown by `status` (last firing from the store, next from the rules on disk) and by
// `check` (the next firings of each schedule from now).
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/status_report.h"

namespace hivehook::cli {

// schedule_times (daemon/status_report.h): the JSON both `check` and `status` print.
using hivehook::schedule_times;

// `check`: "schedule: NAME "CRON" (ZONE): next T1, T2, T3". `status`: "schedule: NAME: last fired
// for T (succeeded), next T2"; a firing failed for good reads "(failed: `hivehook retry --schedule
// NAME` runs it again)".
void print_schedule_times(const nlohmann::json& times, bool with_last);

}  // namespace hivehook::cli
