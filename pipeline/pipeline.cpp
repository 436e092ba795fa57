#include "pipeline/pipeline.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "pipeline/active.h"

namespace hivehook {

Pipeline::Pipeline(boost::asio::io_context& io, const Config& config, std::shared_ptr<const RuleSet> rules,
                   Store& store, CommitBatch& batch, PipelineStats& stats)
    : io_(io),
      config_(config),
      rules_(std::move(rules)),
      store_(store),
      batch_(batch),
      stats_(stats),
      runner_(io),
      scheduler_(config.workers) {
  std::error_code ec;  // where jobs write $HIVEHOOK_RESULT; a failure shows on the first run
  std::filesystem::create_directories(config_.state.parent_path() / "results", ec);
}

Pipeline::~Pipeline() { hash_pool_.join(); }

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
}

bool Pipeline::idle() const {
  return settling_.empty() && hashing_.empty() && active_.empty() && finishing_ == 0 && runner_.running() == 0;
}

void Pipeline::check_idle() {
  stats_.queued = scheduler_.queued();
  stats_.running = scheduler_.running();
  stats_.m.jobs_queued.set(static_cast<double>(stats_.queued));
  stats_.m.jobs_running.set(static_cast<double>(runner_.running()));
  if (on_idle && idle()) boost::asio::post(io_, [this] {
      if (on_idle && idle()) on_idle();
    });
}

}  // namespace hivehook
