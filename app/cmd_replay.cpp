// `hivehook replay [--rule R] [--key PREFIX] [--partition NAME=VALUE ...] [--from KEY --to KEY]
// [--since TIME] [--failed] [--all] [--dry-run] [--json]`: archived or quarantined objects run again through the rules
// (after a job was fixed), as new objects that record the one they replay (DESIGN.md).
#include <iostream>

#include "api/params.h"
#include "app/cli_support.h"
#include "app/replay_client.h"

namespace hivehook::cli {

namespace {
struct ReplayOptions {
  std::vector<std::string> rules, partitions;
  std::string key, from, to, since;
  bool failed = false, all = false, dry_run = false, json = false;
};

int run_replay(Globals& g, const ReplayOptions& o) {
  ReplayRequest req;
  req.filter.rules = o.rules;
  if (!o.key.empty()) req.filter.key_prefix = o.key;
  for (const auto& p : o.partitions) {
    std::string err;
    auto nv = api::parse_partition_filter(p, &err);
    if (!nv) {
      std::cerr << "hivehook replay: " << err << "\n";
      return kExitUsage;
    }
    req.filter.partition.push_back(*nv);
  }
  if (auto why = api::repeated_partition_name(req.filter.partition)) {
    std::cerr << "hivehook replay: " << *why << "\n";
    return kExitUsage;
  }
  if (o.from.empty() != o.to.empty()) {
    std::cerr << "hivehook replay: --from and --to go together\n";
    return kExitUsage;
  }
  if (!o.from.empty()) {
    req.filter.from = o.from;
    req.filter.to = o.to;
  }
  req.filter.failed_only = o.failed;
  if (!o.since.empty()) {
    req.filter.since_ms = api::parse_since(o.since);
    if (!req.filter.since_ms) {
      std::cerr << "hivehook replay: --since wants a time (2023-03-15T13:45:00Z, 2023-03-15) or an age (10m, 7d)\n";
      return kExitUsage;
    }
  }
  req.filter.all = o.all;
  req.dry_run = o.dry_run;
  return submit_replay(g, req, o.json);
}
}  // namespace

void add_replay(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "replay",
       .summary = "Run archived or quarantined objects again through the rules, as new objects",
       .details = "Takes the latest object at each key that ended archived or quarantined and matches the filters, "
                  "puts its file back into landing and runs it, past the duplicate guard, as a new object that "
                  "records the one it replays (object.replayed), through the named rules (--rule) or every rule "
                  "that matches the key now; it is then archived or quarantined as usual. With no filter at all it is "
                  "refused unless --all says so. When the daemon runs, it "
                  "is asked over its API (its local token when this user may read it, else http.token); otherwise this command owns the state DB until the runs "
                  "end. --dry-run prints the plan.",
       .exit_status = "0 done (or planned), also when nothing matched or every match was skipped (the last "
                      "line says so); 1 a replayed object failed; 2 usage error, invalid config, an unknown "
                      "rule, or the daemon refused.",
       .examples = "  hivehook replay --rule transactions-etl --partition year=2023 --partition month=03 --dry-run\n"
                   "  hivehook replay --from transactions/year=2023/month=03/day=01/ --to transactions/year=2023/month=03/day=07/~"});
  auto o = std::make_shared<ReplayOptions>();
  cmd->add_option("--rule", o->rules, "only these rules (repeatable; default: every rule that matches the key)")->type_name("RULE");
  cmd->add_option("--key", o->key, "only keys starting with this prefix")->type_name("PREFIX");
  cmd->add_option("--partition", o->partitions, "only keys with this partition value, NAME=VALUE (repeatable)")->type_name("NAME=VALUE");
  cmd->add_option("--from", o->from, "only keys from this one (inclusive, byte order; with --to)")->type_name("KEY");
  cmd->add_option("--to", o->to, "only keys up to this one (inclusive)")->type_name("KEY");
  cmd->add_option("--since", o->since, "only objects that arrived from this time (RFC 3339 or YYYY-MM-DD) or this long ago (7d)")->type_name("TIME");
  cmd->add_flag("--failed", o->failed, "only quarantined objects");
  cmd->add_flag("--all", o->all, "with no other filter: every archived and quarantined object (refused without it)");
  cmd->add_flag("--dry-run", o->dry_run, "print the plan, change nothing");
  cmd->add_flag("--json", o->json, "the plan as JSON");
  cmd->callback([&g, o] { g.exit_code = run_replay(g, *o); });
}

}  // namespace hivehook::cli
