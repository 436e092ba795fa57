// Outcome: once every matching rule's run has ended, decide (the final action is recorded with
// the decision), commit, then check the file is still the object's and act. A side effect that
// fails is never a final state: the object is move_failed and the action is retried with backoff,
// on every reconcile and after a restart.
#include <cstring>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>

#include "jobs/backoff.h"
#include "jobs/output_excerpt.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
const BackoffPolicy kMoveBackoff{std::chrono::seconds(1), std::chrono::minutes(5)};

bool failure_action(const std::string& a) { return a == action::quarantine || a == action::keep_failed; }

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
  if (a.decided || is_terminal(a.rec.state)) return;
  for (const auto& t : a.tasks)
    if (!is_ended(t.state)) return;  // succeeded, failed or skipped
  const FinalPlan plan = plan_final_action(a);
  a.decided = true;
  a.rec.action = plan.action;
  transition(a.rec, plan.success ? ObjectState::succeeded : ObjectState::failed,
             {{"outcome", plan.success ? "succeeded" : "failed"}, {"action", plan.action}});
  ++finishing_;
  batch_.after_commit([this, object_id] { apply_final_action(object_id); });
}

// The action is decided once, with the outcome; notifications go to the rules' targets as they
// are now. A rule's own action is honoured whatever its notify list; only when no matching rule
// is known any more (removed by a reload before a restart) the safe default applies: archive on
// success, quarantine on failure.
FinalPlan Pipeline::plan_final_action(const Active& a) const {
  FinalPlan plan;
  plan.success = true;
  for (const auto& t : a.tasks) plan.success = plan.success && t.state == TaskState::succeeded;
  bool known = false, archive = false, keep = false, quarantine = false;
  for (const auto& t : a.tasks) {
    const Rule* r = rule_for(a, t.rule);
    if (!r || (!plan.success && t.state != TaskState::failed)) continue;
    known = true;
    keep = keep || (plan.success && r->on_success == SuccessAction::keep);
    archive = archive || (plan.success && r->on_success == SuccessAction::archive);
    quarantine = quarantine || (!plan.success && r->on_failure == FailureAction::quarantine);
    for (auto& n : plan.success ? r->notify_success : r->notify_failure) plan.notify.push_back(n);
  }
  for (const auto& name : a.loop_rules)  // recorded, not run: its rules' failure targets hear of it
    if (const Rule* r = rule_for(a, name)) {
      known = true;
      for (auto& n : r->notify_failure) plan.notify.push_back(n);
    }
  if (plan.success) plan.action = !known || archive ? action::archive : action::remove;
  if (plan.success && keep) plan.action = action::keep;
  if (!plan.success) plan.action = !known || quarantine ? action::quarantine : action::keep_failed;
  if (!a.rec.action.empty()) plan.action = a.rec.action;  // decided before (a restart, a retried move)
  if (plan.action == action::quarantine || plan.action == action::keep_failed) plan.success = false;
  std::sort(plan.notify.begin(), plan.notify.end());
  plan.notify.erase(std::unique(plan.notify.begin(), plan.notify.end()), plan.notify.end());
  return plan;
}

void Pipeline::apply_final_action(int64_t object_id) {
  auto it = active_.find(object_id);
  if (it == active_.end()) return;
  --finishing_;
  finish_object(*it->second);
}

// One attempt at the decided action: first recognise a move a crash (or an earlier attempt whose
// error report failed) left unrecorded, then check the file at the key is still the object's, then
// act. Every outcome goes through the one failure policy: a side effect that failed is move_failed.
void Pipeline::finish_object(Active& a) {
  const std::string& act = a.rec.action;
  std::optional<Outcome> o;
  if (act == action::archive || act == action::duplicate) {
    if (auto there = files_.find_moved(Area::archive, a.rec.key, a.rec.id, a.identity())) {
      o.emplace();
      o->state = act == action::duplicate ? ObjectState::duplicate : ObjectState::archived;
      o->final_path = files_.path(Area::archive, *there).string();
    }
  } else if (act == action::quarantine && files_.find_moved(Area::quarantine, a.rec.key, a.rec.id, a.identity())) {
    o = quarantine(a);  // moved already: (re)writes its error report
  }
  if (!o) {
    const int64_t id = a.rec.id;
    auto again = [this, id] {
      if (auto it = active_.find(id); it != active_.end() && it->second->decided) finish_object(*it->second);
    };
    if (!still_there(a, again)) return;
    o = perform(a);
    // Written in place during a copy across filesystems (retest T12): the copy was dropped; the
    // new bytes are a new arrival and this object ends superseded, as for a rewrite before the move.
    if (o->source_rewritten && !still_there(a, again, "it was rewritten during its move")) return;
  }
  if (o->failed) return move_failed(a, std::move(*o));
  record_outcome(a, std::move(*o));
}

