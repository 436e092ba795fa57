// Rules reload: load, apply, and describe what changed, for rules.loaded / rules.rejected events.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "pipeline/outbox_sender.h"
#include "pipeline/pipeline.h"
#include "pipeline/stats.h"
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

// Applies a reload (SIGHUP, or the rules watcher) to the running daemon: valid rules replace the
// old ones for objects discovered from now on (rules.loaded); an invalid edit is rejected whole and
// the previous rules stay in force (rules.rejected, file:line:col messages in the log).
class Reloader {
 public:
  Reloader(const Config& config, std::shared_ptr<const RuleSet> rules, Pipeline& pipeline, OutboxSender& outbox,
           PipelineStats& stats);
  void reload();
  const std::shared_ptr<const RuleSet>& rules() const { return rules_; }

 private:
  const Config& config_;
  std::shared_ptr<const RuleSet> rules_;
  Pipeline& pipeline_;
  OutboxSender& outbox_;
  PipelineStats& stats_;
};

}  // namespace hivehook
