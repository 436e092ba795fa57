// Reload (SIGHUP, `systemctl reload`, or the rules watcher): the config file and the rules are
// read again; valid ones are put in force, an invalid edit is rejected whole.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "daemon/kept_rules.h"
#include "pipeline/outbox_sender.h"
#include "pipeline/pipeline.h"
#include "pipeline/stats.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

// Loads the rules named by the config, re-reading the config file too (*fresh holds it on
// success). The rules are read from the path of the config in force (`rules:` itself needs a
// restart). nullopt, with file:line:col messages in `diags`, when either is invalid.
std::optional<RuleSet> reload_rules(const Config& config, Diagnostics& diags, std::optional<Config>* fresh);
// {"rules":[names], "added":[...], "removed":[...], "changed":[...], "orchestration_changed":
// {rule: [keys]}} (diff against `before` when given). `changed` lists every rule whose behaviour
// changed, its orchestration keys (after, requires, batch, schedule, expect, timezone) included;
// `orchestration_changed` names, per such rule, which of those keys changed.
nlohmann::json describe_rules(const RuleSet& rules, const RuleSet* before);
// {"errors":["file:line:col: message", ...]}
nlohmann::json diagnostics_json(const Diagnostics& diags);

// What a reload did with the config file's settings, by their YAML names ("workers", "log.level").
struct ConfigChanges {
  std::vector<std::string> applied;         // changed, and in force now: "workers (4 -> 8)"
  std::vector<std::string> restart_needed;  // changed in the file, the old value stays until a restart
  bool empty() const { return applied.empty() && restart_needed.empty(); }
};

// Copies the settings that can change while running from `fresh` into `in_force` — rules'
// contents, workers, notify, ignore, log.level, shutdown_grace, move_alert_after — and lists the
// others that differ (landing, archive, quarantine, state, state_dir, audit_log, bucket, rules (the
// path), reconcile, node, node_lease, metrics or http.listen, http.token, s3, log.format): those keep
// their old value until the daemon is restarted. Every setting is named by the key the config file
// uses (`metrics` when the file says `metrics: HOST:PORT`), never by an internal field's name.
ConfigChanges apply_live_settings(Config& in_force, const Config& fresh);

// Applies a reload to the running daemon: valid rules replace the old ones for objects discovered
// from now on (rules.loaded, with the config changes), and the live settings take effect; an
// invalid edit of the config or of any rules file is rejected whole and everything in force stays
// (rules.rejected, file:line:col messages in the log). Every rule set put in force is kept in the
// store as the last good rules; while the rules on disk are rejected, degraded() says so.
class Reloader {
 public:
  Reloader(Config& config, std::shared_ptr<const RuleSet> rules, Pipeline& pipeline, OutboxSender& outbox,
           PipelineStats& stats, Store& store, const Clock& clock);
  // At start-up. `rejected`: the rules on disk were invalid and the rules given are the kept ones
  // (kept at rejected->running_kept_at_ms); else they are the rules on disk, kept now.
  void start(std::optional<RulesRejection> rejected);
  void reload();
  const std::shared_ptr<const RuleSet>& rules() const { return rules_; }
  // While the rules on disk are rejected: why, in one line; any thread (for /healthz).
  std::optional<std::string> degraded() const;

  std::function<void()> on_reloading;  // before a reload is read (sd_notify RELOADING=1)
  std::function<void()> on_reloaded;   // after it is applied or rejected (READY=1)
  std::function<void(const RuleSet&)> on_applied;  // new rules in force (and the live settings applied)
  // After a reload that was applied: the config as re-read (its notify secrets, say).
  std::function<void(const Config& fresh)> on_config_applied;

 private:
  void set_degraded(std::optional<RulesRejection> rejection);

  Config& config_;
  std::shared_ptr<const RuleSet> rules_;
  Pipeline& pipeline_;
  OutboxSender& outbox_;
  PipelineStats& stats_;
  Store& store_;
  const Clock& clock_;
  int64_t kept_at_ms_ = 0;  // when the rules in force were kept
  mutable std::mutex mu_;
  std::optional<std::string> degraded_;  // guarded by mu_
};

}  // namespace hivehook
