#include "daemon/reload.h"

#include "rules/config_keys.h"
#include "store/queries.h"

#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <sstream>

namespace hivehook {

namespace {
// A rule's orchestration keys (DESIGN.md "Orchestration"), each as one comparable string: key
// name (after, requires, batch, schedule, expect, timezone) -> its value ("" when not set).
std::map<std::string, std::string> orchestration_parts(const Rule& r) {
  std::map<std::string, std::string> out;
  auto part = [&](const char* key, auto write) {
    std::ostringstream s;
    write(s);
    out[key] = s.str();
  };
  part("after", [&](auto& s) { for (auto& a : r.after) s << a << '\x1f'; });
  part("requires", [&](auto& s) { for (auto& q : r.required_rules) s << q << '\x1f'; });
  part("batch", [&](auto& s) {
    if (r.batch)
      s << r.batch->group.text() << '\x1f' << static_cast<int>(r.batch->when) << '\x1f' << r.batch->marker << '\x1f'
        << r.batch->count << '\x1f' << r.batch->quiet.count();
  });
  part("schedule", [&](auto& s) { if (r.schedule) s << r.schedule->cron.text() << '\x1f' << r.schedule->catch_up; });
  part("expect", [&](auto& s) {
    if (!r.expect) return;
    s << r.expect->partition_text << '\x1f' << r.expect->schedule.every.count() << '\x1f'
      << r.expect->schedule.by.count() << '\x1f' << r.expect->schedule.zone.name() << '\x1f';
    for (auto& n : r.expect->notify) s << n << '\x1f';
  });
  part("timezone", [&](auto& s) { s << r.timezone.name(); });
  return out;
}

std::string orchestration_fingerprint(const Rule& r) {
  std::string s;
  for (auto& [k, v] : orchestration_parts(r)) s += k + ':' + v + '\x1e';
  return s;
}

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
  if (auto* l = std::get_if<LambdaJob>(&r.job.kind))
    s << "lambda:" << l->handler << '\x1f' << l->code << '\x1f' << l->runtime << '\x1f' << l->memory_mb << '\x1f'
      << l->python << '\x1f' << l->warm_max << '\x1f' << l->warm_idle.count() << '\x1f';
  if (auto* b = std::get_if<BuiltinJob>(&r.job.kind)) s << "builtin:" << b->name;
  for (auto& [k, v] : r.job.env) s << "env:" << k << '=' << v << '\x1f';
  s << r.job.cwd << '\x1f' << r.job.timeout.count() << '\x1f' << r.retries << '\x1f' << r.backoff.initial.count() << '\x1f'
    << r.backoff.max.count() << '\x1f' << r.concurrency << '\x1f' << r.settle.count() << '\x1f'
    << static_cast<int>(r.on_success) << static_cast<int>(r.on_failure) << r.notify_each_run;
  for (auto& n : r.notify_success) s << "ns:" << n;
  for (auto& n : r.notify_failure) s << "nf:" << n;
  s << orchestration_fingerprint(r);
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
  nlohmann::json orchestration = nlohmann::json::object();
  for (const auto& r : rules.rules) {
    const Rule* old = before->find(r.name);
    if (!old) added.push_back(r.name);
    else if (fingerprint(*old) != fingerprint(r)) changed.push_back(r.name);
    if (!old) continue;
    // Which orchestration keys changed, per rule: {"daily": ["batch"]}.
    const auto was = orchestration_parts(*old), now = orchestration_parts(r);
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& [k, v] : now)
      if (was.at(k) != v) keys.push_back(k);
    if (!keys.empty()) orchestration[r.name] = keys;
  }
  for (const auto& r : before->rules)
    if (!rules.find(r.name)) removed.push_back(r.name);
  out["added"] = added;
  out["removed"] = removed;
  out["changed"] = changed;
  out["orchestration_changed"] = orchestration;
  return out;
}

nlohmann::json diagnostics_json(const Diagnostics& diags) {
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& d : diags.items())
    if (d.severity == Diagnostic::Severity::error) errors.push_back(d.str());
  return {{"errors", errors}};
}

