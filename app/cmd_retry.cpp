// `hivehook retry KEY... | --all-failed | --schedule RULE... [--dry-run] [--json]`: quarantined
// objects run again, through only the rules that failed on them (a replay of those rules; see
// app/replay_client.h); or a schedule rule's latest firing, failed for good, runs again for its
// scheduled time (pipeline/schedule_retry.h).
#include <iostream>

#include "app/cli_support.h"
#include "base/path_access.h"
#include "app/replay_client.h"

namespace hivehook::cli {

namespace {
struct RetryOptions {
  std::vector<std::string> keys;
  std::vector<std::string> schedules;
  bool all_failed = false, dry_run = false, json = false;
};

int run_retry(Globals& g, const RetryOptions& o) {
  const int given = (o.keys.empty() ? 0 : 1) + (o.all_failed ? 1 : 0) + (o.schedules.empty() ? 0 : 1);
  if (given != 1) {
    error(g) << "give KEY..., --all-failed or --schedule RULE" << (given > 1 ? ", not more than one" : "")
             << "\nRun 'hivehook retry --help' for usage.\n";
    return kExitUsage;
  }
  ReplayRequest req;
  req.retry = true;
  req.keys = o.keys;
  req.schedules = o.schedules;
  req.filter.failed_only = o.schedules.empty();
  // Who asked, when this process runs the retry itself (no daemon); a daemon asked over its API
  // names the API client instead (api/listener.cpp).
  req.asked_by = "cli: " + process_user();
  req.dry_run = o.dry_run;
  return submit_replay(g, req, o.json);
}
}  // namespace

void add_retry(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "retry",
       .summary = "Run quarantined objects again through only the rules that failed on them (and the after: steps skipped behind them), "
                  "or a schedule rule's failed firing",
       .details = "Each quarantined object (the latest arrival at its key) goes back into landing at its key and "
                  "runs, as a new object that records the one it replays (object.replayed), through the rules "
                  "whose run failed on it; the rules that succeeded do not run again. When the daemon runs, it is "
                  "asked over its API (its local token when this user may read it, else http.token); otherwise this command owns the state DB until the runs end. "
                  "--schedule RULE runs the schedule rule's latest firing again when it failed for good (its retries "
                  "spent): the same scheduled time (the Scheduled Event's time, HIVEHOOK_SCHEDULED_TIME), new run ids, "
                  "attempts from 1 with the rule's full retries, audited as schedule.retried; refused when RULE is not a "
                  "schedule rule in force, its latest firing did not fail, or a firing of it is open. "
                  "--dry-run prints the plan.",
       .exit_status = "0 done (or planned), also when nothing is in quarantine or every match was skipped "
                      "(the last line says so); 1 a retried object (or, with no daemon running, a retried firing) failed "
                      "again; 2 usage error, invalid config, a key that is not quarantined, a schedule retry refused, or "
                      "the daemon refused.",
       .examples = "  hivehook retry transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv\n"
                   "  hivehook retry --all-failed --dry-run\n"
                   "  hivehook retry --schedule nightly-refresh"});
  auto o = std::make_shared<RetryOptions>();
  cmd->add_option("KEY", o->keys, "keys of quarantined objects");
  cmd->add_flag("--all-failed", o->all_failed, "every object whose latest arrival is quarantined");
  cmd->add_option("--schedule", o->schedules, "a schedule rule whose latest firing failed for good: run that firing again (repeatable)")
      ->type_name("RULE")
      ->allow_extra_args(false);
  cmd->add_flag("--dry-run", o->dry_run, "print the plan, change nothing");
  cmd->add_flag("--json", o->json, "the plan as JSON");
  cmd->callback([&g, o] { g.exit_code = run_retry(g, *o); });
}

}  // namespace hivehook::cli
