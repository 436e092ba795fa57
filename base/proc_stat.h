// Facts about a live process from /proc/<pid>/stat (proc(5)): enough to tell a process from a
// later one that reuses its pid.
#pragma once

#include <cstdint>
#include <optional>

namespace hivehook {

struct ProcStat {
  int pid = 0;
  int pgrp = 0;             // field 5: process group id
  uint64_t start_time = 0;  // field 22: clock ticks after boot
  char state = '?';         // field 3: R, S, D, Z (zombie), ...
};

// nullopt when no such process exists (or /proc is not mounted).
std::optional<ProcStat> read_proc_stat(int pid);

}  // namespace hivehook