Outcome Pipeline::perform(const Active& a) {
  const std::string& act = a.rec.action;
  if (act == action::archive) return move_out(a, Area::archive, ObjectState::archived);
  if (act == action::duplicate) return move_out(a, Area::archive, ObjectState::duplicate);
  if (act == action::quarantine) return quarantine(a);
  Outcome o;
  if (act == action::remove) {
    auto m = files_.remove(a.rec.key);
    o.state = m.ok ? ObjectState::deleted : m.source_missing ? ObjectState::vanished : ObjectState::move_failed;
    o.failed = !m.ok && !m.source_missing;
    o.error = m.error;
    if (!m.ok) o.detail["error"] = m.error;
    return o;
  }
  o.state = act == action::keep ? ObjectState::kept : ObjectState::failed_kept;
  o.final_path = a.path.string();
  return o;
}

Outcome Pipeline::move_out(const Active& a, Area to, ObjectState done) {
  Outcome o;
  auto m = files_.move(a.rec.key, to, std::to_string(a.rec.id));
  if (m.ok) {
    o.state = done;
    o.final_path = m.final_path.string();
  } else if (m.source_missing) {
    o.state = ObjectState::vanished;
    o.detail["error"] = "the file left landing before its final action";
  } else {
    o.failed = true;
    o.error = m.error;
    o.source_rewritten = m.source_rewritten;
  }
  return o;
}

// Quarantine: the move, then <key>.error.json beside it (with the object's own mode). Either
// failing is a failed move; a retry finds the object already in quarantine and writes the report.
Outcome Pipeline::quarantine(const Active& a) {
  const std::string suffix = std::to_string(a.rec.id);
  std::string there;
  if (auto found = files_.find_moved(Area::quarantine, a.rec.key, a.rec.id, a.identity())) there = *found;
  mode_t mode = a.mode ? a.mode : files_.stat(a.rec.key).mode;
  if (there.empty()) {
    Outcome moved = move_out(a, Area::quarantine, ObjectState::quarantined);
    if (moved.state != ObjectState::quarantined || moved.failed) return moved;
    there = std::filesystem::relative(moved.final_path, files_.path(Area::quarantine, "")).string();
  }
  Outcome o;
  // Masked as everything written is (fault: its stderr_tail held the job's passwords in clear).
  nlohmann::json err = error_report(a.rec, a.failed_runs, clock_.now());
  if (!a.failure_reason.empty()) err["error"] = a.failure_reason;
  auto report = redactor()(safe_dump(err, 2));
  if (auto w = files_.write_error_json(there, report, mode ? mode : 0600); !w) {
    o.failed = true;
    o.error = w.message();
    return o;
  }
  o.state = ObjectState::quarantined;
  o.final_path = files_.path(Area::quarantine, there).string();
  return o;
}

void Pipeline::record_outcome(Active& a, Outcome o) {
  if (failure_action(a.rec.action)) ++failures_;
  if (!o.final_path.empty()) o.detail["path"] = o.final_path;
  unstick(a);
  a.rec.final_path = o.final_path;
  a.rec.error.clear();
  // A failed object says why (fault: a quarantined file's error was null everywhere it is shown):
  // each failed rule and its reason, "sales-load: exited with code 3: ValueError: …".
  if (o.state == ObjectState::quarantined || o.state == ObjectState::failed_kept)
    for (const auto& r : a.failed_runs)
      a.rec.error += (a.rec.error.empty() ? "" : "; ") + r.rule + ": " + failure_reason(r.error, r.stderr_tail, redactor());
  if (o.state == ObjectState::quarantined && !a.failure_reason.empty()) a.rec.error = a.failure_reason;
  a.rec.failed_since.reset();
  // A retry from the quarantine ran on a copy: the original (and its report) goes once the retried
  // object has ended in its place — unless it ended there itself, or its file vanished.
  if (!a.quarantined_original.empty() && o.state != ObjectState::vanished &&
      o.final_path != files_.path(Area::quarantine, a.quarantined_original).string()) {
    if (auto gone = files_.remove_kept(Area::quarantine, a.quarantined_original); !gone)
      spdlog::warn("{}: the retried object ended {}, but its quarantined original could not be removed: {}", a.rec.key,
                   to_string(o.state), gone.message());
  }
  transition(a.rec, o.state, o.detail);
  enqueue_notifications(a, o.state, plan_final_action(a).notify);
  forget(a);
}