namespace {
std::string target_fingerprint(const NotifyTarget& t) {
  nlohmann::json j = {{"timeout", t.timeout.count()}, {"max_attempts", t.max_attempts}, {"max_age", t.max_age.count()},
                      {"backoff", {t.backoff.initial.count(), t.backoff.max.count()}}};
  if (auto* w = std::get_if<WebhookTarget>(&t.kind)) j["webhook"] = {w->url, w->secret, w->headers};
  if (auto* m = std::get_if<SmtpTarget>(&t.kind))
    j["smtp"] = {m->url, static_cast<int>(m->tls), m->from, m->to, m->username, m->password};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool same_targets(const std::map<std::string, NotifyTarget>& a, const std::map<std::string, NotifyTarget>& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
    if (ia->first != ib->first || target_fingerprint(ia->second) != target_fingerprint(ib->second)) return false;
  return true;
}

std::string shown(const std::optional<std::string>& v) { return v ? *v : "(none)"; }
std::string shown(const std::optional<std::filesystem::path>& p) { return p ? p->string() : "(none)"; }

// "name (old -> new)" when they differ.
template <class T>
void compare(std::vector<std::string>& out, const char* name, const T& old_value, const T& new_value) {
  if (old_value != new_value) out.push_back(std::string(name) + " (" + shown(old_value) + " -> " + shown(new_value) + ")");
}
void compare(std::vector<std::string>& out, const char* name, const std::filesystem::path& a,
             const std::filesystem::path& b) {
  if (a != b) out.push_back(std::string(name) + " (" + a.string() + " -> " + b.string() + ")");
}
void compare(std::vector<std::string>& out, const char* name, const std::string& a, const std::string& b) {
  if (a != b) out.push_back(std::string(name) + " (" + a + " -> " + b + ")");
}
void compare(std::vector<std::string>& out, const char* name, Duration a, Duration b) {
  if (a != b) out.push_back(std::string(name) + " (" + format_duration(a) + " -> " + format_duration(b) + ")");
}
void compare(std::vector<std::string>& out, const char* name, int a, int b) {
  if (a != b) out.push_back(std::string(name) + " (" + std::to_string(a) + " -> " + std::to_string(b) + ")");
}
}  // namespace

ConfigChanges apply_live_settings(Config& in_force, const Config& fresh) {
  ConfigChanges c;
  // Live: read on the loop from the config in force, or handed to their user by the Reloader.
  compare(c.applied, "workers", in_force.workers, fresh.workers);
  if (!same_targets(in_force.notify, fresh.notify)) c.applied.push_back("notify");
  if (in_force.ignore != fresh.ignore) c.applied.push_back("ignore");
  compare(c.applied, "log.level", in_force.log.level, fresh.log.level);
  compare(c.applied, "shutdown_grace", in_force.shutdown_grace, fresh.shutdown_grace);
  compare(c.applied, "move_alert_after", in_force.move_alert_after, fresh.move_alert_after);
  in_force.workers = fresh.workers;
  in_force.notify = fresh.notify;
  in_force.ignore = fresh.ignore;
  in_force.log.level = fresh.log.level;
  in_force.shutdown_grace = fresh.shutdown_grace;
  in_force.move_alert_after = fresh.move_alert_after;  // /healthz reads it from the config in force
  // Fixed at start-up: open files, watches, listening sockets, other threads' copies.
  auto& r = c.restart_needed;
  compare(r, "landing", in_force.landing, fresh.landing);
  compare(r, "archive", in_force.archive, fresh.archive);
  compare(r, "quarantine", in_force.quarantine, fresh.quarantine);
  compare(r, "state", in_force.state, fresh.state);
  compare(r, "state_dir", in_force.state_dir, fresh.state_dir);
  compare(r, "audit_log", in_force.audit_log, fresh.audit_log);
  compare(r, "bucket", in_force.bucket, fresh.bucket);
  compare(r, "rules", in_force.rules, fresh.rules);
  compare(r, "reconcile", in_force.reconcile, fresh.reconcile);
  compare(r, "node", in_force.node, fresh.node);
  compare(r, "node_lease", in_force.node_lease, fresh.node_lease);
  // The listen address by the key the operator wrote (`metrics:` or `http: {listen:}`), as the file
  // has it now (or had it, when the section was removed).
  auto listen = [](const std::optional<HttpConfig>& h) { return h ? std::optional(h->listen) : std::nullopt; };
  auto token = [](const std::optional<HttpConfig>& h) { return h ? h->token : std::string(); };
  compare(r, listen_key(fresh.file).c_str(), listen(in_force.http), listen(fresh.http));
  if (token(in_force.http) != token(fresh.http)) r.push_back("http.token");  // never its value
  auto read_auth = [](const std::optional<HttpConfig>& h) { return h && h->read_needs_token; };
  if (read_auth(in_force.http) != read_auth(fresh.http)) r.push_back("http.read_auth");
  if (in_force.s3 != fresh.s3) r.push_back("s3");
  compare(r, "log.format", in_force.log.format, fresh.log.format);
  return c;
}

Reloader::Reloader(Config& config, std::shared_ptr<const RuleSet> rules, Pipeline& pipeline, OutboxSender& outbox,
                   PipelineStats& stats, Store& store, const Clock& clock)
    : config_(config),
      rules_(std::move(rules)),
      pipeline_(pipeline),
      outbox_(outbox),
      stats_(stats),
      store_(store),
      clock_(clock) {}

void Reloader::start(std::optional<RulesRejection> rejected) {
  if (!rejected) {
    kept_at_ms_ = clock_.now_ms();
    keep_rules(store_, *rules_, kept_at_ms_);
    set_degraded(std::nullopt);
    return;
  }
  kept_at_ms_ = rejected->running_kept_at_ms;
  const std::vector<std::string> rejected_errors = rejected->errors;
  pipeline_.emit("rules.rejected", std::nullopt,
                 {{"errors", rejected->errors}, {"in_force", "last good rules"}, {"kept_at", kept_at_ms_}});
  stats_.m.rule_reloads.labels({"rejected"}).inc();
  set_degraded(std::move(rejected));
  // Every error in the log too (under journald each line keeps the error priority).
  std::string lines;
  for (const auto& e : rejected_errors) lines += "\n" + e;
  spdlog::error("{}; the rules files' errors:{}", *degraded(), lines);
}

void Reloader::reload() {
  if (on_reloading) on_reloading();
  Diagnostics d;
  std::optional<Config> fresh;
  auto next = reload_rules(config_, d, &fresh);
  if (!next) {
    // Which was refused: the config file (then the rules were not read), or the rules files.
    const std::string config_file = fresh ? std::string() : config_.file.string();
    auto errors = diagnostics_json(d);
    errors["rejected"] = config_file.empty() ? "rules" : "config";
    if (!config_file.empty()) errors["config_file"] = config_file;
    pipeline_.emit("rules.rejected", std::nullopt, errors);
    stats_.m.rule_reloads.labels({"rejected"}).inc();
    if (config_file.empty())
      spdlog::error("rules rejected, the previous rules and config stay in force:\n{}", d.str());
    else
      spdlog::error("config file {} rejected, the previous config and rules stay in force:\n{}{}", config_file, d.str(),
                    // An unset ${VAR}: the environment file is read only when the service starts (retest P7).
                    d.str().find("' is not set") != std::string::npos
                        ? "(a variable is not set: under systemd the EnvironmentFile= is read only at start; after "
                          "editing it, systemctl restart hivehook)\n"
                        : "");
    set_degraded(RulesRejection{clock_.now_ms(), errors["errors"].get<std::vector<std::string>>(), kept_at_ms_,
                                config_file});
    if (on_reloaded) on_reloaded();
    return;
  }
  auto before = rules_;
  rules_ = std::make_shared<const RuleSet>(std::move(*next));
  auto changes = apply_live_settings(config_, *fresh);
  // Objects waiting (after:/requires:) for a rule this reload removes end failed when the new rules
  // apply (task.skipped): a rename is a removal. Counted first, to be said once, not per file
  // (issue 14 retest 3 G1: renaming a rule quarantined a month of waiting files in silence).
  std::vector<WaitingRule> ended_waiting;
  for (auto& w : waiting_tasks(store_))
    if (!rules_->find(w.rule)) ended_waiting.push_back(std::move(w));
  pipeline_.set_rules(rules_);
  pipeline_.set_workers(config_.workers);
  pipeline_.set_ignore(config_.ignore);
  outbox_.set_targets(config_.notify);
  if (on_config_applied) on_config_applied(*fresh);  // its notify secrets (redaction, jobs' environment)
  if (on_applied) on_applied(*rules_);
  spdlog::set_level(spdlog::level::from_str(config_.log.level));
  kept_at_ms_ = clock_.now_ms();
  keep_rules(store_, *rules_, kept_at_ms_);
  set_degraded(std::nullopt);
  auto detail = describe_rules(*rules_, before.get());
  detail["config"] = {{"applied", changes.applied}, {"restart_needed", changes.restart_needed}};
  if (!ended_waiting.empty()) {
    auto& ended = detail["ended_waiting"] = nlohmann::json::object();
    for (const auto& w : ended_waiting) ended[w.rule] = w.objects;
  }
  pipeline_.emit("rules.loaded", std::nullopt, detail);
  stats_.m.rule_reloads.labels({"loaded"}).inc();
  stats_.m.rules_loaded.set(static_cast<double>(rules_->rules.size()));
  spdlog::info("rules reloaded: {} rule{}", rules_->rules.size(), rules_->rules.size() == 1 ? "" : "s");
  for (const auto& w : ended_waiting)
    spdlog::warn("rule {} was removed (or renamed) while {} object{} waited for it (first {}): they end failed "
                 "(task.skipped) and are quarantined; `hivehook replay --key PREFIX` runs them through the rules "
                 "in force",
                 w.rule, w.objects, w.objects == 1 ? "" : "s", w.first_key);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!changes.applied.empty()) spdlog::info("config reloaded: applied now: {}", join(changes.applied));
  if (!changes.restart_needed.empty())
    spdlog::warn("config changed but needs a restart to apply (the old values stay in force): {}",
                 join(changes.restart_needed));
  if (on_reloaded) on_reloaded();
}

std::optional<std::string> Reloader::degraded() const {
  std::lock_guard lock(mu_);
  return degraded_;
}

void Reloader::set_degraded(std::optional<RulesRejection> rejection) {
  if (rejection) record_rules_rejected(store_, *rejection);
  else clear_rules_rejected(store_);
  auto stored = rejection ? rules_rejected(store_) : std::nullopt;  // keeps the first `since`
  stats_.m.rules_degraded.set(stored ? 1.0 : 0.0);
  std::lock_guard lock(mu_);
  degraded_ = stored ? std::optional<std::string>(describe_rejection(*stored)) : std::nullopt;
}

}  // namespace hivehook
