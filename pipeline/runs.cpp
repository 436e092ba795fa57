// Runs: start what the scheduler allows, record each attempt, retry with backoff on timers.
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <fstream>
#include <spdlog/spdlog.h>
#include <sstream>

#include "jobs/backoff.h"
#include "jobs/job_context.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
constexpr int kExitDataErr = 65;        // EX_DATAERR: bad input, never retried
constexpr size_t kMaxResultBytes = 1 << 20;

int64_t now_ms() { return unix_ms(std::chrono::system_clock::now()); }

// The job's $HIVEHOOK_RESULT: one JSON object (stored as text), or an explanation.
std::string read_result(const std::filesystem::path& file, std::string* problem, bool* written) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return {};  // the job wrote none
  *written = true;
  if (size > kMaxResultBytes) {
    *problem = "result file larger than 1 MiB ignored";
    return {};
  }
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) {
    *problem = "result file is not JSON";
    return {};
  }
  return safe_dump(j);
}
}  // namespace

const Rule* Pipeline::rule_for(const Active& a, const std::string& name) const {
  return a.ruleset ? a.ruleset->find(name) : nullptr;
}

void Pipeline::pump() {
  if (!starting_allowed_) return;
  auto limit_of = [this](const std::string& rule) {
    if (const Rule* r = rules_->find(rule)) return r->concurrency;
    auto retired = retired_limits_.find(rule);
    return retired != retired_limits_.end() ? retired->second : 0;
  };
  while (auto t = scheduler_.pop(limit_of)) start_run(t->object_id, t->rule);
  stats_.queued = scheduler_.queued();
  stats_.running = scheduler_.running();
}

void Pipeline::start_run(int64_t object_id, const std::string& rule_name) {
  auto it = active_.find(object_id);
  if (it == active_.end()) {
    scheduler_.finished(rule_name);
    return;
  }
  Active& a = *it->second;
  TaskRecord* task = a.task(rule_name);
  const Rule* rule = rule_for(a, rule_name);
  if (!task) {
    scheduler_.finished(rule_name);
    return;
  }

  RunRecord run;
  run.run_id = new_uuid();
  run.object_id = object_id;
  run.key = a.rec.key;
  run.rule = rule_name;
  run.attempt = task->attempts + 1;
  run.started_at = now_ms();
  task->attempts = run.attempt;
  task->state = TaskState::running;
  task->next_at.reset();
  store_.insert_run(run);
  store_.update_task(*task);
  emit("run.started", a.rec.key, nullptr, rule_name, run.run_id, run.attempt);
  ++stats_.runs_started;
  stats_.m.runs_started.labels({rule_name}).inc();

  if (!rule) {
    ProcessResult r;
    r.error = "rule '" + rule_name + "' is no longer defined";
    on_run_exit(object_id, rule_name, run, {}, r);
    return;
  }

  RunContext ctx;
  ctx.key = a.key;
  ctx.path = a.path;
  ctx.bucket = config_.bucket;
  ctx.size = a.rec.size;
  ctx.etag = a.rec.etag;
  ctx.sequencer = a.rec.sequencer;
  ctx.event_time = SystemTime(std::chrono::milliseconds(a.rec.discovered_at));
  ctx.rule = rule_name;
  ctx.run_id = run.run_id;
  ctx.attempt = run.attempt;
  ctx.result_file = config_.state.parent_path() / "results" / (run.run_id + ".json");

  if (std::holds_alternative<BuiltinJob>(rule->job.kind)) {
    // builtin noop: nothing to spawn; the run succeeds in the same batch.
    ProcessResult r;
    r.spawned = true;
    r.exit_code = 0;
    on_run_exit(object_id, rule_name, run, {}, r);
    return;
  }

  ProcessSpec spec;
  spec.argv = job_argv(rule->job, ctx);
  spec.env = rule->job.env;
  for (auto& [k, v] : job_environment(ctx)) spec.env[k] = v;
  spec.cwd = rule->job.cwd;
  spec.stdin_data = s3_event_json(ctx);
  spec.timeout = rule->job.timeout;
  // The run is durable before the process exists.
  batch_.after_commit([this, object_id, rule_name, run, spec = std::move(spec), result_file = ctx.result_file]() mutable {
    if (killing_) {
      ProcessResult r;
      r.error = "daemon stopping";
      on_run_exit(object_id, rule_name, run, result_file, r);
      return;
    }
    // (The results folder exists since start-up, and a fresh run id names no earlier file.)
    int pid = runner_.start(std::move(spec), [this, object_id, rule_name, run, result_file](ProcessResult r) {
      run_pids_.erase(run.run_id);
      on_run_exit(object_id, rule_name, run, result_file, std::move(r));
    });
    if (pid > 0) run_pids_[run.run_id] = pid;
  });
}

