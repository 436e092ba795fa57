// What a replay or a retry will do (DESIGN.md "Replay, partitions and the console"): which objects,
// from where, through which rules. Planned from the store and the rules in force, so the CLI's
// `--dry-run` (no daemon) and the daemon (POST /api/v1/replay) show the same plan.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rules/rule.h"
#include "store/replay_query.h"
#include "store/store.h"

namespace hivehook {

struct ReplayItem {
  int64_t of_object = 0;          // the object replayed
  std::string key;
  std::string from_state;         // archived | quarantined
  std::filesystem::path from;     // where its file is now (the object's final path)
  std::vector<std::string> rules; // the rules it runs through
  std::vector<std::string> batches; // the batch rules whose group it joins again (a marker: only those)
  std::string skip;               // why it is not replayed ("" = it is)
};

struct ReplayPlan {
  bool retry = false;
  bool dry_run = false;
  std::vector<ReplayItem> items;
};

// The plan, or nullopt with *error (a sentence) for a request that cannot be planned: a named
// rule that does not exist, a retry key that is not quarantined, a replay with no filter at all
// that is not a dry run and does not say `all` (store/replay_query.h unfiltered()). Items that cannot run (no rule
// matches the key any more, the file is gone, a file is in landing at that key) are kept with
// `skip` set, so the plan tells why.
//   replay: the named rules that match each key, else every rule that matches it now; batch rules
//           (named, or every one when none is named) the key joins again — a group's marker is
//           replayed too, after its group's files, so the batch is rebuilt and runs again;
//           a quarantined object whose failed rules are not all in the replay is skipped (it
//           would be archived as if they had passed: `retry` runs them);
//           rules named (--rule) narrow the candidates: keys they do not match are not listed;
//   retry:  the rules whose task failed on that object, and those skipped behind them (after:),
//           that still exist; a batch the object's failure skipped is listed and its marker
//           replayed after the files, so the batch runs again once they succeed.
std::optional<ReplayPlan> plan_replay(Store& store, const RuleSet& rules, const std::filesystem::path& landing,
                                      const ReplayRequest& request, std::string* error);

// {"retry", "dry_run", "objects": [{of_object, key, from_state, from, rules, batches, skipped}], "replayed": n,
//  "skipped": n} ("replayed": how many are, or with dry_run would be, replayed)
nlohmann::json plan_json(const ReplayPlan& plan);

}  // namespace hivehook
