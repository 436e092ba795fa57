// The object, task and run state machines: one transition function each. Every change of state is
// checked against the table of legal edges (store/states.h), and writes its row, its audit event,
// its metric and a log line "key: A -> B" — nothing else changes an object's or a run's state.
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "pipeline/active.h"
#include "pipeline/run_outcome.h"

namespace hivehook {

namespace {
// A key as one unambiguous log token: JSON-quoted (newlines, quotes, invalid UTF-8 escaped).
std::string log_key(const std::string& key) { return safe_dump(nlohmann::json(key)); }

[[noreturn]] void illegal(const char* machine, const std::string& key, std::string_view from, std::string_view to) {
  throw std::logic_error(std::string("illegal ") + machine + " transition for " + log_key(key) + ": " +
                         std::string(from) + " -> " + std::string(to));
}
}  // namespace

void Pipeline::record_new(ObjectRecord& rec, nlohmann::json detail) {
  if (!object_edge_allowed(std::nullopt, rec.state)) illegal("object", rec.key, "(new)", to_string(rec.state));
  store_.insert_object(rec);
  if (auto event = object_event(rec.state); !event.empty()) emit(std::string(event), rec.key, std::move(detail));
  if (rec.state == ObjectState::pending) stats_.m.objects_discovered.inc();
  else stats_.m.objects_finished.labels({std::string(to_string(rec.state))}).inc();
  spdlog::info("{}: (new) -> {}", log_key(rec.key), to_string(rec.state));
  batch_.request();
}

void Pipeline::transition(ObjectRecord& rec, ObjectState to, nlohmann::json detail) {
  const ObjectState from = rec.state;
  if (!object_edge_allowed(from, to)) illegal("object", rec.key, to_string(from), to_string(to));
  rec.state = to;
  store_.update_object(rec);
  batch_.request();
  // The same state again is a change of details only (where a duplicate went) — except a move
  // that failed again, which is announced each time.
  if (from == to && to != ObjectState::move_failed) return;
  if (auto event = object_event(to); !event.empty()) emit(std::string(event), rec.key, std::move(detail));
  if (is_terminal(to)) stats_.m.objects_finished.labels({std::string(to_string(to))}).inc();
  // A file that failed for good is what an operator most wants at `journalctl -p warning` (issue 16,
  // N4's addendum: a quarantine was info only).
  const bool failed_for_good = to == ObjectState::quarantined || to == ObjectState::failed_kept;
  spdlog::log(failed_for_good ? spdlog::level::warn : spdlog::level::info, "{}: {} -> {}", log_key(rec.key),
              to_string(from), to_string(to));
  // Batches wait for their members here; a file deleted after its object ended (a client's delete
  // of a kept file) ends nothing new.
  if (is_terminal(to) && !(is_terminal(from) && to == ObjectState::deleted) && on_ended) on_ended(rec);
}

void Pipeline::record_new_task(Active& a, TaskRecord& t, nlohmann::json detail) {
  if (!task_edge_allowed(std::nullopt, t.state)) illegal("task", a.rec.key, "(new)", to_string(t.state));
  store_.insert_task(t);
  if (auto event = task_event(std::nullopt, t.state); !event.empty()) emit(std::string(event), a.rec.key, std::move(detail), t.rule);
  if (t.state == TaskState::waiting) stats_.m.tasks_waiting.labels({t.rule}).set(double(++waiting_by_rule_[t.rule]));
  if (t.state == TaskState::skipped) stats_.m.tasks_skipped.labels({t.rule}).inc();
  if (t.state != TaskState::queued) spdlog::info("{}: task {} (new) -> {}", log_key(a.rec.key), t.rule, to_string(t.state));
  batch_.request();
}

void Pipeline::task_transition(Active& a, TaskRecord& t, TaskState to, nlohmann::json detail) {
  const TaskState from = t.state;
  if (!task_edge_allowed(from, to)) illegal("task", a.rec.key, to_string(from), to_string(to));
  t.state = to;
  if (to != TaskState::waiting) t.waiting_for.clear();
  store_.update_task(t);
  batch_.request();
  if (from == to) return;
  if (auto event = task_event(from, to); !event.empty()) emit(std::string(event), a.rec.key, std::move(detail), t.rule);
  if (from == TaskState::waiting) stats_.m.tasks_waiting.labels({t.rule}).set(double(--waiting_by_rule_[t.rule]));
  if (to == TaskState::waiting) stats_.m.tasks_waiting.labels({t.rule}).set(double(++waiting_by_rule_[t.rule]));
  if (to == TaskState::skipped) stats_.m.tasks_skipped.labels({t.rule}).inc();
  if (from == TaskState::waiting || to == TaskState::waiting || to == TaskState::skipped)
    spdlog::info("{}: task {} {} -> {}", log_key(a.rec.key), t.rule, to_string(from), to_string(to));
}

void Pipeline::record_run_start(RunRecord& run) {
  if (!run_edge_allowed(std::nullopt, run.state)) illegal("run", run.key, "(new)", to_string(run.state));
  store_.insert_run(run);
  emit(std::string(run_event(run.state)), run.key, nullptr, run.rule, run.run_id, run.attempt);
  stats_.m.runs_started.labels({run.rule}).inc();
  spdlog::debug("{}: run {} of {} (new) -> started", log_key(run.key), run.attempt, run.rule);
}

void Pipeline::run_transition(RunRecord& run, RunState to, nlohmann::json detail) {
  const RunState from = run.state;
  if (!run_edge_allowed(from, to)) illegal("run", run.key, to_string(from), to_string(to));
  run.state = to;
  store_.finish_run(run);
  emit(std::string(run_event(to)), run.key, std::move(detail), run.rule, run.run_id, run.attempt);
  // One line per run end, as Lambda's REPORT line: rule, key, outcome, duration.
  report_run_end(stats_, run, log_key(run.key) + ": run " + std::string(to_string(from)) + " -> " +
                                  std::string(to_string(to)));
  batch_.request();
}

}  // namespace hivehook
