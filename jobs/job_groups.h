// The process groups of the jobs this process runs, kept where any thread can reach them: a node
// of a cluster that lost its lease (docs/cluster.md "Fencing") kills its jobs at once, from the
// lease keeper's thread, even while its loop is blocked on a database that does not answer.
// Every job leads its own process group (jobs/spawn.cpp), so the pgid is the job's pid.
#pragma once

#include <cstddef>

namespace hivehook::job_groups {

// Records a job's process group (at spawn). Thread-safe.
void add(int pgid);
// Forgets it (the job ended and was reaped). Thread-safe.
void remove(int pgid);
// Sends `sig` to every recorded group (kill(2) with -pgid) and returns how many were signalled.
// Thread-safe; the groups stay recorded (their runner reaps them and removes them as usual).
std::size_t signal_all(int sig);

}  // namespace hivehook::job_groups
