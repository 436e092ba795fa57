// `hivehook retry KEY... | --all-failed [--dry-run] [--json]`: quarantined objects run again, through
// only the rules that failed on them (a replay of those rules; see app/replay_client.h).
#include <iostream>

#include "app/cli_support.h"
#include "app/replay_client.h"

namespace hivehook::cli {

namespace {
struct RetryOptions {
  std::vector<std::string> keys;
  bool all_failed = false, dry_run = false, json = false;
};

int run_retry(Globals& g, const RetryOptions& o) {
  if (o.keys.empty() == !o.all_failed) {
    error(g) << "give KEY... or --all-failed\nRun 'hivehook retry --help' for usage.\n";
    return kExitUsage;
  }
  ReplayRequest req;
  req.retry = true;
  req.keys = o.keys;
  req.filter.failed_only = true;
  req.dry_run = o.dry_run;
  return submit_replay(g, req, o.json);
}
}  // namespace

void add_retry(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "retry",
       .summary = "Run quarantined objects again through only the rules that failed on them (and the after: steps skipped behind them)",
       .details = "Each quarantined object (the latest arrival at its key) goes back into landing at its key and "
                  "runs, as a new object that records the one it replays (object.replayed), through the rules "
                  "whose run failed on it; the rules that succeeded do not run again. When the daemon runs, it is "
                  "asked over its API (its local token when this user may read it, else http.token); otherwise this command owns the state DB until the runs end. "
                  "--dry-run prints the plan.",
       .exit_status = "0 done (or planned), also when nothing is in quarantine or every match was skipped "
                      "(the last line says so); 1 a retried object failed again; 2 usage error, invalid config, a key "
                      "that is not quarantined, or the daemon refused.",
       .examples = "  hivehook retry transactions/year=2023/month=03/day=16/transactions_2023-03-16.csv\n"
                   "  hivehook retry --all-failed --dry-run"});
  auto o = std::make_shared<RetryOptions>();
  cmd->add_option("KEY", o->keys, "keys of quarantined objects");
  cmd->add_flag("--all-failed", o->all_failed, "every object whose latest arrival is quarantined");
  cmd->add_flag("--dry-run", o->dry_run, "print the plan, change nothing");
  cmd->add_flag("--json", o->json, "the plan as JSON");
  cmd->callback([&g, o] { g.exit_code = run_retry(g, *o); });
}

}  // namespace hivehook::cli
