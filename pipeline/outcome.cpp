// Outcome: once every matching rule's run has ended, decide, commit, then move the object and
// put the notifications in the outbox in the same transaction as its final state.
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "archive/mover.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
int64_t now_ms() { return unix_ms(std::chrono::system_clock::now()); }

bool ended(TaskState s) { return s == TaskState::succeeded || s == TaskState::failed; }

// Fan-out with different actions: the safest wins. Success: keep > archive > delete.
// Failure: quarantine unless every failed rule says keep.
struct FinalPlan {
  bool success = true;
  SuccessAction on_success = SuccessAction::remove;
  FailureAction on_failure = FailureAction::keep;
  std::vector<std::string> notify;
};
}  // namespace

void Pipeline::maybe_finish(int64_t object_id) {
  auto it = active_.find(object_id);
  if (it == active_.end()) return;
  Active& a = *it->second;
  if (a.decided) return;
  for (const auto& t : a.tasks)
    if (!ended(t.state)) return;
  bool success = true;
  for (const auto& t : a.tasks) success = success && t.state == TaskState::succeeded;
  a.decided = true;
  a.rec.state = success ? ObjectState::succeeded : ObjectState::failed;
  store_.set_object_state(object_id, a.rec.state);
  ++finishing_;
  batch_.after_commit([this, object_id] { apply_final_action(object_id); });
}