void Pipeline::on_run_exit(int64_t object_id, std::string rule_name, RunRecord run,
                           std::filesystem::path result_file, ProcessResult r) {
  scheduler_.finished(rule_name);
  auto it = active_.find(object_id);
  if (it == active_.end()) return;
  Active& a = *it->second;
  TaskRecord* task = a.task(rule_name);
  const Rule* rule = rule_for(a, rule_name);

  run.ended_at = now_ms();
  run.duration_ms = r.duration.count() ? r.duration.count() : *run.ended_at - run.started_at;
  if (r.spawned && r.term_signal == 0 && !r.timed_out) run.exit_code = r.exit_code;
  if (r.term_signal) run.signal = r.term_signal;
  run.stdout_tail = std::move(r.stdout_tail);
  run.stderr_tail = std::move(r.stderr_tail);
  run.error = r.error;
  if (!result_file.empty()) {
    std::string problem;
    bool written = false;
    run.result = read_result(result_file, &problem, &written);
    if (!problem.empty()) run.error += (run.error.empty() ? "" : "; ") + problem;
    std::error_code ec;
    if (written) std::filesystem::remove(result_file, ec);
  }

  // Shutdown cut the run short: it is interrupted, not failed, and runs again after restart.
  if (killing_ && !(r.spawned && r.exit_code == 0 && !r.timed_out && r.term_signal == 0)) {
    run.state = RunState::interrupted;
    store_.finish_run(run);
    if (task) {
      task->state = TaskState::queued;
      task->interrupted += 1;
      store_.update_task(*task);
    }
    ++stats_.runs_interrupted;
    stats_.m.runs_finished.labels({rule_name, "interrupted"}).inc();
    emit("run.interrupted", a.rec.key, {{"reason", "daemon stopping"}}, rule_name, run.run_id, run.attempt);
    batch_.request();
    check_idle();
    return;
  }

  bool ok = r.spawned && !r.timed_out && r.term_signal == 0 && r.exit_code == 0;
  nlohmann::json detail = {{"duration_ms", *run.duration_ms}};
  if (run.exit_code) detail["exit_code"] = *run.exit_code;
  if (run.signal) detail["signal"] = *run.signal;
  if (!run.error.empty()) detail["error"] = run.error;
  if (!run.result.empty()) detail["result"] = nlohmann::json::parse(run.result, nullptr, false);

  stats_.m.run_duration.labels({rule_name}).observe(static_cast<double>(*run.duration_ms) / 1000.0);
  if (ok) {
    run.state = RunState::succeeded;
    ++stats_.runs_succeeded;
    stats_.m.runs_finished.labels({rule_name, "succeeded"}).inc();
    store_.finish_run(run);
    emit("run.succeeded", a.rec.key, detail, rule_name, run.run_id, run.attempt);
    if (task) {
      task->state = TaskState::succeeded;
      store_.update_task(*task);
    }
  } else {
    run.state = r.timed_out ? RunState::timed_out : RunState::failed;
    if (r.timed_out) ++stats_.runs_timed_out; else ++stats_.runs_failed;
    if (!r.spawned && run.error.empty()) run.error = "could not start the job";
    stats_.m.runs_finished.labels({rule_name, r.timed_out ? "timed_out" : "failed"}).inc();
    store_.finish_run(run);
    emit(r.timed_out ? "run.timed_out" : "run.failed", a.rec.key, detail, rule_name, run.run_id, run.attempt);
    a.failed_runs.push_back(run);
    int counted = task ? task->attempts - task->interrupted : run.attempt;
    bool data_error = r.spawned && run.exit_code && *run.exit_code == kExitDataErr;
    bool can_retry = task && rule && !data_error && r.spawned && counted <= rule->retries;
    if (can_retry) {
      Duration delay = backoff_delay(rule->backoff, counted, rng_);
      int64_t at = now_ms() + delay.count();
      task->state = TaskState::retry_wait;
      task->next_at = at;
      store_.update_task(*task);
      ++stats_.retries_scheduled;
      stats_.m.run_retries.labels({rule_name}).inc();
      emit("run.retry_scheduled", a.rec.key,
           {{"at", format_rfc3339_ms(SystemTime(std::chrono::milliseconds(at)))}, {"delay_ms", delay.count()}},
           rule_name, run.run_id, run.attempt);
      requeue_after(object_id, rule_name, at);
    } else if (task) {
      task->state = TaskState::failed;
      store_.update_task(*task);
    }
  }
  a.last_run = run;
  // A rule may ask to hear of every run, not only of the object's outcome.
  if (rule && rule->notify_each_run) {
    const auto& targets = run.state == RunState::succeeded ? rule->notify_success : rule->notify_failure;
    put_in_outbox(a, "run." + std::string(to_string(run.state)), rule_name, run, run.attempt,
                  std::string(to_string(run.state)), targets);
  }
  batch_.request();
  maybe_finish(object_id);
  pump();
  check_idle();
}

void Pipeline::requeue_after(int64_t object_id, const std::string& rule, int64_t at_ms) {
  auto key = std::make_pair(object_id, rule);
  auto timer = std::make_unique<boost::asio::steady_timer>(io_);
  timer->expires_after(std::chrono::milliseconds(std::max<int64_t>(0, at_ms - now_ms())));
  timer->async_wait([this, key](const boost::system::error_code& ec) {
    if (ec) return;
    retry_timers_.erase(key);
    auto it = active_.find(key.first);
    if (it == active_.end()) return;
    if (TaskRecord* t = it->second->task(key.second)) {
      t->state = TaskState::queued;
      t->next_at.reset();
      store_.update_task(*t);
      batch_.request();
    }
    scheduler_.push(key.first, key.second);
    pump();
  });
  retry_timers_[key] = std::move(timer);
}

}  // namespace hivehook
