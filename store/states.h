// The named states of objects, tasks (one per object and matching rule) and runs.
// Each enum has one string table; the store keeps the strings, so `sqlite3 state/hivehook.db` reads.
#pragma once

#include <optional>
#include <string_view>

namespace hivehook {

// pending ──all tasks ok──► succeeded ──move──► archived | deleted | kept
//    └────any task failed for good──► failed ──move──► quarantined | failed_kept
// (unmatched, duplicate, vanished: recorded and left alone)
enum class ObjectState {
  pending, succeeded, failed, archived, deleted, kept, quarantined, failed_kept, unmatched, duplicate, vanished
};
// queued ──► running ──► succeeded | failed | retry_wait ──(timer)──► queued
enum class TaskState { queued, running, retry_wait, succeeded, failed };
// started ──► succeeded | failed | timed_out | interrupted
enum class RunState { started, succeeded, failed, timed_out, interrupted };

std::string_view to_string(ObjectState s);
std::string_view to_string(TaskState s);
std::string_view to_string(RunState s);
std::optional<ObjectState> object_state_from(std::string_view s);
std::optional<TaskState> task_state_from(std::string_view s);
std::optional<RunState> run_state_from(std::string_view s);

// The object has reached its end: nothing left to run or move.
bool is_terminal(ObjectState s);

}  // namespace hivehook
