// Open batches and schedules as `hivehook status --json` reports them and GET /api/v1/status
// serves them (issue 14 F16: the API and the console showed neither). One implementation for both:
// the CLI (app/cmd_status.cpp, app/schedule_times.cpp prints) and the daemon's listener
// (daemon/http_listener.cpp). Every function reads the store only; a state DB older than the
// tables it reads gives an empty list. Times are RFC 3339 UTC with milliseconds.
#pragma once

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

// The unfinished batches of `batch:` rules (DESIGN.md "Orchestration"), oldest first:
// [{rule, group, generation, state: open|complete|running, members (count), members_ended (a
// complete batch whose members' own rules all ended), run_started, marker_seen, reason, attempts,
// next_at (a retry's time, or null), opened_at, last_member_at}].
nlohmann::json open_batches_json(Store& store);

// Batches abandoned in the last 24 hours (their rule removed, no longer `batch:`, or its group
// changed; docs/decisions.md "A batch whose rule changed"): [{rule, group, generation, members,
// reason, abandoned_at}].
nlohmann::json abandoned_batches_json(Store& store);
// Cluster mode: files offered to the leader that no batch holds yet, grouped:
// [{rule, group, files, oldest (RFC 3339 ms of the oldest offer)}] (docs/cluster.md).
nlohmann::json batch_offers_json(Store& store);

// Schedule firings still open (running, queued, or in a retry's backoff): [{rule, scheduled_time,
// attempts, run_started, catch_up, next_at}].
nlohmann::json open_schedules_json(Store& store);

// One object per `schedule:` rule of `rules`, by rule order: {rule, schedule, timezone, catch_up,
// next: [the next `count` firing times from `now`]}; with `store` also {last_fired_for (the
// scheduled time of its last firing, null: never fired), last_run_state (its latest run's state,
// null: none; "failed" or "timed_out" with open false: the firing failed for good, and `hivehook retry
// --schedule RULE` runs it again), open (that firing has not ended: running, queued or in a retry's
// backoff), missed (a time came due while no daemon ran: the next start catches it up, or skips
// it with catch_up: false; never while `daemon_runs`, which fires a time as it comes due)}.
nlohmann::json schedule_times(const RuleSet& rules, Store* store, SystemTime now, int count, bool daemon_runs);

}  // namespace hivehook
