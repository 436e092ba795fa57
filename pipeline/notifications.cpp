// Notifications: the outcome's outbox rows, written in the same batch as the outcome itself.
#include "jobs/output_excerpt.h"
#include "pipeline/active.h"

namespace hivehook {

void Pipeline::enqueue_notifications(const Active& a, ObjectState outcome, const std::vector<std::string>& targets) {
  if (targets.empty()) return;
  bool success = outcome == ObjectState::archived || outcome == ObjectState::deleted || outcome == ObjectState::kept;
  std::vector<std::string> rules;
  for (const auto& t : a.tasks)
    if (success || t.state == TaskState::failed) rules.push_back(t.rule);
  std::string rule = rules.empty() ? "" : rules.front();
  for (size_t i = 1; i < rules.size(); ++i) rule += "," + rules[i];
  int attempts = 0;
  for (const auto& t : a.tasks) attempts = std::max(attempts, t.attempts);
  const RunRecord& shown = !success && !a.failed_runs.empty() ? a.failed_runs.back() : a.last_run;
  put_in_outbox(a, success ? "object.succeeded" : "object.failed", rule, shown, attempts, std::string(to_string(outcome)),
                targets);
}

void Pipeline::put_in_outbox(const Active& a, const std::string& event, const std::string& rule, const RunRecord& run,
                             int attempts, const std::string& outcome, const std::vector<std::string>& targets) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  auto text = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  for (const auto& target : targets) {
    nlohmann::json body = {
        {"event", event},
        {"time", format_rfc3339_ms(clock_.now())},
        {"rule", rule},
        {"bucket", config_.bucket},
        {"key", a.rec.key},
        {"run_id", text(run.run_id)},
        {"attempts", attempts},
        {"duration_ms", opt(run.duration_ms)},
        {"exit_code", opt(run.exit_code)},
        {"error", text(run.error)},
        {"result", run.result.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(run.result, nullptr, false)},
        {"destination", text(a.rec.final_path)},
        {"outcome", outcome}};
    if ((run.state == RunState::failed || run.state == RunState::timed_out) && !run.stderr_tail.empty()) {
      // Why it failed, readably: the last line the job wrote (a Python exception, say) and the end of
      // its stderr, bounded and masked by the one Redactor in force (base/redactor.h).
      const std::string excerpt =
          output_excerpt(run.stderr_tail, kNotifyExcerptLines, kNotifyExcerptBytes, redactor());
      body["reason"] = failure_reason(run.error, run.stderr_tail, redactor());
      body["stderr_excerpt"] = excerpt;
    }
    store_.enqueue_outbox(outbox_row(target, event, a.rec.key, rule, std::move(body), clock_.now_ms()));
  }
}

}  // namespace hivehook
