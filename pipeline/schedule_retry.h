// `hivehook retry --schedule RULE` (POST /api/v1/retry {"schedules": [...]}): a `schedule:` rule's
// latest firing, failed for good (its `retries` spent), run again — Airflow's "clear" of a failed
// task. Planned here from the store and the rules in force, so the CLI's `--dry-run` (no daemon)
// and the daemon (pipeline/schedules.h Schedules::retry) refuse and plan alike. The retried firing
// keeps its scheduled time (the Scheduled Event's `time`, HIVEHOOK_SCHEDULED_TIME) and runs as a
// new firing of that time: new run ids, attempts from 1, the rule's full `retries`
// (docs/decisions.md "Retrying a schedule's failed firing").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rules/rule.h"
#include "store/replay_query.h"
#include "store/store.h"

namespace hivehook {

// One firing to run again.
struct ScheduleRetryItem {
  std::string rule;
  int64_t scheduled_for = 0;  // unix ms: the failed firing's scheduled time, kept
  bool catch_up = false;      // it was a catch-up firing (the event's hivehook.catch_up says so again)
  std::string failed_run_id;  // the run that failed for good
  int failed_attempt = 0;     // its attempt number
  std::string failed_state;   // failed | timed_out
  std::string failed_error;   // its error, "" when none was recorded
};

struct ScheduleRetryPlan {
  bool dry_run = false;
  std::vector<ScheduleRetryItem> items;
};

// Why a schedule retry is refused: the HTTP status the API answers (400: not a schedule rule in
// force, or not a retry of schedules; 409: its latest firing did not fail, or a firing is open) and
// a sentence naming the rule.
struct ScheduleRetryRefusal {
  int status = 400;
  std::string why;
};

// The plan for request.schedules (every rule must qualify, or nothing runs): each is a
// `schedule:` rule in force whose latest firing ended failed or timed out and is not open (no run
// running, queued or waiting out a retry's backoff). Reads the store only.
std::optional<ScheduleRetryPlan> plan_schedule_retry(Store& store, const RuleSet& rules, const ReplayRequest& request,
                                                     ScheduleRetryRefusal* refusal);

// {"retry": true, "dry_run", "schedules": [{rule, scheduled_time, catch_up, failed_run_id,
//  failed_attempt, failed_state, failed_error}], "retried": n} ("retried": how many firings run
//  again, or with dry_run would).
nlohmann::json schedule_retry_json(const ScheduleRetryPlan& plan);

}  // namespace hivehook
