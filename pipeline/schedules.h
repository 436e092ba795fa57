// `schedule:` rules (DESIGN.md "Orchestration"): a rule with no match whose job runs on a cron
// schedule, as an EventBridge Scheduler schedule invokes its target. The job gets an EventBridge
// `Scheduled Event` on stdin. Durable in the store (OrchestrationState): the scheduled time of each
// rule's last firing and the firing still open, so that
//   - a firing cut off by a crash runs again at start-up (at least once, as object runs);
//   - a firing that came due while the daemon was down runs once at start-up (`catch_up: true`,
//     the default), however many were missed, for the LATEST missed time (Airflow's
//     `catchup=False`: the latest interval; `schedule.fired` says `missed_since`, the oldest);
//     with `catch_up: false` they are skipped;
//   - a schedule seen for the first time fires at its next time, never for the past.
// A failed run is retried per the rule's `retries`/`backoff` (the retry time is stored); the
// rule's `on_success`/`on_failure` notify targets hear of the firing's outcome; a firing
// that comes due while the previous one is still open is skipped (`schedule.skipped`), as one
// target invocation at a time. A firing's run waits for a worker as object runs do: `workers` and
// the rule's `concurrency` hold for it too (it starts late when every worker is busy). A firing that
// failed for good runs again for its scheduled time when the operator asks (retry(): `hivehook
// retry --schedule`, pipeline/schedule_retry.h).
#pragma once

#include <set>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "base/timers.h"
#include "jobs/job_runner.h"
#include "pipeline/commit_batch.h"
#include "pipeline/pipeline.h"
#include "pipeline/rule_jobs.h"
#include "pipeline/stats.h"
#include "rules/rule.h"
#include "store/orchestration_state.h"
#include "store/store.h"

namespace hivehook {

class Schedules {
 public:
  using Seams = RuleJobs::Seams;
  Schedules(const Config& config, Store& store, CommitBatch& batch, PipelineStats& stats, Pipeline& pipeline,
            Seams seams);

  // Start-up, after the pipeline's recovery: open firings run again, missed ones catch up, every
  // schedule is armed for its next time.
  void start(std::shared_ptr<const RuleSet> rules);
  // A reload: schedules added, removed or changed are re-armed (a firing in flight ends as it is).
  void set_rules(std::shared_ptr<const RuleSet> rules);
  // Shutdown: no new firings or retries; a run that ends badly from now on is interrupted and runs
  // again at the next start.
  void stop();
  // Cluster mode: this node no longer leads (daemon/leadership.cpp): no new firings or retries here
  // (the new leader's start() takes the open firings up), a run in flight ends as it is. start()
  // again when leadership comes back.
  void pause();
  std::size_t running() const { return jobs_.running(); }
  // `retry --schedule` (pipeline/schedule_retry.h): each planned firing, failed for good, opens
  // again for its scheduled time and runs now — `schedule.retried` (the time, who asked, the run
  // that failed), then the usual run.* events; with request.dry_run only the plan. `rules`: the
  // rules in force, which the firing runs under when start() has not run (an offline retry, where
  // nothing else fires). (200, the plan as carried out) or (400|409|503, {"error"}). On the loop.
  std::pair<int, nlohmann::json> retry(const ReplayRequest& request, std::shared_ptr<const RuleSet> rules);
  // No firing of this node's in flight, queued for a worker or waiting out a retry's backoff (an
  // offline retry ends once it is).
  bool settled() const { return in_flight_.empty() && retry_.empty() && queued_ == 0; }
  // Firings that failed for good on this node since it started (an offline retry's exit code).
  std::size_t failures() const { return failures_; }

 private:
  void arm(const Rule& rule, SystemTime after);
  void resume_open_firing(const Rule& r, ScheduleRecord& row, SystemTime now);
  void catch_up_missed(const Rule& r, ScheduleRecord& row, SystemTime now);
  // `scheduled_for`: the time the event names; `covers_until`: every time up to this one is done
  // (a catch-up covers everything missed while down; `missed_since`: the oldest of those times).
  void fire(const std::string& rule, SystemTime scheduled_for, bool catch_up, SystemTime covers_until,
            std::optional<SystemTime> missed_since = std::nullopt);
  // Queues the open firing's next attempt for a worker; run_admitted() starts it once one is free.
  void start_run(const std::string& rule);
  void run_admitted(const std::string& rule);
  void on_exit(const std::string& rule, RunRecord run, const std::filesystem::path& result_file, ProcessResult r);
  const Rule* rule(const std::string& name) const;
  void notify(const Rule& r, const std::string& event, const RunRecord& run, const ScheduleRecord& row);

  RuleJobs jobs_;  // the run rows, job starts, outcomes, retries and notifications scheduled runs share with batches
  OrchestrationState state_;
  std::shared_ptr<const RuleSet> rules_;
  std::map<std::string, TimerHandle> next_;    // per rule: its next firing
  std::map<std::string, TimerHandle> retry_;   // per rule: its open firing's next attempt
  bool stopping_ = false;
  std::set<std::string> in_flight_;  // rules whose firing has a run in flight on this node
  std::size_t queued_ = 0;           // attempts waiting for a worker (start_run, not yet run_admitted)
  std::size_t failures_ = 0;         // firings failed for good since start
};

// The EventBridge `Scheduled Event` a scheduled job gets on stdin (AWS "EventBridge Scheduler:
// templated targets" / "Schedule expressions for rules"): version "0", id, detail-type
// "Scheduled Event", source "aws.events", account, time (the scheduled time, RFC 3339 seconds),
// region, resources [the rule's ARN], detail {} — plus a `hivehook` object {rule, run_id, attempt,
// scheduled_time, catch_up}.
nlohmann::json scheduled_event(const std::string& rule, const std::string& run_id, int attempt, SystemTime scheduled_for,
                               bool catch_up);

}  // namespace hivehook
