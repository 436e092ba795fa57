// The named states of objects, tasks (one per object and matching rule) and runs, and the tables
// of the object and run state machines: which edges are legal and which audit event each writes.
// The pipeline's one transition function per machine (pipeline/transitions.cpp) checks every
// change against these tables. Each enum has one string table; the store keeps the strings, so
// `sqlite3 state/hivehook.db` reads.
#pragma once

#include <optional>
#include <string_view>

namespace hivehook {

// (new) ──► pending ──all tasks ok──► succeeded ──move──► archived | deleted | kept
//              └────any task failed for good──► failed ──move──► quarantined | failed_kept
// A move (copy, delete, quarantine) that fails is never a final state: the object is move_failed
// (decided, not moved) and the move is retried. The file at the key replaced or rewritten before a
// run or the final move: superseded (the new bytes are a new arrival). The file gone from landing
// before its final action: vanished. (new) ──► unmatched | ignored: recorded once, left alone;
// (new) ──► duplicate: the same content as the key's archived object, moved there without a run.
enum class ObjectState {
  pending, succeeded, failed, archived, deleted, kept, quarantined, failed_kept, unmatched, duplicate, vanished,
  ignored, superseded, move_failed
};
// (new) ──► queued ──► running ──► succeeded | failed | retry_wait ──(timer)──► queued
//   └────► waiting ──(after:/requires: met)──► queued
//              └────(an after: rule failed for good, or was skipped)──► skipped
// (DESIGN.md "Orchestration": `waiting` for the rules named by `after:`/`requires:`.)
enum class TaskState { queued, running, retry_wait, succeeded, failed, waiting, skipped };
// (new) ──► started ──► succeeded | failed | timed_out | interrupted
enum class RunState { started, succeeded, failed, timed_out, interrupted };

std::string_view to_string(ObjectState s);
std::string_view to_string(TaskState s);
std::string_view to_string(RunState s);
std::optional<ObjectState> object_state_from(std::string_view s);
std::optional<TaskState> task_state_from(std::string_view s);
std::optional<RunState> run_state_from(std::string_view s);

// The object has reached its end: nothing left to run or move. (A duplicate is terminal once
// moved; move_failed is not terminal.)
bool is_terminal(ObjectState s);

// Legal edges of the object machine; `from` nullopt: the object's first state (its insertion).
// A same-state edge (details such as final_path updated) is legal for every state.
bool object_edge_allowed(std::optional<ObjectState> from, ObjectState to);
// The audit event a transition into `to` writes ("object.archived", ...); empty: none.
std::string_view object_event(ObjectState to);
// Legal edges of the task machine; `from` nullopt: the task's insertion.
bool task_edge_allowed(std::optional<TaskState> from, TaskState to);
// The audit event a task transition writes ("task.waiting", "task.released", "task.skipped");
// empty: none (a run's own events tell the rest).
std::string_view task_event(std::optional<TaskState> from, TaskState to);
// The task is over: succeeded, failed or skipped.
bool is_ended(TaskState s);

// Legal edges of the run machine; `from` nullopt: the run's start.
bool run_edge_allowed(std::optional<RunState> from, RunState to);
// "run.started", "run.succeeded", ...
std::string_view run_event(RunState to);

}  // namespace hivehook
