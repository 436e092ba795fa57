// Which objects a replay takes (`hivehook replay`, POST /api/v1/replay): the latest object at each
// key that ended archived, quarantined or unmatched, narrowed by key prefix, partition values and a key range.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace hivehook {

struct ReplayFilter {
  std::vector<std::string> rules;                              // run these rules (empty: every matching rule)
  std::optional<std::string> key_prefix;                       // --key PREFIX
  std::vector<std::pair<std::string, std::string>> partition;  // --partition NAME=VALUE (decoded values; all must hold)
  std::optional<std::string> from, to;                         // --from KEY --to KEY: keys in [from, to], byte order
  bool failed_only = false;                                    // --failed: quarantined objects only
  std::optional<int64_t> since_ms;                             // --since: discovered at or after (unix ms)
  bool all = false;                                            // --all: no filter, on purpose (see unfiltered())
  int limit = 100000;                                          // most objects in one replay
};

// A replay or a retry as asked for by the CLI or the API.
struct ReplayRequest {
  ReplayFilter filter;
  std::vector<std::string> keys;  // retry: these keys' latest objects (quarantined), instead of the filter
  bool retry = false;             // run only the rules that failed on each object (`retry`), not every matching rule
  bool dry_run = false;           // plan only
  // retry --schedule: these `schedule:` rules' latest firings, failed for good, run again
  // (pipeline/schedule_retry.h), instead of keys or the filter.
  std::vector<std::string> schedules;
  // Who asked, as the audit's `schedule.retried` names it: "api from ADDRESS (...)" set by the
  // listener, "cli: user NAME (uid N)" by an offline retry. Never read from a request body.
  std::string asked_by;
};

// True when nothing narrows the filter (no rule, key, partition, range, --since or --failed): a replay of
// every archived and quarantined object in the store. plan_replay refuses it (unless a dry run)
// when `all` is not set, so an empty API body or a bare `hivehook replay` cannot rerun the store.
bool unfiltered(const ReplayFilter& filter);

// The objects, in key order. An object qualifies when it is the latest at its key and its state
// is archived or quarantined with a final path, or unmatched (its file left in landing, for a rule
// added since); quarantined only with failed_only.
std::vector<ObjectRecord> replay_candidates(Store& store, const ReplayFilter& filter);

}  // namespace hivehook