// After a crash between a move and its commit the object is already at its destination: find it
// there by inode (a rename keeps it), under its key or the suffixed name a collision gives.
static std::optional<std::filesystem::path> already_moved(const std::filesystem::path& root, const ObjectRecord& rec) {
  for (const auto& candidate : {root / rec.key, std::filesystem::path((root / rec.key).string() + "~" + std::to_string(rec.id))}) {
    struct stat st {};
    if (::lstat(candidate.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == rec.inode &&
        static_cast<uint64_t>(st.st_size) == rec.size)
      return candidate;
  }
  return std::nullopt;
}

void Pipeline::apply_final_action(int64_t object_id) {
  auto it = active_.find(object_id);
  if (it == active_.end()) return;
  Active& a = *it->second;
  --finishing_;

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

  // A different file now at the key (replaced while its predecessor ran) is not ours to move.
  struct stat st {};
  bool present = ::lstat(a.path.c_str(), &st) == 0;
  bool replaced = present && (static_cast<uint64_t>(st.st_ino) != a.rec.inode ||
                              static_cast<uint64_t>(st.st_size) != a.rec.size);

  ObjectState final_state = ObjectState::kept;  // every branch below sets it
  std::string final_path;
  std::string event;
  nlohmann::json detail = nlohmann::json::object();
  std::string id_suffix = std::to_string(object_id);
  if (replaced) {
    final_state = plan.success ? ObjectState::kept : ObjectState::failed_kept;
    event = plan.success ? "object.kept" : "object.failed";
    detail["note"] = "a newer file replaced it in landing during processing; the newer file is processed on its own";
  } else if (plan.success) {
    switch (plan.on_success) {
      case SuccessAction::archive: {
        auto m = move_object(a.path, config_.archive, a.rec.key, id_suffix);
        if (!m.ok && m.source_missing) {
          if (auto there = already_moved(config_.archive, a.rec)) {
            m.ok = true;
            m.final_path = *there;
          }
        }
        if (!m.ok && m.source_missing) {
          final_state = ObjectState::vanished;
          event = "object.vanished";
          detail["error"] = "the file left landing before it could be archived";
          break;
        }
        if (!m.ok) {
          spdlog::error("archive of {} failed: {}", a.rec.key, m.error);
          detail["error"] = m.error;
          final_state = ObjectState::kept;
          event = "object.kept";
          break;
        }
        final_state = ObjectState::archived;
        final_path = m.final_path.string();
        event = "object.archived";
        ++stats_.archived;
        break;
      }
      case SuccessAction::remove: {
        auto m = delete_object(a.path);
        final_state = ObjectState::deleted;
        event = "object.deleted";
        if (!m.ok) detail["error"] = m.error;
        ++stats_.deleted;
        break;
      }
      case SuccessAction::keep:
        final_state = ObjectState::kept;
        final_path = a.path.string();
        event = "object.kept";
        ++stats_.kept;
        break;
    }
  } else if (plan.on_failure == FailureAction::quarantine) {
    nlohmann::json err = {{"key", a.rec.key}, {"object_id", object_id}, {"etag", a.rec.etag},
                          {"time", format_rfc3339_ms(std::chrono::system_clock::now())}};
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : a.failed_runs) {
      nlohmann::json jr = {{"run_id", r.run_id}, {"rule", r.rule}, {"attempt", r.attempt},
                           {"state", to_string(r.state)}, {"error", r.error}};
      if (r.exit_code) jr["exit_code"] = *r.exit_code;
      if (r.signal) jr["signal"] = *r.signal;
      jr["stderr_tail"] = r.stderr_tail.size() > 4096 ? r.stderr_tail.substr(r.stderr_tail.size() - 4096) : r.stderr_tail;
      runs.push_back(std::move(jr));
    }
    err["failed_runs"] = std::move(runs);
    auto m = move_object(a.path, config_.quarantine, a.rec.key, id_suffix);
    if (!m.ok && m.source_missing) {
      if (auto there = already_moved(config_.quarantine, a.rec)) {
        m.ok = true;
        m.final_path = *there;
      }
    }
    if (!m.ok) {
      spdlog::error("quarantine of {} failed: {}", a.rec.key, m.error);
      detail["error"] = m.error;
      final_state = ObjectState::failed_kept;
      event = "object.failed";
    } else {
      std::string werr;
      auto rel = std::filesystem::relative(m.final_path, config_.quarantine).string();
      if (!write_error_json(config_.quarantine, rel, safe_dump(err, 2), &werr))
        spdlog::error("cannot write {}.error.json: {}", m.final_path.string(), werr);
      final_state = ObjectState::quarantined;
      final_path = m.final_path.string();
      event = "object.quarantined";
      ++stats_.quarantined;
    }
  } else {
    final_state = ObjectState::failed_kept;
    final_path = a.path.string();
    event = "object.failed";
    ++stats_.kept;
  }
  if (!plan.success) ++failures_;
  if (!final_path.empty()) detail["path"] = final_path;

  a.rec.state = final_state;
  stats_.m.objects_finished.labels({std::string(to_string(final_state))}).inc();
  store_.set_object_state(object_id, final_state, final_path.empty() ? std::nullopt : std::optional(final_path));
  emit(event, a.rec.key, detail);
  a.rec.final_path = final_path;
  enqueue_notifications(a, final_state, plan.notify);

  std::filesystem::path replaced_path = a.path;
  std::string replaced_key = a.rec.key;
  active_by_key_.erase(a.rec.key);
  active_.erase(it);
  stats_.active_objects = active_.size();
  batch_.request();
  if (replaced) offer(replaced_path, replaced_key);
  check_idle();
}

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
  auto opt_int = [](const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  for (const auto& target : targets) {
    OutboxRecord o;
    o.delivery_id = new_uuid();
    o.target = target;
    o.event = event;
    o.key = a.rec.key;
    o.rule = rule;
    nlohmann::json body = {
        {"event", event},
        {"delivery_id", o.delivery_id},
        {"time", format_rfc3339_ms(std::chrono::system_clock::now())},
        {"rule", rule},
        {"bucket", config_.bucket},
        {"key", a.rec.key},
        {"run_id", run.run_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(run.run_id)},
        {"attempts", attempts},
        {"duration_ms", opt_int(run.duration_ms)},
        {"exit_code", opt_int(run.exit_code)},
        {"error", run.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(run.error)},
        {"result", run.result.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(run.result, nullptr, false)},
        {"destination", a.rec.final_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.rec.final_path)},
        {"outcome", outcome}};
    o.body = safe_dump(body);
    o.next_at = now_ms();
    store_.enqueue_outbox(o);
    ++stats_.outbox_pending;
  }
}

}  // namespace hivehook
