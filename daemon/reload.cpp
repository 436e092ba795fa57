#include "daemon/reload.h"

#include <spdlog/spdlog.h>

#include <set>
#include <sstream>

namespace hivehook {

namespace {
// Everything that makes a rule behave as it does, as one comparable string.
std::string fingerprint(const Rule& r) {
  std::ostringstream s;
  auto opt = [&](const std::optional<std::string>& v) { s << (v ? *v : "<none>") << '\x1f'; };
  opt(r.match.prefix);
  opt(r.match.suffix);
  opt(r.match.glob);
  for (auto& [k, v] : r.match.partition) s << k << '=' << v << '\x1f';
  if (auto* c = std::get_if<CommandJob>(&r.job.kind))
    for (auto& a : c->argv) s << "argv:" << a << '\x1f';
  if (auto* l = std::get_if<LambdaJob>(&r.job.kind)) s << "lambda:" << l->handler << l->code << l->runtime << l->memory_mb;
  if (auto* b = std::get_if<BuiltinJob>(&r.job.kind)) s << "builtin:" << b->name;
  for (auto& [k, v] : r.job.env) s << "env:" << k << '=' << v << '\x1f';
  s << r.job.cwd << '\x1f' << r.job.timeout.count() << '\x1f' << r.retries << '\x1f' << r.backoff.initial.count() << '\x1f'
    << r.backoff.max.count() << '\x1f' << r.concurrency << '\x1f' << r.settle.count() << '\x1f'
    << static_cast<int>(r.on_success) << static_cast<int>(r.on_failure) << r.notify_each_run;
  for (auto& n : r.notify_success) s << "ns:" << n;
  for (auto& n : r.notify_failure) s << "nf:" << n;
  return s.str();
}
}  // namespace

std::optional<RuleSet> reload_rules(const Config& config, Diagnostics& diags, std::optional<Config>* fresh) {
  *fresh = load_config(config.file, diags);
  if (!*fresh) return std::nullopt;  // an invalid config edit is refused like an invalid rule
  return load_rules(config.rules, **fresh, diags);
}

nlohmann::json describe_rules(const RuleSet& rules, const RuleSet* before) {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& r : rules.rules) names.push_back(r.name);
  nlohmann::json out = {{"rules", names}};
  if (!before) return out;
  nlohmann::json added = nlohmann::json::array(), removed = nlohmann::json::array(), changed = nlohmann::json::array();
  for (const auto& r : rules.rules) {
    const Rule* old = before->find(r.name);
    if (!old) added.push_back(r.name);
    else if (fingerprint(*old) != fingerprint(r)) changed.push_back(r.name);
  }
  for (const auto& r : before->rules)
    if (!rules.find(r.name)) removed.push_back(r.name);
  out["added"] = added;
  out["removed"] = removed;
  out["changed"] = changed;
  return out;
}

nlohmann::json diagnostics_json(const Diagnostics& diags) {
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& d : diags.items())
    if (d.severity == Diagnostic::Severity::error) errors.push_back(d.str());
  return {{"errors", errors}};
}

Reloader::Reloader(const Config& config, std::shared_ptr<const RuleSet> rules, Pipeline& pipeline,
                   OutboxSender& outbox, PipelineStats& stats)
    : config_(config), rules_(std::move(rules)), pipeline_(pipeline), outbox_(outbox), stats_(stats) {}

void Reloader::reload() {
  Diagnostics d;
  std::optional<Config> fresh;
  auto next = reload_rules(config_, d, &fresh);
  if (!next) {
    pipeline_.emit("rules.rejected", std::nullopt, diagnostics_json(d));
    stats_.m.rule_reloads.labels({"rejected"}).inc();
    spdlog::error("rules rejected, the previous rules stay in force:\n{}", d.str());
    return;
  }
  auto before = rules_;
  rules_ = std::make_shared<const RuleSet>(std::move(*next));
  pipeline_.set_rules(rules_);
  pipeline_.set_workers(fresh->workers);
  outbox_.set_targets(fresh->notify);
  pipeline_.emit("rules.loaded", std::nullopt, describe_rules(*rules_, before.get()));
  stats_.m.rule_reloads.labels({"loaded"}).inc();
  stats_.m.rules_loaded.set(static_cast<double>(rules_->rules.size()));
  spdlog::info("rules reloaded: {} rule(s)", rules_->rules.size());
}

}  // namespace hivehook
