#include "pipeline/rule_jobs.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "jobs/backoff.h"
#include "pipeline/run_outcome.h"

namespace hivehook {

RuleJobs::RuleJobs(const Config& config_in, Store& store_in, CommitBatch& batch_in, PipelineStats& stats_in,
                   Pipeline& pipeline_in, Seams seams)
    : config(config_in),
      store(store_in),
      batch(batch_in),
      stats(stats_in),
      pipeline(pipeline_in),
      clock(seams.clock),
      timers(seams.timers),
      runner_(seams.runner),
      lambda_runner_(seams.lambda_runner) {}

RunRecord RuleJobs::begin_run(const std::string& rule, const std::string& key, int attempt, nlohmann::json detail) {
  RunRecord run;
  run.run_id = new_uuid();
  run.object_id = 0;  // no single object: a batch or a scheduled run
  run.key = key;
  run.rule = rule;
  run.attempt = attempt;
  run.started_at = clock.now_ms();
  store.insert_run(run);
  pipeline.emit("run.started", std::nullopt, std::move(detail), rule, run.run_id, run.attempt);
  stats.m.runs_started.labels({rule}).inc();
  return run;
}

std::filesystem::path RuleJobs::result_file(const RunRecord& run) const {
  return config.state_dir / "results" / (run.run_id + ".json");
}

JobRequest RuleJobs::request(const Rule& r, const RunRecord& run, const RunContext& ctx,
                             const std::map<std::string, std::string>& env, std::string stdin_data) const {
  JobRequest req;
  req.job = r.job;
  req.rule = run.rule;
  req.run_id = run.run_id;
  req.attempt = run.attempt;
  req.process.argv = job_argv(r.job, ctx);
  req.process.env = r.job.env;
  for (const auto& [k, v] : env) req.process.env[k] = v;
  req.process.cwd = r.job.cwd;
  req.process.stdin_data = std::move(stdin_data);
  req.process.timeout = r.job.timeout;
  return req;
}

void RuleJobs::when_admitted(const std::string& rule, std::function<void()> start) {
  pipeline.queue_rule_job(rule, [this, rule, start = std::move(start)] {
    admitted_ = true;
    start();
    if (std::exchange(admitted_, false)) pipeline.rule_job_ended(rule);  // it launched nothing
  });
}

void RuleJobs::launch(const Rule& r, JobRequest req, const std::filesystem::path& result,
                      std::function<void(ProcessResult, std::filesystem::path)> done_in) {
  // The slot this run was admitted with is given back after its outcome is recorded.
  auto done = [this, holds = std::exchange(admitted_, false), rule = req.rule, done_in = std::move(done_in)](
                  ProcessResult pr, std::filesystem::path file) {
    done_in(std::move(pr), std::move(file));
    if (holds) pipeline.rule_job_ended(rule);
  };
  if (std::holds_alternative<BuiltinJob>(r.job.kind)) {
    ProcessResult ok;
    ok.spawned = true;
    ok.exit_code = 0;
    return done(ok, {});
  }
  JobRunner& runner = lambda_runner_ && std::holds_alternative<LambdaJob>(r.job.kind) ? *lambda_runner_ : runner_;
  batch.after_commit([this, &runner, req = std::move(req), done = std::move(done), result]() mutable {
    ++in_flight_;
    runner.start(std::move(req), [this, done = std::move(done), result](ProcessResult pr) {
      --in_flight_;
      done(std::move(pr), result);
    });
  });
}

void RuleJobs::read_outcome(RunRecord& run, ProcessResult& r, const std::filesystem::path& result_file) const {
  fill_outcome(run, r, clock.now_ms());
  if (result_file.empty()) return;
  std::string problem;
  run.result = take_result(result_file, &problem);
  if (!problem.empty()) run.error += (run.error.empty() ? "" : "; ") + problem;
}

void RuleJobs::end_run(RunRecord& run, RunState to, nlohmann::json detail, const std::string& what) {
  run.state = to;
  store.finish_run(run);
  pipeline.emit(std::string(run_event(to)), std::nullopt, std::move(detail), run.rule, run.run_id, run.attempt);
  report_run_end(stats, run, what + ": run -> " + std::string(to_string(to)));
}

std::optional<Duration> RuleJobs::retry_after(const Rule* rule_now, const ProcessResult& r, const RunRecord& run,
                                              int counted, nlohmann::json detail) {
  const bool data_error = r.spawned && run.exit_code && *run.exit_code == kExitDataErr;
  if (!rule_now || data_error || !r.spawned || counted > rule_now->retries) return std::nullopt;
  const Duration delay = backoff_delay(rule_now->backoff, counted, rng_);
  stats.m.run_retries.labels({run.rule}).inc();
  detail["at"] = format_rfc3339_ms(clock.now() + delay);
  detail["delay_ms"] = delay.count();
  pipeline.emit("run.retry_scheduled", std::nullopt, std::move(detail), run.rule, run.run_id, run.attempt);
  return delay;
}

void RuleJobs::notify(const std::vector<std::string>& targets, const std::string& rule, const std::string& event,
                      const std::optional<std::string>& key, const nlohmann::json& fields, const RunRecord* run) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  for (const auto& target : targets) {
    nlohmann::json body = {{"event", event},
                           {"time", format_rfc3339_ms(clock.now())},
                           {"rule", rule},
                           {"bucket", config.bucket},
                           {"key", nullptr}};
    for (auto it = fields.begin(); it != fields.end(); ++it) body[it.key()] = it.value();
    if (run) {
      body["run_id"] = run->run_id;
      body["attempts"] = run->attempt;
      body["duration_ms"] = opt(run->duration_ms);
      body["exit_code"] = opt(run->exit_code);
      body["error"] = run->error.empty() ? nlohmann::json(nullptr) : nlohmann::json(run->error);
      body["result"] = run->result.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(run->result, nullptr, false);
    }
    store.enqueue_outbox(outbox_row(target, event, key, rule, std::move(body), clock.now_ms()));
  }
}

}  // namespace hivehook
