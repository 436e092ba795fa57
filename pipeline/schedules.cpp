#include "pipeline/schedules.h"

#include <algorithm>
#include <spdlog/spdlog.h>

#include "jobs/backoff.h"
#include "jobs/job_context.h"
#include "orchestration/time_zone.h"
#include "pipeline/run_outcome.h"

namespace hivehook {

namespace {
constexpr const char* kAccount = "000000000000";  // a local stand-in, as LocalStack uses
constexpr const char* kRegion = "us-east-1";

std::string rfc3339_seconds(SystemTime t) {
  std::string ms = format_rfc3339_ms(t);  // 2026-11-30T02:00:00.000Z
  return ms.size() > 5 ? ms.substr(0, ms.size() - 5) + "Z" : ms;
}
SystemTime from_ms(int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }

// A schedule's row with nothing open: every time up to `covered_ms` is done.
ScheduleRecord closed_row(const std::string& rule, int64_t covered_ms) {
  ScheduleRecord r;
  r.rule = rule;
  r.last_fired_for = covered_ms;
  return r;
}
}  // namespace

nlohmann::json scheduled_event(const std::string& rule, const std::string& run_id, int attempt, SystemTime scheduled_for,
                               bool catch_up) {
  return {{"version", "0"},
          {"id", run_id},
          {"detail-type", "Scheduled Event"},
          {"source", "aws.events"},
          {"account", kAccount},
          {"time", rfc3339_seconds(scheduled_for)},
          {"region", kRegion},
          {"resources", nlohmann::json::array({std::string("arn:aws:events:") + kRegion + ":" + kAccount + ":rule/" + rule})},
          {"detail", nlohmann::json::object()},
          {"hivehook",
           {{"rule", rule},
            {"run_id", run_id},
            {"attempt", attempt},
            {"scheduled_time", format_rfc3339_ms(scheduled_for)},
            {"catch_up", catch_up}}}};
}

Schedules::Schedules(const Config& config, Store& store, CommitBatch& batch, PipelineStats& stats, Pipeline& pipeline,
                     Seams seams)
    : config_(config),
      store_(store),
      state_(store),
      batch_(batch),
      stats_(stats),
      pipeline_(pipeline),
      clock_(seams.clock),
      timers_(seams.timers),
      runner_(seams.runner),
      lambda_runner_(seams.lambda_runner) {}

const Rule* Schedules::rule(const std::string& name) const {
  const Rule* r = rules_ ? rules_->find(name) : nullptr;
  return r && r->schedule ? r : nullptr;
}

void Schedules::start(std::shared_ptr<const RuleSet> rules) {
  rules_ = std::move(rules);
  const SystemTime now = clock_.now();
  for (const auto& r : rules_->rules) {
    if (!r.schedule) continue;
    auto row = state_.schedule(r.name);
    if (!row) {  // first sight: a baseline, nothing fires for the past
      pipeline_.emit("schedule.added", std::nullopt, {{"schedule", r.schedule->cron.text()}}, r.name);
      row = closed_row(r.name, unix_ms(now));
      state_.put_schedule(*row);
    }
    if (row->open) {
      // A firing not ended before the daemon stopped: it runs again (a new attempt).
      // It is the firing of this start: it also covers the times missed while down (one firing).
      pipeline_.emit("schedule.resumed", std::nullopt,
                     {{"scheduled_time", format_rfc3339_ms(from_ms(row->open_for))}, {"attempts", row->attempts}},
                     r.name);
      if (!row->next_at) row->interrupted += 1;  // cut off, not failed: not held against retries
      row->last_fired_for = std::max<int64_t>(row->last_fired_for, unix_ms(now));
      state_.put_schedule(*row);
      const int64_t at = row->next_at.value_or(0);
      if (at <= unix_ms(now)) {
        start_run(r.name);
      } else {
        retry_[r.name] = timers_.after(Duration(at - unix_ms(now)), [this, name = r.name] {
          retry_.erase(name);
          start_run(name);
        });
      }
    } else if (auto due = next_firing(r.schedule->cron, r.timezone, from_ms(row->last_fired_for)); due && *due <= now) {
      if (r.schedule->catch_up) {
        // Once, however many were missed, for the LATEST missed time (Airflow's catchup=False: the
        // latest interval; a nightly refresh wants today's, not the oldest day's). It covers them all.
        auto latest = last_firing_between(r.schedule->cron, r.timezone, from_ms(row->last_fired_for), now);
        fire(r.name, latest.value_or(*due), true, now, *due);
      } else {
        pipeline_.emit("schedule.skipped", std::nullopt,
                       {{"scheduled_time", format_rfc3339_ms(*due)}, {"reason", "missed while the daemon was down (catch_up: false)"}},
                       r.name);
        row->last_fired_for = unix_ms(now);
        state_.put_schedule(*row);
      }
    }
    arm(r, now);
  }
  batch_.request();
}

void Schedules::set_rules(std::shared_ptr<const RuleSet> rules) {
  rules_ = std::move(rules);
  next_.clear();
  const SystemTime now = clock_.now();
  for (const auto& r : rules_->rules) {
    if (!r.schedule) continue;
    if (!state_.schedule(r.name)) {
      pipeline_.emit("schedule.added", std::nullopt, {{"schedule", r.schedule->cron.text()}}, r.name);
      state_.put_schedule(closed_row(r.name, unix_ms(now)));
    }
    arm(r, now);
  }
  batch_.request();
}

void Schedules::stop() {
  stopping_ = true;
  next_.clear();
  retry_.clear();
}

void Schedules::arm(const Rule& r, SystemTime after) {
  auto next = next_firing(r.schedule->cron, r.timezone, after);
  if (!next) return;  // never fires (check refuses such expressions)
  // Rounded up: a firing never starts before its time (truncated, it could by up to 1 ms).
  Duration wait = std::chrono::ceil<Duration>(*next - clock_.now());
  next_[r.name] = timers_.after(std::max(wait, Duration(0)), [this, name = r.name, at = *next] {
    next_.erase(name);
    const Rule* now_rule = rule(name);
    if (!now_rule || stopping_) return;
    fire(name, at, false, at);
    arm(*now_rule, at);
  });
}

void Schedules::fire(const std::string& name, SystemTime scheduled_for, bool catch_up, SystemTime covers_until,
                     std::optional<SystemTime> missed_since) {
  if (stopping_) return;
  auto row = state_.schedule(name).value_or(closed_row(name, 0));
  if (row.open) {
    pipeline_.emit("schedule.skipped", std::nullopt,
                   {{"scheduled_time", format_rfc3339_ms(scheduled_for)}, {"reason", "the previous firing is still open"}},
                   name);
    return;
  }
  nlohmann::json detail = {{"scheduled_time", format_rfc3339_ms(scheduled_for)}, {"catch_up", catch_up}};
  if (missed_since) detail["missed_since"] = format_rfc3339_ms(*missed_since);  // the oldest time it stands for
  pipeline_.emit("schedule.fired", std::nullopt, std::move(detail), name);
  row.last_fired_for = unix_ms(covers_until);
  row.open = true;
  row.open_for = unix_ms(scheduled_for);
  row.catch_up = catch_up;
  row.attempts = 0;
  row.interrupted = 0;
  row.next_at.reset();
  state_.put_schedule(row);
  start_run(name);
}

void Schedules::start_run(const std::string& name) {
  const Rule* r = rule(name);
  auto row = state_.schedule(name);
  if (stopping_ || !row || !row->open) return;
  if (!r) {  // the rule was removed while its firing was open: the firing ends
    pipeline_.emit("schedule.removed", std::nullopt, nullptr, name);
    row->open = false;
    state_.put_schedule(*row);
    return;
  }
  RunRecord run;
  run.run_id = new_uuid();
  run.object_id = 0;  // no object: a scheduled run
  run.rule = name;
  run.attempt = row->attempts + 1;
  run.started_at = clock_.now_ms();
  store_.insert_run(run);
  pipeline_.emit("run.started", std::nullopt, nullptr, name, run.run_id, run.attempt);
  stats_.m.runs_started.labels({name}).inc();
  row->attempts = run.attempt;
  row->next_at.reset();
  state_.put_schedule(*row);
  batch_.request();

  const SystemTime scheduled_for = from_ms(row->open_for);
  const std::filesystem::path result = config_.state_dir / "results" / (run.run_id + ".json");
  if (std::holds_alternative<BuiltinJob>(r->job.kind)) {
    ProcessResult ok;
    ok.spawned = true;
    ok.exit_code = 0;
    return on_exit(name, run, {}, ok);
  }
  RunContext ctx;  // no object: only the rule, the run and the bucket are known
  ctx.bucket = config_.bucket;
  ctx.rule = name;
  ctx.run_id = run.run_id;
  ctx.attempt = run.attempt;
  ctx.event_time = scheduled_for;
  ctx.result_file = result;
  JobRequest req;
  req.job = r->job;
  req.rule = name;
  req.run_id = run.run_id;
  req.attempt = run.attempt;
  req.process.argv = job_argv(r->job, ctx);
  req.process.env = r->job.env;
  req.process.env["HIVEHOOK_RULE"] = name;
  req.process.env["HIVEHOOK_RUN_ID"] = run.run_id;
  req.process.env["HIVEHOOK_ATTEMPT"] = std::to_string(run.attempt);
  req.process.env["HIVEHOOK_BUCKET"] = config_.bucket;
  req.process.env["HIVEHOOK_RESULT"] = result.string();
  req.process.env["HIVEHOOK_SCHEDULED_TIME"] = format_rfc3339_ms(scheduled_for);
  req.process.cwd = r->job.cwd;
  req.process.stdin_data = safe_dump(scheduled_event(name, run.run_id, run.attempt, scheduled_for, row->catch_up));
  req.process.timeout = r->job.timeout;
  JobRunner& runner = lambda_runner_ && std::holds_alternative<LambdaJob>(r->job.kind) ? *lambda_runner_ : runner_;
  batch_.after_commit([this, &runner, name, run, req = std::move(req), result]() mutable {
    ++in_flight_;
    runner.start(std::move(req), [this, name, run, result](ProcessResult pr) {
      --in_flight_;
      on_exit(name, run, result, std::move(pr));
    });
  });
}

// The rule's on_success / on_failure targets, told of a firing's outcome (same body fields as an
// object's notification; `key` is null, `scheduled_time` says which firing).
void Schedules::notify(const Rule& r, const std::string& event, const RunRecord& run, const ScheduleRecord& row) {
  const bool ok = run.state == RunState::succeeded;
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  for (const auto& target : ok ? r.notify_success : r.notify_failure) {
    OutboxRecord o;
    o.delivery_id = new_uuid();
    o.target = target;
    o.event = event;
    o.rule = r.name;
    nlohmann::json body = {
        {"event", event},
        {"delivery_id", o.delivery_id},
        {"time", format_rfc3339_ms(clock_.now())},
        {"rule", r.name},
        {"bucket", config_.bucket},
        {"key", nullptr},
        {"scheduled_time", format_rfc3339_ms(from_ms(row.open_for))},
        {"run_id", run.run_id},
        {"attempts", run.attempt},
        {"duration_ms", opt(run.duration_ms)},
        {"exit_code", opt(run.exit_code)},
        {"error", run.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(run.error)},
        {"result", run.result.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(run.result, nullptr, false)},
        {"outcome", ok ? "succeeded" : "failed"}};
    o.body = safe_dump(body);
    o.next_at = clock_.now_ms();
    store_.enqueue_outbox(o);
  }
}

void Schedules::on_exit(const std::string& name, RunRecord run, const std::filesystem::path& result_file,
                        ProcessResult r) {
  fill_outcome(run, r, clock_.now_ms());
  if (!result_file.empty()) {
    std::string problem;
    run.result = take_result(result_file, &problem);
    if (!problem.empty()) run.error += (run.error.empty() ? "" : "; ") + problem;
  }
  auto row = state_.schedule(name).value_or(closed_row(name, 0));
  auto finish = [&](RunState to, nlohmann::json detail) {
    run.state = to;
    store_.finish_run(run);
    pipeline_.emit(std::string(run_event(to)), std::nullopt, std::move(detail), name, run.run_id, run.attempt);
    stats_.m.runs_finished.labels({name, std::string(to_string(to))}).inc();
    if (run.duration_ms && to != RunState::interrupted)
      stats_.m.run_duration.labels({name}).observe(static_cast<double>(*run.duration_ms) / 1000.0);
    spdlog::info("schedule {}: run -> {} | REPORT rule={} attempt={} run_id={} duration_ms={}", name, to_string(to),
                 name, run.attempt, run.run_id, run.duration_ms.value_or(0));
  };
  if (stopping_ && !succeeded(r)) {
    finish(RunState::interrupted, {{"reason", "daemon stopping"}});
    row.interrupted += 1;
    row.next_at = clock_.now_ms();  // counted here: the next start runs it again at once
    state_.put_schedule(row);  // still open: runs again at the next start
    batch_.request();
    return;
  }
  const Rule* rule_now = rule(name);
  if (succeeded(r)) {
    finish(RunState::succeeded, run_detail(run));
    row.open = false;
    state_.put_schedule(row);
    if (rule_now) notify(*rule_now, "schedule.succeeded", run, row);
    pipeline_.note_rule_success(name, 0);  // `requires:` may name a schedule rule
  } else {
    if (!r.spawned && run.error.empty()) run.error = "could not start the job";
    finish(r.timed_out ? RunState::timed_out : RunState::failed, run_detail(run));
    const int counted = row.attempts - row.interrupted;
    const bool data_error = r.spawned && run.exit_code && *run.exit_code == kExitDataErr;
    if (!rule_now || data_error || !r.spawned || counted > rule_now->retries || stopping_) {
      row.open = false;  // failed for good; the next firing comes at its time
      state_.put_schedule(row);
      pipeline_.emit("schedule.failed", std::nullopt, {{"scheduled_time", format_rfc3339_ms(from_ms(row.open_for))}},
                     name, run.run_id, run.attempt);
      if (rule_now) notify(*rule_now, "schedule.failed", run, row);
    } else {
      Duration delay = backoff_delay(rule_now->backoff, counted, rng_);
      row.next_at = clock_.now_ms() + delay.count();
      state_.put_schedule(row);
      stats_.m.run_retries.labels({name}).inc();
      pipeline_.emit("run.retry_scheduled", std::nullopt,
                     {{"at", format_rfc3339_ms(from_ms(*row.next_at))}, {"delay_ms", delay.count()}}, name, run.run_id,
                     run.attempt);
      retry_[name] = timers_.after(delay, [this, name] {
        retry_.erase(name);
        start_run(name);
      });
    }
  }
  batch_.request();
}

}  // namespace hivehook
