// When each `schedule:` rule fires next and when it last fired (issue 14, F6 of the new-user test:
// an idle schedule appeared nowhere, so a cron expression and zone could only be checked by waiting
// for them). Shown by `status` (last firing from the store, next from the rules on disk) and by
// `check` (the next firings of each schedule from now).
#pragma once

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook::cli {

// One object per schedule rule of `rules`, by rule order: {rule, schedule, timezone, next: [the
// next `count` firing times, RFC 3339 ms, from `now`]}; with `store` also {last_fired_for (the
// scheduled time of its last firing, null: never fired), last_run_state (its latest run's state,
// null: none), missed (a time came due while no daemon ran: the next start catches it up, or skips
// it with catch_up: false), catch_up}.
nlohmann::json schedule_times(const RuleSet& rules, Store* store, SystemTime now, int count);

// `check`: "schedule: NAME "CRON" (ZONE): next T1, T2, T3". `status`: "schedule: NAME: last fired
// for T (succeeded), next T2".
void print_schedule_times(const nlohmann::json& times, bool with_last);

}  // namespace hivehook::cli