// The one failure policy of every side effect: never a final state. The object stays decided
// (move_failed, with the error), counted, shown, and retried with backoff.
void Pipeline::move_failed(Active& a, Outcome o) {
  a.rec.move_attempts += 1;
  if (!a.rec.failed_since) a.rec.failed_since = clock_.now_ms();
  a.rec.error = o.error;
  const Duration delay = backoff_delay(kMoveBackoff, a.rec.move_attempts, rng_);
  stats_.m.move_failures.labels({a.rec.action}).inc();
  spdlog::error("{} of {} failed ({} so far), retried in {} ms: {}", a.rec.action, a.rec.key, a.rec.move_attempts,
                delay.count(), o.error);
  transition(a.rec, ObjectState::move_failed,
             {{"action", a.rec.action}, {"error", o.error}, {"attempts", a.rec.move_attempts},
              {"retry_at", format_rfc3339_ms(clock_.now() + delay)}});
  stuck_.insert(a.rec.id);
  a.move_retry = timers_.after(delay, [this, id = a.rec.id] {
    if (auto it = active_.find(id); it != active_.end()) finish_object(*it->second);
  });
  unstick(a, false);
}

void Pipeline::retry_moves() {
  for (int64_t id : std::vector<int64_t>(stuck_.begin(), stuck_.end()))
    if (auto it = active_.find(id); it != active_.end()) finish_object(*it->second);
}

// Leaves (or, with `leave` false, only recounts) the set of objects whose move failed.
void Pipeline::unstick(Active& a, bool leave) {
  if (leave) {
    stuck_.erase(a.rec.id);
    a.move_retry.reset();
  }
  int64_t oldest = 0;
  for (int64_t id : stuck_) {
    auto it = active_.find(id);
    if (it != active_.end() && it->second->rec.failed_since)
      oldest = oldest ? std::min(oldest, *it->second->rec.failed_since) : *it->second->rec.failed_since;
  }
  oldest_failure_ms_ = oldest;
  stats_.m.objects_stuck.set(static_cast<double>(stuck_.size()));
}

// The file at the key is not the object's any more (or is gone): the object ends here, and a
// replacement is offered as a new arrival.
void Pipeline::end_early(Active& a, ObjectState to, nlohmann::json detail) {
  unstick(a);
  const std::string key = a.rec.key;
  if (to != ObjectState::superseded) self_rewrites_.erase(key);
  // Its tasks that never ran end with it (issue 14, G4 of the new-user retest: a superseded
  // object's task stayed `queued` for good, and `status` counted it queued for a worker).
  for (auto& t : a.tasks)
    if (t.state == TaskState::queued || t.state == TaskState::waiting || t.state == TaskState::retry_wait)
      task_transition(a, t, TaskState::skipped, {{"reason", "the object was " + std::string(to_string(to)) + " first"}});
  transition(a.rec, to, std::move(detail));
  forget(a);
  if (to == ObjectState::superseded) boost::asio::post(io_, [this, key] { offer(key, Hint::scanned); });
}

bool Pipeline::still_there(Active& a, std::function<void()> resume, const std::string& why) {
  FileInfo now = files_.stat(a.rec.key);
  if (!now.exists && now.error != 0) {
    // Not "gone": the file could not be looked at (EACCES, EPERM, EIO on a folder on its path:
    // retest T11 recorded such a file vanished, then ran it again once the folder was fixed).
    // Before its run the run goes ahead (the job meets the same error); once decided the move
    // waits as move_failed, retried, shown, until the folder is readable again.
    if (a.rec.action.empty()) return true;
    Outcome o;
    o.failed = true;
    o.error = "cannot look at " + files_.path(Area::landing, a.rec.key).string() + ": " + std::strerror(now.error);
    move_failed(a, std::move(o));
    return false;
  }
  if (!now.exists) {
    end_early(a, ObjectState::vanished, {{"error", "the file left landing (or a folder on its path was replaced)"}});
    return false;
  }
  switch (compare_identity(a.identity(), now.id)) {
    case IdentityMatch::same:
      return true;
    case IdentityMatch::metadata_only:
      return same_content(a, now.id, std::move(resume));
    case IdentityMatch::different:
      break;
  }
  superseded(a, now.id, why);
  return false;
}

