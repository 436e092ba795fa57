// Rules reload: load and describe what changed, for rules.loaded / rules.rejected events.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "rules/config.h"
#include "rules/rule.h"

namespace hivehook {

// Loads the rules named by the config, re-reading the config file too: on success *fresh holds
// it (its `workers` and `notify` targets apply at once; changed paths need a restart).
std::optional<RuleSet> reload_rules(const Config& config, Diagnostics& diags, std::optional<Config>* fresh);
// {"rules":[names], "added":[...], "removed":[...], "changed":[...]} (diff against `before` when given).
nlohmann::json describe_rules(const RuleSet& rules, const RuleSet* before);
// {"errors":["file:line:col: message", ...]}
nlohmann::json diagnostics_json(const Diagnostics& diags);

}  // namespace hivehook
