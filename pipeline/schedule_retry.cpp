#include "pipeline/schedule_retry.h"

#include <algorithm>

#include "base/clock.h"
#include "base/utf8.h"
#include "rules/schema.h"
#include "store/orchestration_state.h"
#include "store/queries.h"

namespace hivehook {

namespace {
std::string ms_text(int64_t ms) { return format_rfc3339_ms(SystemTime(std::chrono::milliseconds(ms))); }

// The firing of `name` to run again, or the refusal.
std::optional<ScheduleRetryItem> plan_one(Store& store, const RuleSet& rules, const std::string& name,
                                          ScheduleRetryRefusal& refusal) {
  auto refuse = [&](int status, std::string why) -> std::optional<ScheduleRetryItem> {
    refusal = {status, std::move(why)};
    return std::nullopt;
  };
  const std::string shown = "'" + utf8_sanitize(name) + "'";
  const Rule* r = rules.find(name);
  if (!r) {
    std::vector<std::string_view> names;
    for (const auto& x : rules.rules)
      if (x.schedule) names.push_back(x.name);
    const std::string hint = schema::closest(name, names);
    return refuse(400, "no rule named " + shown + " is in force" +
                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  if (!r->schedule)
    return refuse(400, "rule " + shown + " is not a schedule rule (it has no `schedule:`): `hivehook retry KEY` "
                       "runs a quarantined object again");
  auto row = OrchestrationState(store).schedule(name);
  if (!row || row->open_for == 0) return refuse(409, "schedule " + shown + " has not fired yet: nothing to retry");
  const std::string when = ms_text(row->open_for);
  if (row->open)
    return refuse(409, "the firing of schedule " + shown + " for " + when + " is still open (" +
                           (row->next_at ? "waiting for its retry at " + ms_text(*row->next_at) : std::string("running or queued")) +
                           "): let it end, then retry it if it failed");
  auto run = last_firing_run(store, name);
  if (!run) return refuse(409, "the firing of schedule " + shown + " for " + when + " has no run: nothing to retry");
  if (run->state != "failed" && run->state != "timed_out")
    return refuse(409, "the latest firing of schedule " + shown + " (" + when + ") did not fail: its last run " +
                           run->run_id + " " + run->state + "; only a firing that failed for good is retried");
  ScheduleRetryItem item;
  item.rule = name;
  item.scheduled_for = row->open_for;
  item.catch_up = row->catch_up;
  item.failed_run_id = run->run_id;
  item.failed_attempt = run->attempt;
  item.failed_state = run->state;
  item.failed_error = run->error;
  return item;
}
}  // namespace

std::optional<ScheduleRetryPlan> plan_schedule_retry(Store& store, const RuleSet& rules, const ReplayRequest& request,
                                                     ScheduleRetryRefusal* refusal) {
  ScheduleRetryRefusal why;
  auto fail = [&]() -> std::optional<ScheduleRetryPlan> {
    if (refusal) *refusal = std::move(why);
    return std::nullopt;
  };
  if (!request.retry || request.schedules.empty()) {
    why = {400, "a schedule retry names one or more schedule rules"};
    return fail();
  }
  ScheduleRetryPlan plan;
  plan.dry_run = request.dry_run;
  for (const auto& name : request.schedules) {
    if (std::any_of(plan.items.begin(), plan.items.end(), [&](const ScheduleRetryItem& i) { return i.rule == name; }))
      continue;  // named twice: one retry
    auto item = plan_one(store, rules, name, why);
    if (!item) return fail();
    plan.items.push_back(std::move(*item));
  }
  return plan;
}

nlohmann::json schedule_retry_json(const ScheduleRetryPlan& plan) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : plan.items)
    items.push_back({{"rule", utf8_sanitize(i.rule)},
                     {"scheduled_time", ms_text(i.scheduled_for)},
                     {"catch_up", i.catch_up},
                     {"failed_run_id", i.failed_run_id},
                     {"failed_attempt", i.failed_attempt},
                     {"failed_state", i.failed_state},
                     {"failed_error", utf8_sanitize(i.failed_error)}});
  return {{"retry", true}, {"dry_run", plan.dry_run}, {"schedules", items}, {"retried", plan.items.size()}};
}

}  // namespace hivehook
