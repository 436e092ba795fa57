#include "store/states.h"

#include <array>

namespace hivehook {

namespace {
constexpr std::array<std::string_view, 11> kObject{"pending", "succeeded", "failed", "archived", "deleted", "kept",
                                                   "quarantined", "failed_kept", "unmatched", "duplicate", "vanished"};
constexpr std::array<std::string_view, 5> kTask{"queued", "running", "retry_wait", "succeeded", "failed"};
constexpr std::array<std::string_view, 5> kRun{"started", "succeeded", "failed", "timed_out", "interrupted"};

template <class E, size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& table, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (table[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(ObjectState s) { return kObject[static_cast<size_t>(s)]; }
std::string_view to_string(TaskState s) { return kTask[static_cast<size_t>(s)]; }
std::string_view to_string(RunState s) { return kRun[static_cast<size_t>(s)]; }
std::optional<ObjectState> object_state_from(std::string_view s) { return lookup<ObjectState>(kObject, s); }
std::optional<TaskState> task_state_from(std::string_view s) { return lookup<TaskState>(kTask, s); }
std::optional<RunState> run_state_from(std::string_view s) { return lookup<RunState>(kRun, s); }

bool is_terminal(ObjectState s) {
  return s != ObjectState::pending && s != ObjectState::succeeded && s != ObjectState::failed;
}

}  // namespace hivehook
