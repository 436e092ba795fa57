// Restart recovery, exactly as DESIGN.md lists it.
#include <algorithm>
#include <map>
#include <spdlog/spdlog.h>

#include "jobs/orphans.h"
#include "landing/key.h"
#include "landing/key_order.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
constexpr auto kOrphanWait = std::chrono::seconds(5);

// A job cut off by the crash may still run (a grandchild that outlived its parent, a kernel
// without PR_SET_PDEATHSIG): kill its whole group before its task runs again.
void kill_group(const RunRecord& run, int pgid, uint64_t start_time) {
  switch (kill_orphaned_group(pgid, start_time, kOrphanWait)) {
    case OrphanResult::killed:
      spdlog::warn("{}: killed what was left of run {} of {} (process group {})", run.key, run.attempt, run.rule, pgid);
      break;
    case OrphanResult::still_there:
      spdlog::error("{}: process group {} of run {} of {} survived SIGKILL", run.key, pgid, run.attempt, run.rule);
      break;
    case OrphanResult::none:
      break;
  }
}

}  // namespace

// The recorded group, and any group whose processes carry the run's id in their environment (the
// crash may have come between the spawn and the commit of its pid).
void Pipeline::kill_leftovers(const RunRecord& run) {
  if (run.pgid) kill_group(run, static_cast<int>(*run.pgid), static_cast<uint64_t>(run.proc_start.value_or(0)));
  for (int pgid : groups_of_run(run.run_id)) kill_group(run, pgid, 0);
}

void Pipeline::recover() {
  succeeded_rules_.clear();
  for (auto& r : store_.rules_succeeded()) succeeded_rules_.insert(std::move(r));
  recover_interrupted_runs();
  recover_objects();
  batch_.request();
  pump();
}

// 1. Runs recorded as started but never finished were cut off: their leftovers are killed, and
//    they are interrupted, to run again.
void Pipeline::recover_interrupted_runs() {
  for (auto run : store_.runs_in_state(RunState::started)) {
    kill_leftovers(run);
    record_interrupted(run, "the daemon stopped while the run was in flight", {{"reason", "recovered after restart"}});
  }
}

void Pipeline::record_interrupted(RunRecord run, const std::string& error, nlohmann::json detail) {
  run.ended_at = clock_.now_ms();
  run.error = error;
  run_transition(run, RunState::interrupted, std::move(detail));
  for (auto& t : store_.tasks_of(run.object_id)) {
    if (t.rule == run.rule && t.state == TaskState::running) {
      t.state = TaskState::queued;
      t.interrupted += 1;
      store_.update_task(t);
    }
  }
}

// 2. Objects not yet at their end: re-queue their open tasks, or act when decided (a move that
//    failed before the restart is tried again now).
void Pipeline::recover_objects(const std::function<bool(const ObjectRecord&)>& only) {
  size_t requeued = 0, finishing = 0;
  std::vector<QueuedTask> queued;  // in the order they were queued
  for (auto& rec : store_.unfinished_objects()) {
    if (only && !only(rec)) continue;
    auto parsed = parse_key(rec.key);
    if (!parsed) continue;
    Active& a = restore_active(rec, std::move(*parsed));
    const int64_t id = rec.id;
    if (rec.state != ObjectState::pending) {
      a.decided = true;
      if (a.rec.action.empty()) a.rec.action = plan_final_action(a).action;  // decided before actions were kept
      ++finishing_;
      ++finishing;
      batch_.after_commit([this, id] { apply_final_action(id); });
      continue;
    }
    for (auto& t : a.tasks) {
      if (t.state == TaskState::running) t.state = TaskState::queued;
      if (t.state == TaskState::waiting) stats_.m.tasks_waiting.labels({t.rule}).set(double(++waiting_by_rule_[t.rule]));
      if (t.state == TaskState::queued) queued.push_back({rec.key, id, t.rule});
      else if (t.state == TaskState::retry_wait) requeue_after(id, t.rule, t.next_at.value_or(0));
      requeued += t.state == TaskState::queued || t.state == TaskState::retry_wait;
    }
    maybe_finish(id);  // every task had ended before the crash
  }
  sort_released_in_key_order(queued);
  for (const auto& q : queued) scheduler_.push(q.id, q.rule);
  release_waiting();  // what a success committed before the crash freed, or a new rule set no longer holds
  refresh_gauges();
  if (requeued || finishing)
    spdlog::info("recovery: {} task(s) re-queued, {} object(s) to move without re-running", requeued, finishing);
}

// An unfinished object back in memory as the store recorded it (its tasks, and its failed runs
// for a quarantine report).
Pipeline::Active& Pipeline::restore_active(const ObjectRecord& rec, ObjectKey key) {
  auto a = std::make_unique<Active>();
  a->rec = rec;
  a->key = std::move(key);
  a->path = files_.path(Area::landing, rec.key);
  a->ruleset = rules_;
  a->tasks = store_.tasks_of(rec.id);
  a->failed_runs = store_.failed_runs_of(rec.id);
  active_by_key_[rec.key] = rec.id;
  return *active_.emplace(rec.id, std::move(a)).first->second;
}

// Queued tasks go back to the scheduler in the order they were queued: discovery order, except
// that a rule with `requires:` released its waiting objects in key order (dependencies.cpp), so
// its queue resumes in key order — daily partitions keep loading in date order after a crash.
// Such a rule's entries are sorted among themselves, in the places they held (other rules keep
// their discovery order and the interleaving is unchanged).
void Pipeline::sort_released_in_key_order(std::vector<QueuedTask>& queued) const {
  auto released_in_key_order = [this](const std::string& rule) {
    const Rule* r = rules_->find(rule);
    return r && !r->required_rules.empty();
  };
  std::map<std::string, std::vector<size_t>> places;
  for (size_t i = 0; i < queued.size(); ++i)
    if (released_in_key_order(queued[i].rule)) places[queued[i].rule].push_back(i);
  for (auto& [rule, at] : places) {
    std::vector<QueuedTask> mine;
    for (size_t i : at) mine.push_back(queued[i]);
    std::sort(mine.begin(), mine.end(), [](const QueuedTask& x, const QueuedTask& y) {
      const auto c = compare_keys(x.key, y.key);  // landing/key_order.h, as dependencies.cpp releases them
      return c != 0 ? c < 0 : x.id < y.id;
    });
    for (size_t j = 0; j < at.size(); ++j) queued[at[j]] = std::move(mine[j]);
  }
}

}  // namespace hivehook
