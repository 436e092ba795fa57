// Outcome: once every matching rule's run has ended, decide, commit, then move the object and
// put the notifications in the outbox in the same transaction as its final state.
#include <spdlog/spdlog.h>

#include "pipeline/active.h"

namespace hivehook {

namespace {

nlohmann::json error_report(const ObjectRecord& rec, const std::vector<RunRecord>& failed_runs, SystemTime now) {
  nlohmann::json err = {{"key", rec.key}, {"object_id", rec.id}, {"etag", rec.etag}, {"time", format_rfc3339_ms(now)}};
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : failed_runs) {
    nlohmann::json jr = {{"run_id", r.run_id}, {"rule", r.rule}, {"attempt", r.attempt},
                         {"state", to_string(r.state)}, {"error", r.error}};
    if (r.exit_code) jr["exit_code"] = *r.exit_code;
    if (r.signal) jr["signal"] = *r.signal;
    jr["stderr_tail"] = r.stderr_tail.size() > 4096 ? r.stderr_tail.substr(r.stderr_tail.size() - 4096) : r.stderr_tail;
    runs.push_back(std::move(jr));
  }
  err["failed_runs"] = std::move(runs);
  return err;
}
}  // namespace

void Pipeline::maybe_finish(int64_t object_id) {
  auto it = active_.find(object_id);
  if (it == active_.end()) return;
  Active& a = *it->second;
  if (a.decided) return;
  for (const auto& t : a.tasks)
    if (!is_ended(t.state)) return;
  bool success = true;
  for (const auto& t : a.tasks) success = success && t.state == TaskState::succeeded;
  a.decided = true;
  transition(a.rec, success ? ObjectState::succeeded : ObjectState::failed);
  ++finishing_;
  batch_.after_commit([this, object_id] { apply_final_action(object_id); });
}

FinalPlan Pipeline::plan_final_action(const Active& a) const {
  FinalPlan plan;
  plan.success = a.rec.state == ObjectState::succeeded;
  for (const auto& t : a.tasks) {
    const Rule* r = rule_for(a, t.rule);
    if (!r) continue;
    if (plan.success) {
      if (r->on_success == SuccessAction::keep) plan.on_success = SuccessAction::keep;
      else if (r->on_success == SuccessAction::archive && plan.on_success != SuccessAction::keep)
        plan.on_success = SuccessAction::archive;
      for (auto& n : r->notify_success) plan.notify.push_back(n);
    } else if (t.state == TaskState::failed) {
      if (r->on_failure == FailureAction::quarantine) plan.on_failure = FailureAction::quarantine;
      for (auto& n : r->notify_failure) plan.notify.push_back(n);
    }
  }
  if (a.tasks.empty() || (!plan.success && plan.notify.empty() && plan.on_failure == FailureAction::keep)) {
    // nothing known about the rules (removed): keep the conservative default
    if (!plan.success) plan.on_failure = FailureAction::quarantine;
  }
  std::sort(plan.notify.begin(), plan.notify.end());
  plan.notify.erase(std::unique(plan.notify.begin(), plan.notify.end()), plan.notify.end());
  return plan;
}

// A move out of landing; after a crash between a move and its commit the object is found at its
// destination already.
MoveResult Pipeline::move_out(const Active& a, Area to) {
  auto m = files_.move(a.rec.key, to, std::to_string(a.rec.id));
  if (!m.ok && m.source_missing) {
    if (auto there = files_.find_moved(to, a.rec.key, a.rec.id, a.rec.inode, a.rec.size)) {
      m.ok = true;
      m.final_path = *there;
    }
  }
  return m;
}

Outcome Pipeline::archive(const Active& a) {
  Outcome o;
  auto m = move_out(a, Area::archive);
  if (!m.ok && m.source_missing) {
    o.state = ObjectState::vanished;
    o.detail["error"] = "the file left landing before it could be archived";
  } else if (!m.ok) {
    spdlog::error("archive of {} failed: {}", a.rec.key, m.error);
    o.detail["error"] = m.error;
    o.state = ObjectState::kept;
  } else {
    o.state = ObjectState::archived;
    o.final_path = m.final_path.string();
  }
  return o;
}

Outcome Pipeline::quarantine(const Active& a) {
  Outcome o;
  auto m = move_out(a, Area::quarantine);
  if (!m.ok) {
    spdlog::error("quarantine of {} failed: {}", a.rec.key, m.error);
    o.detail["error"] = m.error;
    o.state = ObjectState::failed_kept;
    return o;
  }
  std::string werr;
  auto rel = std::filesystem::relative(m.final_path, config_.quarantine).string();
  if (!files_.write_error_json(rel, safe_dump(error_report(a.rec, a.failed_runs, clock_.now()), 2), &werr))
    spdlog::error("cannot write {}.error.json: {}", m.final_path.string(), werr);
  o.state = ObjectState::quarantined;
  o.final_path = m.final_path.string();
  return o;
}

Outcome Pipeline::perform(const Active& a, const FinalPlan& plan) {
  Outcome o;
  if (plan.success && plan.on_success == SuccessAction::archive) return archive(a);
  if (!plan.success && plan.on_failure == FailureAction::quarantine) return quarantine(a);
  if (plan.success && plan.on_success == SuccessAction::remove) {
    auto m = files_.remove(a.rec.key);
    o.state = ObjectState::deleted;
    if (!m.ok) o.detail["error"] = m.error;
    return o;
  }
  o.state = plan.success ? ObjectState::kept : ObjectState::failed_kept;
  o.final_path = a.path.string();
  return o;
}

void Pipeline::apply_final_action(int64_t object_id) {
  auto it = active_.find(object_id);
  if (it == active_.end()) return;
  Active& a = *it->second;
  --finishing_;
  const FinalPlan plan = plan_final_action(a);

  // A different file now at the key (replaced while its predecessor ran) is not ours to move.
  FileInfo now = files_.stat(a.rec.key);
  const bool replaced = now.exists && (now.inode != a.rec.inode || now.size != a.rec.size);
  Outcome o;
  if (replaced) {
    o.state = plan.success ? ObjectState::kept : ObjectState::failed_kept;
    o.detail["note"] = "a newer file replaced it in landing during processing; the newer file is processed on its own";
  } else {
    o = perform(a, plan);
  }
  if (!plan.success) ++failures_;
  if (!o.final_path.empty()) o.detail["path"] = o.final_path;
  transition(a.rec, o.state, o.detail,
             o.final_path.empty() ? std::nullopt : std::optional<std::string>(o.final_path));
  a.rec.final_path = o.final_path;
  enqueue_notifications(a, o.state, plan.notify);
  const std::string key = a.rec.key;
  forget(a);
  if (replaced) offer(key);
}

}  // namespace hivehook
