// The last good rules, kept in the state DB, and whether the rules on disk are rejected.
//
// Every rule set the daemon puts in force (at start-up or by a reload) is kept, as the texts of
// its files, in the store's `meta` table. When the rules on disk are invalid at start-up, `run`
// starts with the kept ones instead of not running at all (`run --strict` refuses); while the
// daemon runs rules other than those on disk (that start-up, or a rejected reload), it says so in
// the log, in `status` and on /healthz ("degraded": 200, not 503).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

struct KeptRules {
  std::vector<RulesSource> sources;  // the rules files' paths and texts, as read then
  int64_t kept_at_ms = 0;            // when they were put in force (Unix ms)
};

// The daemon's rules on disk were rejected: what it said, and what runs instead.
struct RulesRejection {
  int64_t since_ms = 0;             // the first rejection since the last good load (Unix ms)
  std::vector<std::string> errors;  // "file:line:col: message"
  int64_t running_kept_at_ms = 0;   // the rules in force were kept at this time (0: unknown)
  // What was refused: the rules files (empty), or the config file itself (its path): a reload
  // reads the config file first, and when it is invalid the rules are not read at all.
  std::string config_file;
};

// Keeps `rules` as the last good rules (owner).
void keep_rules(Store& store, const RuleSet& rules, int64_t now_ms);
// The last good rules, or nullopt when none were kept (a new state DB) or the kept value is
// unreadable (then *error says why).
std::optional<KeptRules> kept_rules(Store& store, std::string* error = nullptr);
// Reads the kept rules from the state DB at `state` (read-only; nullopt when there is no DB, or
// none kept: *error says which).
std::optional<KeptRules> kept_rules_at(const std::filesystem::path& state, std::string* error);

// Records that the rules on disk are rejected (owner). An earlier `since_ms` is kept.
void record_rules_rejected(Store& store, RulesRejection rejection);
// The rules on disk were loaded: nothing rejected any more (owner).
void clear_rules_rejected(Store& store);
std::optional<RulesRejection> rules_rejected(Store& store);

// "rules on disk rejected (2 errors; first: rules/a.yaml:3:5: ...); running the last good rules kept at
// 2026-11-30T10:00:00Z", or "config file /etc/hivehook/hivehook.yaml rejected (...); running the
// previous config and the last good rules kept at ..." — the one-line form for /healthz, STATUS=
// and `status`, naming what was refused.
std::string describe_rejection(const RulesRejection& r);
// What was refused, for a label: "config file /etc/hivehook/hivehook.yaml" or "rules on disk".
std::string rejected_what(const RulesRejection& r);

}  // namespace hivehook
