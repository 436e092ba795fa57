// Runs: start what the scheduler allows, record each attempt, retry with backoff on timers.
#include <fstream>
#include <spdlog/spdlog.h>
#include <sstream>

#include "jobs/backoff.h"
#include "jobs/job_context.h"
#include "pipeline/active.h"
#include "pipeline/run_outcome.h"

namespace hivehook {

void Pipeline::pump() {
  // A builtin noop run ends inside start_run, and its on_run_exit pumps: that inner call only asks
  // the outer one to look again, so thousands of noop tasks released at once take one loop, not a
  // stack frame per task (issue 14 retest 3 G2: 20,000 overflowed the daemon's stack).
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  auto limit_of = [this](const std::string& rule) {
    if (const Rule* r = rules_->find(rule)) return r->concurrency;
    auto retired = retired_limits_.find(rule);
    return retired != retired_limits_.end() ? retired->second : 0;
  };
  {
    pumping_ = true;
    struct Done {
      bool& flag;
      ~Done() { flag = false; }  // also when a start throws
    } done{pumping_};
    do {
      pump_again_ = false;
      // No new runs while the state DB cannot record them (checked before each start: a run that
      // ended in this loop may have found the store failing).
      while (starting_allowed_ && !store_.fault()) {
        auto t = scheduler_.pop(limit_of);
        if (!t) break;
        if (t->job == 0) {
          start_run(t->object_id, t->rule);
          continue;
        }
        auto job = rule_jobs_queued_.extract(t->job);
        ++rule_jobs_running_;
        if (job.empty()) rule_job_ended(t->rule);  // (cannot happen: a ticket is queued once)
        else job.mapped()();
      }
    } while (pump_again_ && starting_allowed_ && !store_.fault());
  }
  if (!starting_allowed_ || store_.fault()) return;
  if (scheduler_.waiting_for_slots() && !slot_wait_armed_) {
    slot_wait_armed_ = true;
    slot_wait_ = timers_.after(kSlotWait, [this] {
      slot_wait_armed_ = false;
      pump();
    });
  }
  refresh_gauges();
}

void Pipeline::queue_rule_job(const std::string& rule, std::function<void()> start) {
  const uint64_t ticket = next_rule_job_++;
  rule_jobs_queued_.emplace(ticket, std::move(start));
  scheduler_.push_job(ticket, rule);
  pump();
}

void Pipeline::rule_job_ended(const std::string& rule) {
  scheduler_.finished(rule);
  if (rule_jobs_running_ > 0) --rule_jobs_running_;
  pump();
}

void Pipeline::share_concurrency(std::function<bool(const std::string&, int)> claim,
                                 std::function<void(const std::string&)> release) {
  scheduler_.claim = std::move(claim);
  scheduler_.release = std::move(release);
}

void Pipeline::start_run(int64_t object_id, const std::string& rule_name) {
  auto it = active_.find(object_id);
  TaskRecord* task = it == active_.end() ? nullptr : it->second->task(rule_name);
  // Superseded or vanished meanwhile: its queued tasks are dropped. And the file at the key must
  // still be the object's, so the eTag a job is told matches the bytes at {path}.
  if (!task || is_terminal(it->second->rec.state) ||
      !still_there(*it->second, [this, object_id, rule_name] {  // its metadata changed: looked at again
        scheduler_.push(object_id, rule_name);
        pump();
      })) {
    scheduler_.finished(rule_name);
    return;
  }
  Active& a = *it->second;
  RunRecord run;
  run.run_id = new_uuid();
  run.object_id = object_id;
  run.key = a.rec.key;
  run.rule = rule_name;
  run.attempt = task->attempts + 1;
  run.started_at = clock_.now_ms();
  if (!a.first_run_ms) a.first_run_ms = run.started_at;
  task->attempts = run.attempt;
  task->next_at.reset();
  record_run_start(run);
  task_transition(a, *task, TaskState::running);

  const Rule* rule = rule_for(a, rule_name);
  if (!rule) {
    ProcessResult r;
    r.error = "rule '" + rule_name + "' is no longer defined";
    return on_run_exit(object_id, rule_name, run, {}, r);
  }
  if (std::holds_alternative<BuiltinJob>(rule->job.kind)) {
    ProcessResult r;  // builtin noop: nothing to spawn; the run succeeds in the same batch
    r.spawned = true;
    r.exit_code = 0;
    return on_run_exit(object_id, rule_name, run, {}, r);
  }
  dispatch(a, *rule, run);
}

// Builds what the job is told and hands it to its runner once the run is durable.
void Pipeline::dispatch(Active& a, const Rule& rule, const RunRecord& run) {
  RunContext ctx;
  ctx.key = a.key;
  ctx.path = a.path;
  ctx.bucket = config_.bucket;
  if (config_.s3) ctx.region = config_.s3->region;
  ctx.size = a.rec.size;
  ctx.etag = a.rec.etag;
  ctx.sequencer = a.rec.sequencer;
  ctx.upload = files_.upload_event(a.key.key, {a.rec.inode, a.rec.size, a.rec.mtime_ns, a.rec.ctime_ns});
  ctx.event_time = SystemTime(std::chrono::milliseconds(a.rec.discovered_at));
  ctx.rule = run.rule;
  ctx.run_id = run.run_id;
  ctx.attempt = run.attempt;
  ctx.result_file = config_.state_dir / "results" / (run.run_id + ".json");

  JobRequest req;
  req.job = rule.job;
  req.rule = run.rule;
  req.run_id = run.run_id;
  req.attempt = run.attempt;
  req.process.argv = job_argv(rule.job, ctx);
  req.process.env = rule.job.env;
  for (auto& [k, v] : job_environment(ctx)) req.process.env[k] = v;
  req.process.inherit = rule.job.inherit_env;
  req.process.inherit_all = rule.job.inherit_all;
  req.process.never_inherit = config_.secret_env;
  req.process.cwd = rule.job.cwd;
  req.process.stdin_data = s3_event_json(ctx);
  req.process.timeout = rule.job.timeout;
  JobRunner& runner = lambda_runner_ && std::holds_alternative<LambdaJob>(rule.job.kind) ? *lambda_runner_ : runner_;
  batch_.after_commit([this, &runner, id = a.rec.id, run, req = std::move(req), result = ctx.result_file]() mutable {
    if (killing_) {
      ProcessResult r;
      r.error = "daemon stopping";
      return on_run_exit(id, run.rule, run, result, r);
    }
    // (The results folder exists since start-up, and a fresh run id names no earlier file.)
    ++in_flight_;
    if (auto it = active_.find(id); it != active_.end()) ++it->second->in_flight;
    ChildIdentity child = runner.start(std::move(req), [this, id, run, result](ProcessResult r) {
      --in_flight_;
      if (auto it = active_.find(id); it != active_.end()) --it->second->in_flight;
      on_run_exit(id, run.rule, run, result, r);
    });
    if (child.pid > 0) record_process(run, child);
  });
}

// The run's process, so that recovery after a crash can find (and kill) what is left of it.
void Pipeline::record_process(RunRecord run, const ChildIdentity& child) {
  run.pid = child.pid;
  run.pgid = child.pgid;
  if (child.start_time) run.proc_start = static_cast<int64_t>(child.start_time);
  store_.record_run_process(run);
  batch_.request();
}

void Pipeline::on_run_exit(int64_t object_id, const std::string& rule_name, RunRecord run,
                           const std::filesystem::path& result_file, ProcessResult r) {
  scheduler_.finished(rule_name);
  auto it = active_.find(object_id);
  if (it == active_.end()) return;
  Active& a = *it->second;
  TaskRecord* task = a.task(rule_name);
  const Rule* rule = rule_for(a, rule_name);
  fill_outcome(run, r, clock_.now_ms());
  if (!result_file.empty()) {
    std::string problem;
    run.result = take_result(result_file, &problem);
    if (!problem.empty()) run.error += (run.error.empty() ? "" : "; ") + problem;
  }
  // Shutdown cut the run short: it is interrupted, not failed, and runs again after restart.
  if (killing_ && !succeeded(r)) {
    record_interrupted(a, task, run, "daemon stopping");
    return refresh_gauges();
  }
  if (succeeded(r)) {
    run_transition(run, RunState::succeeded, run_detail(run));
    if (task) {
      task_transition(a, *task, TaskState::succeeded);
      on_task_ended(a, *task);
    }
  } else {
    record_run_failure(a, task, rule, run, r, run_detail(run));
  }
  a.last_run = run;
  if (is_terminal(a.rec.state)) {  // superseded or vanished while it ran: the run is kept, nothing follows
    forget(a);
    return pump();
  }
  // A rule may ask to hear of every run, not only of the object's outcome.
  if (rule && rule->notify_each_run) {
    const auto& targets = run.state == RunState::succeeded ? rule->notify_success : rule->notify_failure;
    put_in_outbox(a, "run." + std::string(to_string(run.state)), rule_name, run, run.attempt,
                  std::string(to_string(run.state)), targets);
  }
  maybe_finish(object_id);
  pump();
}

void Pipeline::record_interrupted(Active& a, TaskRecord* task, RunRecord& run, const std::string& why) {
  run_transition(run, RunState::interrupted, {{"reason", why}});
  if (!task) return;
  task->interrupted += 1;
  task_transition(a, *task, TaskState::queued);
}

// A failed or timed-out run: retried with backoff while the rule allows, else the task failed.
void Pipeline::record_run_failure(Active& a, TaskRecord* task, const Rule* rule, RunRecord& run,
                                  const ProcessResult& r, nlohmann::json detail) {
  if (!r.spawned && run.error.empty()) run.error = "could not start the job";
  run_transition(run, r.timed_out ? RunState::timed_out : RunState::failed, std::move(detail));
  a.failed_runs.push_back(run);
  if (!task) return;
  int counted = task->attempts - task->interrupted;
  bool data_error = r.spawned && run.exit_code && *run.exit_code == kExitDataErr;
  if (!rule || data_error || !r.spawned || counted > rule->retries || is_terminal(a.rec.state)) {
    task_transition(a, *task, TaskState::failed);
    if (!is_terminal(a.rec.state)) on_task_ended(a, *task);  // superseded or vanished: nothing follows
    return;
  }
  Duration delay = backoff_delay(rule->backoff, counted, rng_);
  int64_t at = clock_.now_ms() + delay.count();
  task->next_at = at;
  task_transition(a, *task, TaskState::retry_wait);
  stats_.m.run_retries.labels({run.rule}).inc();
  emit("run.retry_scheduled", a.rec.key,
       {{"at", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(at)))}, {"delay_ms", delay.count()}}, run.rule,
       run.run_id, run.attempt);
  requeue_after(a.rec.id, run.rule, at);
}

void Pipeline::requeue_after(int64_t object_id, const std::string& rule, int64_t at_ms) {
  auto key = std::make_pair(object_id, rule);
  Duration wait(std::max<int64_t>(0, at_ms - clock_.now_ms()));
  retry_timers_[key] = timers_.after(wait, [this, key] {
    auto timer = retry_timers_.extract(key);  // the handle dies after this callback returns
    auto it = active_.find(key.first);
    if (it == active_.end()) return;
    if (TaskRecord* t = it->second->task(key.second)) {
      t->next_at.reset();
      task_transition(*it->second, *t, TaskState::queued);
    }
    scheduler_.push(key.first, key.second);
    pump();
  });
}

}  // namespace hivehook
