// Restart recovery, exactly as DESIGN.md lists it.
#include <spdlog/spdlog.h>

#include "landing/key.h"
#include "pipeline/active.h"

namespace hivehook {

void Pipeline::recover() {
  recover_interrupted_runs();
  recover_objects();
  batch_.request();
  pump();
}

// 1. Runs recorded as started but never finished were cut off: interrupted, to run again.
void Pipeline::recover_interrupted_runs() {
  for (auto run : store_.runs_in_state(RunState::started)) {
    run.ended_at = clock_.now_ms();
    run.error = "the daemon stopped while the run was in flight";
    run_transition(run, RunState::interrupted, {{"reason", "recovered after restart"}});
    for (auto& t : store_.tasks_of(run.object_id)) {
      if (t.rule == run.rule && t.state == TaskState::running) {
        t.state = TaskState::queued;
        t.interrupted += 1;
        store_.update_task(t);
      }
    }
  }
}

// 2. Objects not yet at their end: re-queue their open tasks, or move them when decided.
void Pipeline::recover_objects() {
  size_t requeued = 0, finishing = 0;
  for (auto& rec : store_.unfinished_objects()) {
    auto parsed = parse_key(rec.key);
    if (!parsed) continue;
    auto a = std::make_unique<Active>();
    a->rec = rec;
    a->key = *parsed;
    a->path = files_.path(Area::landing, rec.key);
    a->ruleset = rules_;
    a->tasks = store_.tasks_of(rec.id);
    const int64_t id = rec.id;
    active_by_key_[rec.key] = id;
    Active& ref = *active_.emplace(id, std::move(a)).first->second;
    if (rec.state != ObjectState::pending) {
      ref.decided = true;
      ++finishing_;
      ++finishing;
      batch_.after_commit([this, id] { apply_final_action(id); });
      continue;
    }
    for (auto& t : ref.tasks) {
      if (t.state == TaskState::running) t.state = TaskState::queued;
      if (t.state == TaskState::queued) scheduler_.push(id, t.rule);
      else if (t.state == TaskState::retry_wait) requeue_after(id, t.rule, t.next_at.value_or(0));
      requeued += t.state == TaskState::queued || t.state == TaskState::retry_wait;
    }
    maybe_finish(id);  // every task had ended before the crash
  }
  refresh_gauges();
  if (requeued || finishing)
    spdlog::info("recovery: {} task(s) re-queued, {} object(s) to move without re-running", requeued, finishing);
}

}  // namespace hivehook
