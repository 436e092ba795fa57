// Restart recovery, exactly as DESIGN.md lists it.
#include <spdlog/spdlog.h>

#include "landing/key.h"
#include "pipeline/active.h"

namespace hivehook {

namespace {
int64_t now_ms() { return unix_ms(std::chrono::system_clock::now()); }
}  // namespace

void Pipeline::recover() {
  // 1. Runs recorded as started but never finished were cut off: interrupted, to run again.
  std::unordered_map<int64_t, int> interrupted_per_object;
  for (auto run : store_.runs_in_state(RunState::started)) {
    run.state = RunState::interrupted;
    run.ended_at = now_ms();
    run.error = "the daemon stopped while the run was in flight";
    store_.finish_run(run);
    ++stats_.runs_interrupted;
    stats_.m.runs_finished.labels({run.rule, "interrupted"}).inc();
    emit("run.interrupted", run.key, {{"reason", "recovered after restart"}}, run.rule, run.run_id, run.attempt);
    for (auto& t : store_.tasks_of(run.object_id)) {
      if (t.rule == run.rule && t.state == TaskState::running) {
        t.state = TaskState::queued;
        t.interrupted += 1;
        store_.update_task(t);
      }
    }
  }

  // 2. Objects not yet at their end: re-queue their open tasks, or move them when decided.
  size_t requeued = 0, finishing = 0;
  for (auto& rec : store_.objects_in_states({ObjectState::pending, ObjectState::succeeded, ObjectState::failed})) {
    auto parsed = parse_key(rec.key);
    if (!parsed) continue;
    auto a = std::make_unique<Active>();
    a->rec = rec;
    a->key = *parsed;
    a->path = config_.landing / rec.key;
    a->ruleset = rules_;
    a->tasks = store_.tasks_of(rec.id);
    int64_t id = rec.id;
    active_by_key_[rec.key] = id;
    Active& ref = *a;
    active_.emplace(id, std::move(a));
    if (rec.state != ObjectState::pending) {
      ref.decided = true;
      ++finishing_;
      ++finishing;
      batch_.after_commit([this, id] { apply_final_action(id); });
      continue;
    }
    for (auto& t : ref.tasks) {
      if (t.state == TaskState::running) t.state = TaskState::queued;
      if (t.state == TaskState::queued) {
        scheduler_.push(id, t.rule);
        ++requeued;
      } else if (t.state == TaskState::retry_wait) {
        requeue_after(id, t.rule, t.next_at.value_or(0));
        ++requeued;
      }
    }
    maybe_finish(id);  // every task had ended before the crash
  }
  stats_.active_objects = active_.size();
  if (requeued || finishing)
    spdlog::info("recovery: {} task(s) re-queued, {} object(s) to move without re-running", requeued, finishing);
  batch_.request();
  pump();
}

}  // namespace hivehook
