// What a rule's job does alike when it runs for something other than one object — a batch of
// objects (batches.h) or a clock (schedules.h): its run row and `run.*` events, its start on the
// rule's runner once the store has committed, the outcome read back, the retry decision and the
// notification body. Object runs have their own path (runs.cpp: tasks, moves); all runs share one
// admission — `workers` in total and each rule's `concurrency` (Pipeline::queue_rule_job). One
// place for these, so batch and scheduled runs cannot drift apart. (Internal to pipeline/.)
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/timers.h"
#include "jobs/job_context.h"
#include "jobs/job_runner.h"
#include "pipeline/commit_batch.h"
#include "pipeline/pipeline.h"
#include "pipeline/stats.h"
#include "rules/rule.h"
#include "store/store.h"

namespace hivehook {

class RuleJobs {
 public:
  struct Seams {
    const Clock& clock;
    Timers& timers;
    JobRunner& runner;                   // command jobs (and lambda jobs while no lambda runner is set)
    JobRunner* lambda_runner = nullptr;  // `lambda:` jobs (warm execution environments), when set
  };
  RuleJobs(const Config& config, Store& store, CommitBatch& batch, PipelineStats& stats, Pipeline& pipeline,
           Seams seams);

  // Calls `start` once a worker is free for `rule` (Pipeline::queue_rule_job: `workers`, the rule's
  // `concurrency`, FIFO with object runs). A launch() inside `start` holds that slot until its job
  // ends; when `start` launches nothing (the batch or firing found nothing to run), the slot is
  // given back at once.
  void when_admitted(const std::string& rule, std::function<void()> start);
  // Attempt `attempt` of `rule`'s job: a run row (object_id 0; `key`: the batch's group, "" for a
  // schedule) inserted, its `run.started` event (with `detail`) and metric.
  RunRecord begin_run(const std::string& rule, const std::string& key, int attempt, nlohmann::json detail);
  // The request for `run`: argv from `ctx`, the rule's env plus `env`, cwd, timeout, `stdin_data`.
  JobRequest request(const Rule& r, const RunRecord& run, const RunContext& ctx,
                     const std::map<std::string, std::string>& env, std::string stdin_data) const;
  // Starts the job once the batch has committed, on the rule's runner; `done` runs on the loop with
  // the process result and `result` (the run's result file), then the worker slot it was admitted
  // with (when_admitted) is given back. A builtin job ends at once, inside this call, succeeded
  // (and with no result file).
  void launch(const Rule& r, JobRequest req, const std::filesystem::path& result,
              std::function<void(ProcessResult, std::filesystem::path)> done);
  // The file a run's job writes its result JSON to ($HIVEHOOK_RESULT).
  std::filesystem::path result_file(const RunRecord& run) const;
  // The outcome of an ended job into `run`: exit code, duration, output, error, result JSON.
  void read_outcome(RunRecord& run, ProcessResult& r, const std::filesystem::path& result_file) const;
  // Ends `run` in state `to`: its row, its `run.*` event (`detail`), the metrics and the REPORT log
  // line (`what` names it: "batch R G", "schedule R").
  void end_run(RunRecord& run, RunState to, nlohmann::json detail, const std::string& what);
  // A failed run (already ended): nullopt when it failed for good — the rule is gone, a data error
  // (exit 65), the job could not start, or `retries` are spent (`counted` attempts, those cut off by
  // a crash not counted) — else the backoff before the next attempt, with its metric and its
  // `run.retry_scheduled` event (`detail` plus at/delay_ms).
  std::optional<Duration> retry_after(const Rule* rule_now, const ProcessResult& r, const RunRecord& run, int counted,
                                      nlohmann::json detail);
  // One outbox record per target: the body's common fields (event, delivery_id, time, rule, bucket,
  // key null), `fields`, and, with a run, its run_id, attempts, duration_ms, exit_code, error and
  // result. `key`: the outbox row's key (a batch's group; none for a schedule).
  void notify(const std::vector<std::string>& targets, const std::string& rule, const std::string& event,
              const std::optional<std::string>& key, const nlohmann::json& fields, const RunRecord* run);
  std::size_t running() const { return in_flight_; }

  const Config config;
  Store& store;
  CommitBatch& batch;
  PipelineStats& stats;
  Pipeline& pipeline;
  const Clock& clock;
  Timers& timers;

 private:
  JobRunner& runner_;
  JobRunner* lambda_runner_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::size_t in_flight_ = 0;
  bool admitted_ = false;  // inside when_admitted's `start`: the next launch() takes its slot
};

}  // namespace hivehook
