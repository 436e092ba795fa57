// After a daemon crash: what is left of a job it had started. Each run records its pid, process
// group and process start time; recovery kills a group that still exists before the job's task
// runs again, so two copies of one job never run at once (DESIGN.md "Faults at run time").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"

namespace hivehook {

enum class OrphanResult { none, killed, still_there };

// Kills process group `pgid` when it is still the one recorded: its leader alive with
// `start_time`, or — the leader gone — any process still in the group (a group id is never
// reused while the group has members). A pid reused by an unrelated process is left alone.
// Waits up to `wait` for the group to be gone (still_there: it was not).
OrphanResult kill_orphaned_group(int pgid, uint64_t start_time, Duration wait);

// The process groups of live processes whose environment says they belong to run `run_id`
// (HIVEHOOK_RUN_ID, which every job and its children inherit). Covers a crash between a run's
// spawn and the commit of its pid/pgid: the run itself was recorded before the spawn.
std::vector<int> groups_of_run(const std::string& run_id);

}  // namespace hivehook
