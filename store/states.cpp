#include "store/states.h"

#include <array>
#include <initializer_list>

namespace hivehook {

namespace {
constexpr std::array<std::string_view, 14> kObject{
    "pending",   "succeeded", "failed",  "archived", "deleted", "kept",       "quarantined",
    "failed_kept", "unmatched", "duplicate", "vanished", "ignored", "superseded", "move_failed"};
constexpr std::array<std::string_view, 7> kTask{"queued", "running", "retry_wait", "succeeded", "failed",
                                                "waiting", "skipped"};
constexpr std::array<std::string_view, 5> kRun{"started", "succeeded", "failed", "timed_out", "interrupted"};

template <class E, size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& table, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (table[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

using O = ObjectState;
struct ObjectEdges {
  std::optional<O> from;
  std::initializer_list<O> to;
};
// The object machine. Every change of an object's state is one of these edges.
const ObjectEdges kObjectEdges[] = {
    {std::nullopt, {O::pending, O::unmatched, O::duplicate, O::ignored}},
    {O::pending, {O::succeeded, O::failed, O::superseded, O::vanished}},
    {O::succeeded, {O::archived, O::deleted, O::kept, O::move_failed, O::superseded, O::vanished}},
    {O::failed, {O::quarantined, O::failed_kept, O::move_failed, O::superseded, O::vanished}},
    // A failed move is retried as decided: it ends where the decision sends it, or still fails.
    {O::move_failed, {O::archived, O::deleted, O::kept, O::quarantined, O::failed_kept, O::duplicate, O::superseded,
                      O::vanished}},
    // A duplicate is decided at discovery; its move to the archive may fail like any other.
    {O::duplicate, {O::move_failed, O::superseded, O::vanished}},
    // A file left in landing, deleted by a client through the S3 API (Pipeline::deleted_by_client).
    {O::unmatched, {O::deleted}},
    {O::kept, {O::deleted}},
    {O::failed_kept, {O::deleted}},
    {O::ignored, {O::deleted}},
};

using T = TaskState;
struct TaskEdges {
  std::optional<T> from;
  std::initializer_list<T> to;
};
// The task machine. Every change of a task's state is one of these edges.
const TaskEdges kTaskEdges[] = {
    {std::nullopt, {T::queued, T::waiting, T::skipped}},
    {T::waiting, {T::queued, T::skipped}},
    // queued/retry_wait -> skipped: its object ended early (superseded, vanished) before it ran.
    {T::queued, {T::running, T::skipped}},
    // running -> queued: the run was interrupted (a crash, a shutdown) and runs again.
    {T::running, {T::succeeded, T::failed, T::retry_wait, T::queued}},
    {T::retry_wait, {T::queued, T::skipped}},
};

// The audit event of each object state, in enum order.
constexpr std::array<std::string_view, 14> kObjectEvent{
    "object.discovered", "object.decided", "object.decided", "object.archived",   "object.deleted",
    "object.kept",       "object.quarantined", "object.failed", "object.unmatched", "object.duplicate",
    "object.vanished",   "object.ignored",     "object.superseded", "object.move_failed"};
}  // namespace

std::string_view to_string(ObjectState s) { return kObject[static_cast<size_t>(s)]; }
std::string_view to_string(TaskState s) { return kTask[static_cast<size_t>(s)]; }
std::string_view to_string(RunState s) { return kRun[static_cast<size_t>(s)]; }
std::optional<ObjectState> object_state_from(std::string_view s) { return lookup<ObjectState>(kObject, s); }
std::optional<TaskState> task_state_from(std::string_view s) { return lookup<TaskState>(kTask, s); }
std::optional<RunState> run_state_from(std::string_view s) { return lookup<RunState>(kRun, s); }

bool is_terminal(ObjectState s) {
  return s != ObjectState::pending && s != ObjectState::succeeded && s != ObjectState::failed &&
         s != ObjectState::move_failed;
}

bool object_edge_allowed(std::optional<ObjectState> from, ObjectState to) {
  if (from == to) return true;
  for (const auto& e : kObjectEdges)
    if (e.from == from)
      for (O t : e.to)
        if (t == to) return true;
  return false;
}

std::string_view object_event(ObjectState to) { return kObjectEvent[static_cast<size_t>(to)]; }

bool task_edge_allowed(std::optional<TaskState> from, TaskState to) {
  if (from == to) return true;
  for (const auto& e : kTaskEdges)
    if (e.from == from)
      for (T t : e.to)
        if (t == to) return true;
  return false;
}

std::string_view task_event(std::optional<TaskState> from, TaskState to) {
  if (to == TaskState::waiting) return "task.waiting";
  if (to == TaskState::skipped) return "task.skipped";
  if (from == TaskState::waiting && to == TaskState::queued) return "task.released";
  return "";
}

bool is_ended(TaskState s) { return s == TaskState::succeeded || s == TaskState::failed || s == TaskState::skipped; }

bool run_edge_allowed(std::optional<RunState> from, RunState to) {
  if (!from) return to == RunState::started;
  return *from == RunState::started && to != RunState::started;
}

std::string_view run_event(RunState to) {
  static constexpr std::array<std::string_view, 5> kEvent{"run.started", "run.succeeded", "run.failed",
                                                          "run.timed_out", "run.interrupted"};
  return kEvent[static_cast<size_t>(to)];
}

}  // namespace hivehook