// Only the ctime moved since discovery (P9): the bytes decide. Small files are hashed here, big ones
// on the hash thread (as discovery hashes them); meanwhile the caller's step waits (`resume` runs
// once the answer is in, and looks again).
bool Pipeline::same_content(Active& a, const FileIdentity& now, std::function<void()> resume) {
  if (a.verifying) {
    a.after_verify.push_back(std::move(resume));
    return false;
  }
  if (now.size <= kHashOffLoopBytes) {
    int err = 0;
    std::string error;
    auto h = files_.hash(a.rec.key, &err, &error);
    const int64_t id = a.rec.id;  // `a` is gone once content_compared has ended it (superseded)
    if (content_compared(a, now, h, err)) return true;
    if (active_.count(id)) boost::asio::post(io_, std::move(resume));  // not decided: look again
    return false;
  }
  a.verifying = true;
  a.after_verify.push_back(std::move(resume));
  boost::asio::post(hash_pool_, [this, id = a.rec.id, key = a.rec.key, now] {
    int err = 0;
    std::string error;
    auto h = files_.hash(key, &err, &error);
    boost::asio::post(io_, [this, id, now, h = std::move(h), err] {
      auto it = active_.find(id);
      if (it == active_.end()) return;
      Active& a = *it->second;
      a.verifying = false;
      auto resumes = std::move(a.after_verify);
      a.after_verify.clear();
      content_compared(a, now, h, err);
      for (auto& r : resumes) r();  // each looks again: the same file now, or the object has ended
    });
  });
  return false;
}

// The answer of same_content's hash. The same eTag (and inode, size, mtime): a change of metadata
// only, whose new ctime is recorded: true. Other bytes: superseded. Not readable (a chmod 000, EIO):
// nothing says the bytes changed, so inode, size and mtime decide: the same file. Changed while read
// or gone: false, not decided (the caller looks again).
bool Pipeline::content_compared(Active& a, const FileIdentity& now, const std::optional<Hashed>& h, int err) {
  if (!h && (err == EAGAIN || err == ENOENT || err == ENOTDIR || err == ELOOP)) return false;
  if (h && (h->etag != a.rec.etag || compare_identity(a.identity(), h->id) == IdentityMatch::different)) {
    superseded(a, h->id);
    return false;
  }
  const int64_t ctime = h ? h->id.ctime_ns : now.ctime_ns;
  spdlog::info("{}: only its metadata changed since discovery (mode, owner or times; {}): object {} goes on, "
               "not a new arrival", a.rec.key, h ? "the same bytes, eTag " + a.rec.etag : "not readable to compare, "
               "same inode, size and mtime", a.rec.id);
  a.rec.ctime_ns = ctime;
  store_.update_object(a.rec);
  batch_.request();
  return true;
}

// The file at the key is another one now. Written during the object's own run (its new ctime is
// not older than the first run's start): the job, most likely, wrote to its input. Counted per key,
// so the loop a job that always writes to its input would make (each version a new arrival that
// runs again: F22) is stopped after kSelfRewriteLimit versions (admit_looping).
void Pipeline::superseded(Active& a, const FileIdentity& now, const std::string& why) {
  nlohmann::json detail = {
      {"note", "a different file is at the key now (replaced or rewritten since discovery); it is a new arrival"}};
  if (!why.empty()) detail["note"] = why + ": a different file is at the key now; it is a new arrival";
  // A version the S3 API created is a client's upload, not the job writing to its input: several
  // clients putting the same key while its run goes on are ordinary rewrites, never a loop
  // (test_s3 test_head_after_eight_concurrent_puts_to_one_key_is_not_404 quarantined the latest
  // upload when they were counted). A job that PUTs to its own key through the S3 API is therefore
  // not stopped by this guard (docs/decisions.md).
  const bool client_upload = files_.upload_event(a.rec.key, now).has_value();
  if (!client_upload && a.first_run_ms > 0 && now.ctime_ns / 1'000'000 >= a.first_run_ms - kOwnRunSlackMs) {
    SelfRewrites& s = self_rewrites_[a.rec.key];
    s.generations = a.self_rewrites + 1;
    s.rules.clear();
    for (const auto& t : a.tasks)
      if (t.attempts > 0) s.rules.push_back(t.rule);
    detail["rewritten_during_its_run"] = true;
    detail["in_a_row"] = s.generations;
    detail["note"] = "the file at the key was rewritten during this object's own run (a job writing to its input?): "
                     "the new version is a new arrival (" + std::to_string(s.generations) + " in a row; after " +
                     std::to_string(kSelfRewriteLimit) + " the next is quarantined, not run)";
  } else {
    self_rewrites_.erase(a.rec.key);
  }
  end_early(a, ObjectState::superseded, std::move(detail));
}

}  // namespace hivehook
