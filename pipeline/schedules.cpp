#include "pipeline/schedules.h"

#include <algorithm>
#include <spdlog/spdlog.h>

#include "orchestration/time_zone.h"
#include "pipeline/run_outcome.h"
#include "pipeline/schedule_retry.h"
#include "store/queries.h"

namespace hivehook {

namespace {
constexpr const char* kAccount = "000000000000";  // a local stand-in, as LocalStack uses
constexpr const char* kRegion = "us-east-1";
// Missed firings counted one by one up to this many (an every-second schedule down for a day
// missed 86,400); past it, `schedule.skipped` says "at least" (missed_at_least).
constexpr std::size_t kMissedCountLimit = 100000;

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
// `schedule.added`: the expression, its zone and its first firing time (F6 of issue 14's new-user
// test: the event said only the expression).
nlohmann::json added_detail(const Rule& r, SystemTime now) {
  auto next = next_firing(r.schedule->cron, r.timezone, now);
  return {{"schedule", r.schedule->cron.text()},
          {"timezone", r.timezone.name()},
          {"next", next ? nlohmann::json(format_rfc3339_ms(*next)) : nlohmann::json(nullptr)}};
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
    : jobs_(config, store, batch, stats, pipeline, seams), state_(store) {}

const Rule* Schedules::rule(const std::string& name) const {
  const Rule* r = rules_ ? rules_->find(name) : nullptr;
  return r && r->schedule ? r : nullptr;
}

// A firing not ended before the daemon stopped: it runs again (a new attempt). It is the firing
// of this start: it also covers the times missed while down (one firing).
void Schedules::resume_open_firing(const Rule& r, ScheduleRecord& row, SystemTime now) {
  nlohmann::json resumed = {{"scheduled_time", format_rfc3339_ms(from_ms(row.open_for))}, {"attempts", row.attempts}};
  // The times that came due while the daemon was down behind this open firing: it stands for
  // them, and says so (issue 14, F7 of the new-user test: they left no trace at all).
  const SystemTime covered = from_ms(std::max(row.last_fired_for, row.open_for));
  if (auto first = next_firing(r.schedule->cron, r.timezone, covered); first && *first <= now) {
    const std::size_t missed = count_firings_between(r.schedule->cron, r.timezone, covered, now, kMissedCountLimit);
    resumed["missed"] = missed;
    if (missed >= kMissedCountLimit) resumed["missed_at_least"] = true;
    resumed["missed_since"] = format_rfc3339_ms(*first);
    resumed["missed_until"] = format_rfc3339_ms(last_firing_between(r.schedule->cron, r.timezone, covered, now).value_or(*first));
  }
  jobs_.pipeline.emit("schedule.resumed", std::nullopt, std::move(resumed), r.name);
  if (!row.next_at) row.interrupted += 1;  // cut off, not failed: not held against retries
  row.last_fired_for = std::max<int64_t>(row.last_fired_for, unix_ms(now));
  state_.put_schedule(row);
  const int64_t at = row.next_at.value_or(0);
  if (at <= unix_ms(now)) {
    start_run(r.name);
  } else {
    retry_[r.name] = jobs_.timers.after(Duration(at - unix_ms(now)), [this, name = r.name] {
      retry_.erase(name);
      start_run(name);
    });
  }
}

// The times that came due while the daemon was down (none open): one catch-up firing for the
// latest of them, or one `schedule.skipped` event for all (catch_up: false).
void Schedules::catch_up_missed(const Rule& r, ScheduleRecord& row, SystemTime now) {
  auto due = next_firing(r.schedule->cron, r.timezone, from_ms(row.last_fired_for));
  if (!due || *due > now) return;
  auto latest = last_firing_between(r.schedule->cron, r.timezone, from_ms(row.last_fired_for), now);
  if (r.schedule->catch_up) {
    // Once, however many were missed, for the LATEST missed time (Airflow's catchup=False: the
    // latest interval; a nightly refresh wants today's, not the oldest day's). It covers them all.
    fire(r.name, latest.value_or(*due), true, now, *due);
  } else {
    // One event for every time missed: how many, the oldest and the latest (scheduled_time is
    // the oldest, as before).
    const std::size_t missed =
        count_firings_between(r.schedule->cron, r.timezone, from_ms(row.last_fired_for), now, kMissedCountLimit);
    nlohmann::json detail = {{"scheduled_time", format_rfc3339_ms(*due)},
                             {"missed", missed},
                             {"missed_since", format_rfc3339_ms(*due)},
                             {"missed_until", format_rfc3339_ms(latest.value_or(*due))},
                             {"reason", "missed while the daemon was down (catch_up: false)"}};
    if (missed >= kMissedCountLimit) detail["missed_at_least"] = true;
    jobs_.pipeline.emit("schedule.skipped", std::nullopt, std::move(detail), r.name);
    spdlog::info("schedule {}: {}{} firing(s) from {} to {} missed while down, skipped (catch_up: false)", r.name,
                 missed >= kMissedCountLimit ? "at least " : "", missed, format_rfc3339_ms(*due),
                 format_rfc3339_ms(latest.value_or(*due)));
    row.last_fired_for = unix_ms(now);
    state_.put_schedule(row);
  }
}

void Schedules::start(std::shared_ptr<const RuleSet> rules) {
  rules_ = std::move(rules);
  const SystemTime now = jobs_.clock.now();
  for (const auto& r : rules_->rules) {
    if (!r.schedule) continue;
    auto row = state_.schedule(r.name);
    if (!row) {  // first sight: a baseline, nothing fires for the past
      jobs_.pipeline.emit("schedule.added", std::nullopt, added_detail(r, now), r.name);
      row = closed_row(r.name, unix_ms(now));
      state_.put_schedule(*row);
    }
    // The gauge of the last success survives a restart (and a change of leader): read back once.
    if (auto last = last_firing_run(jobs_.store, r.name); last && last->state == "succeeded" && last->ended_at)
      jobs_.stats.m.schedule_last_success.labels({r.name}).set(static_cast<double>(*last->ended_at) / 1000.0);
    if (row->open && in_flight_.count(r.name)) {
      // Its run is still in flight here (leadership left this node and came back): it ends as it is.
    } else if (row->open) {
      resume_open_firing(r, *row, now);
    } else {
      catch_up_missed(r, *row, now);
    }
    arm(r, now);
  }
  jobs_.batch.request();
}

void Schedules::set_rules(std::shared_ptr<const RuleSet> rules) {
  std::shared_ptr<const RuleSet> before = std::move(rules_);
  rules_ = std::move(rules);
  next_.clear();
  const SystemTime now = jobs_.clock.now();
  for (const auto& r : rules_->rules) {
    if (!r.schedule) continue;
    auto row = state_.schedule(r.name);
    if (!row) {
      jobs_.pipeline.emit("schedule.added", std::nullopt, added_detail(r, now), r.name);
      state_.put_schedule(closed_row(r.name, unix_ms(now)));
    } else if (const Rule* old = before ? before->find(r.name) : nullptr;
               !old || !old->schedule || old->schedule->cron.text() != r.schedule->cron.text() ||
               old->timezone.name() != r.timezone.name()) {
      // A changed schedule takes effect now: its times before the edit passed while the daemon was
      // up under the old one — not missed, so no later start catches them up (issue 14, F13 of the
      // new-user test: moved from 02:00 to 03:00 at 10:00, a restart before 03:00 ran it at once).
      // So also while a firing is open (G5 of the retest): that firing ends as it is (its outcome
      // re-reads the row), and the times before the edit are not caught up at the next start.
      auto next = next_firing(r.schedule->cron, r.timezone, now);
      jobs_.pipeline.emit("schedule.changed", std::nullopt,
                          {{"schedule", r.schedule->cron.text()},
                           {"timezone", r.timezone.name()},
                           {"next", next ? nlohmann::json(format_rfc3339_ms(*next)) : nlohmann::json(nullptr)}},
                          r.name);
      row->last_fired_for = std::max<int64_t>(row->last_fired_for, unix_ms(now));
      state_.put_schedule(*row);
    }
    arm(r, now);
  }
  jobs_.batch.request();
}

void Schedules::pause() {
  next_.clear();
  retry_.clear();
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
  Duration wait = std::chrono::ceil<Duration>(*next - jobs_.clock.now());
  next_[r.name] = jobs_.timers.after(std::max(wait, Duration(0)), [this, name = r.name, at = *next] {
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
    jobs_.pipeline.emit("schedule.skipped", std::nullopt,
                   {{"scheduled_time", format_rfc3339_ms(scheduled_for)}, {"reason", "the previous firing is still open"}},
                   name);
    return;
  }
  nlohmann::json detail = {{"scheduled_time", format_rfc3339_ms(scheduled_for)}, {"catch_up", catch_up}};
  if (missed_since) detail["missed_since"] = format_rfc3339_ms(*missed_since);  // the oldest time it stands for
  jobs_.pipeline.emit("schedule.fired", std::nullopt, std::move(detail), name);
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

std::pair<int, nlohmann::json> Schedules::retry(const ReplayRequest& request, std::shared_ptr<const RuleSet> rules) {
  if (!rules_) rules_ = std::move(rules);  // offline: the rules in force, nothing armed
  ScheduleRetryRefusal refusal;
  auto plan = plan_schedule_retry(jobs_.store, *rules_, request, &refusal);
  if (!plan) return {refusal.status, {{"error", refusal.why}}};
  if (request.dry_run) return {200, schedule_retry_json(*plan)};
  if (stopping_) return {503, {{"error", "the daemon is stopping"}}};
  for (const auto& item : plan->items) {
    // Who asked and which run failed: the audit tells an operator's retry from the schedule's own
    // retries (run.retry_scheduled) and from a firing resumed after a crash (schedule.resumed).
    jobs_.pipeline.emit("schedule.retried", std::nullopt,
                        {{"scheduled_time", format_rfc3339_ms(from_ms(item.scheduled_for))},
                         {"by", request.asked_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(request.asked_by)},
                         {"failed_run_id", item.failed_run_id},
                         {"failed_attempt", item.failed_attempt},
                         {"failed_state", item.failed_state},
                         {"catch_up", item.catch_up}},
                        item.rule);
    spdlog::info("schedule {}: the firing for {} runs again (retry asked by {})", item.rule,
                 format_rfc3339_ms(from_ms(item.scheduled_for)), request.asked_by.empty() ? "?" : request.asked_by);
    auto row = state_.schedule(item.rule).value_or(closed_row(item.rule, item.scheduled_for));
    // Open again for the same time, as a new firing of it: attempts from 1, the full `retries`.
    // last_fired_for stays: the times after it fire as they come (skipped while this one is open).
    row.open = true;
    row.open_for = item.scheduled_for;
    row.catch_up = item.catch_up;
    row.attempts = 0;
    row.interrupted = 0;
    row.next_at.reset();
    state_.put_schedule(row);
    start_run(item.rule);
  }
  jobs_.batch.request();
  return {200, schedule_retry_json(*plan)};
}

// Each attempt waits for a worker as object runs do (`workers`, the rule's `concurrency`).
void Schedules::start_run(const std::string& name) {
  ++queued_;
  jobs_.when_admitted(name, [this, name] {
    --queued_;
    run_admitted(name);
  });
}

void Schedules::run_admitted(const std::string& name) {
  const Rule* r = rule(name);
  auto row = state_.schedule(name);
  if (stopping_ || !row || !row->open) return;
  if (!r) {  // the rule was removed while its firing was open: the firing ends
    jobs_.pipeline.emit("schedule.removed", std::nullopt, nullptr, name);
    row->open = false;
    state_.put_schedule(*row);
    return;
  }
  RunRecord run = jobs_.begin_run(name, "", row->attempts + 1, nullptr);
  row->attempts = run.attempt;
  row->next_at.reset();
  state_.put_schedule(*row);
  jobs_.batch.request();

  const SystemTime scheduled_for = from_ms(row->open_for);
  const std::filesystem::path result = jobs_.result_file(run);
  RunContext ctx;  // no object: only the rule, the run and the bucket are known
  ctx.bucket = jobs_.config.bucket;
  ctx.rule = name;
  ctx.run_id = run.run_id;
  ctx.attempt = run.attempt;
  ctx.event_time = scheduled_for;
  ctx.result_file = result;
  const std::map<std::string, std::string> env = {{"HIVEHOOK_RULE", name},
                                                  {"HIVEHOOK_RUN_ID", run.run_id},
                                                  {"HIVEHOOK_ATTEMPT", std::to_string(run.attempt)},
                                                  {"HIVEHOOK_BUCKET", jobs_.config.bucket},
                                                  {"HIVEHOOK_RESULT", result.string()},
                                                  {"HIVEHOOK_SCHEDULED_TIME", format_rfc3339_ms(scheduled_for)}};
  auto req = jobs_.request(*r, run, ctx, env,
                           safe_dump(scheduled_event(name, run.run_id, run.attempt, scheduled_for, row->catch_up)));
  in_flight_.insert(name);
  jobs_.launch(*r, std::move(req), result, [this, name, run](ProcessResult pr, std::filesystem::path file) {
    in_flight_.erase(name);
    on_exit(name, run, file, std::move(pr));
  });
}

// The rule's on_success / on_failure targets, told of a firing's outcome (same body fields as an
// object's notification; `key` is null, `scheduled_time` says which firing).
void Schedules::notify(const Rule& r, const std::string& event, const RunRecord& run, const ScheduleRecord& row) {
  const bool ok = run.state == RunState::succeeded;
  jobs_.notify(ok ? r.notify_success : r.notify_failure, r.name, event, std::nullopt,
               {{"scheduled_time", format_rfc3339_ms(from_ms(row.open_for))}, {"outcome", ok ? "succeeded" : "failed"}},
               &run);
}

void Schedules::on_exit(const std::string& name, RunRecord run, const std::filesystem::path& result_file,
                        ProcessResult r) {
  jobs_.read_outcome(run, r, result_file);
  auto row = state_.schedule(name).value_or(closed_row(name, 0));
  auto finish = [&](RunState to, nlohmann::json detail) { jobs_.end_run(run, to, std::move(detail), "schedule " + name); };
  if (stopping_ && !succeeded(r)) {
    finish(RunState::interrupted, {{"reason", "daemon stopping"}});
    row.interrupted += 1;
    row.next_at = jobs_.clock.now_ms();  // counted here: the next start runs it again at once
    state_.put_schedule(row);  // still open: runs again at the next start
    jobs_.batch.request();
    return;
  }
  const Rule* rule_now = rule(name);
  if (succeeded(r)) {
    finish(RunState::succeeded, run_detail(run));
    jobs_.stats.m.schedule_last_success.labels({name}).set(static_cast<double>(jobs_.clock.now_ms()) / 1000.0);
    row.open = false;
    state_.put_schedule(row);
    if (rule_now) notify(*rule_now, "schedule.succeeded", run, row);
    jobs_.pipeline.note_rule_success(name, 0);  // `requires:` may name a schedule rule
  } else {
    if (!r.spawned && run.error.empty()) run.error = "could not start the job";
    finish(r.timed_out ? RunState::timed_out : RunState::failed, run_detail(run));
    auto delay = stopping_ ? std::nullopt : jobs_.retry_after(rule_now, r, run, row.attempts - row.interrupted, nlohmann::json::object());
    if (delay) {
      row.next_at = jobs_.clock.now_ms() + delay->count();
      state_.put_schedule(row);
      retry_[name] = jobs_.timers.after(*delay, [this, name] {
        retry_.erase(name);
        start_run(name);
      });
    } else {
      row.open = false;  // failed for good; the next firing comes at its time
      ++failures_;
      state_.put_schedule(row);
      jobs_.pipeline.emit("schedule.failed", std::nullopt, {{"scheduled_time", format_rfc3339_ms(from_ms(row.open_for))}},
                     name, run.run_id, run.attempt);
      if (rule_now) notify(*rule_now, "schedule.failed", run, row);
    }
  }
  jobs_.batch.request();
}

}  // namespace hivehook
