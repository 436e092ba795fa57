#include "pipeline/pipeline.h"

#include <spdlog/spdlog.h>

#include "pipeline/active.h"

namespace hivehook {

Pipeline::Pipeline(boost::asio::io_context& io, const Config& config, std::shared_ptr<const RuleSet> rules,
                   Store& store, CommitBatch& batch, PipelineStats& stats, PipelineSeams seams)
    : io_(io),
      config_(config),
      rules_(std::move(rules)),
      store_(store),
      batch_(batch),
      stats_(stats),
      clock_(seams.clock),
      timers_(seams.timers),
      files_(seams.files),
      runner_(seams.runner),
      lambda_runner_(seams.lambda_runner),
      scheduler_(config.workers) {
  std::error_code ec;  // where jobs write $HIVEHOOK_RESULT; a failure shows on the first run
  std::filesystem::create_directories(config_.state_dir / "results", ec);
  for (auto& r : store_.rules_succeeded()) succeeded_rules_.insert(std::move(r));
}

Pipeline::~Pipeline() {
  hash_pool_.join();
  ignored_names_seen(this, true);
}

void Pipeline::emit(std::string event, const std::optional<std::string>& key, nlohmann::json detail,
                    const std::optional<std::string>& rule, const std::optional<std::string>& run_id,
                    std::optional<int> attempt) {
  AuditEvent e;
  e.event = std::move(event);
  e.key = key;
  e.rule = rule;
  e.run_id = run_id;
  e.attempt = attempt;
  e.detail = std::move(detail);
  store_.add_event(std::move(e));
  batch_.request();
}

void Pipeline::set_rules(std::shared_ptr<const RuleSet> rules) {
  // A rule removed (or renamed) by this reload may still owe runs to objects discovered before it:
  // they run under the rule as it was, so its concurrency limit must keep holding for them.
  for (const auto& r : rules_->rules)
    if (!rules->find(r.name)) retired_limits_[r.name] = r.concurrency;
  for (const auto& r : rules->rules) retired_limits_.erase(r.name);
  rules_ = std::move(rules);
  release_waiting();  // an after:/requires: may have been dropped
  pump();  // concurrency limits may have changed
}

void Pipeline::set_workers(int workers) {
  scheduler_.set_workers(workers);
  pump();
}

void Pipeline::stop_starting() { starting_allowed_ = false; }

void Pipeline::kill_running(Duration grace) {
  killing_ = true;
  runner_.terminate_all(grace);
  if (lambda_runner_) lambda_runner_->terminate_all(grace);
}

// Counted from dispatch to the exit callback: a runner has forgotten a job (running() == 0) before
// the callback it posted has run.
std::size_t Pipeline::running() const { return in_flight_; }


void Pipeline::forget(Active& a) {
  const int64_t id = a.rec.id;
  auto by_key = active_by_key_.find(a.rec.key);
  if (by_key != active_by_key_.end() && by_key->second == id) active_by_key_.erase(by_key);
  if (a.in_flight == 0) active_.erase(id);  // `a` is gone from here on (else: its last run's end drops it)
  refresh_gauges();
}

void Pipeline::refresh_gauges() {
  stats_.m.jobs_queued.set(static_cast<double>(scheduler_.queued()));
  stats_.m.jobs_running.set(static_cast<double>(running() + rule_jobs_running_));
}

const Rule* Pipeline::rule_for(const Active& a, const std::string& name) const {
  return a.ruleset ? a.ruleset->find(name) : nullptr;
}

}  // namespace hivehook
