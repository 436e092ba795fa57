#include "jobs/orphans.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <filesystem>
#include <string>
#include <thread>

#include "base/proc_stat.h"

namespace hivehook {

namespace {
// A live (not zombie) process in group `pgid`? Zombies are dead already; whoever reaps them (init
// in a container may not) does not matter here.
bool group_exists(int pgid) {
  if (::kill(-pgid, 0) != 0 && errno != EPERM) return false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto st = read_proc_stat(std::stoi(name));
    if (st && st->pgrp == pgid && st->state != 'Z') return true;
  }
  return false;
}
// Whether /proc/<pid>/environ holds the entry `wanted` ("NAME=value").
bool environ_has(const std::string& pid, const std::string& wanted) {
  std::ifstream in("/proc/" + pid + "/environ", std::ios::binary);
  if (!in) return false;
  std::string entry;
  while (std::getline(in, entry, '\0'))
    if (entry == wanted) return true;
  return false;
}
}  // namespace

std::vector<int> groups_of_run(const std::string& run_id) {
  std::vector<int> groups;
  if (run_id.empty()) return groups;
  const std::string wanted = "HIVEHOOK_RUN_ID=" + run_id;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto st = read_proc_stat(std::stoi(name));
    if (!st || st->state == 'Z' || !environ_has(name, wanted)) continue;
    if (std::find(groups.begin(), groups.end(), st->pgrp) == groups.end()) groups.push_back(st->pgrp);
  }
  return groups;
}

OrphanResult kill_orphaned_group(int pgid, uint64_t start_time, Duration wait) {
  if (pgid <= 1 || pgid == ::getpgrp()) return OrphanResult::none;
  if (auto leader = read_proc_stat(pgid)) {
    // The leader's pid is alive: ours only with the recorded start time (else it was reused, and
    // our group, which could not outlive that reuse, is gone).
    if (start_time && leader->start_time != start_time) return OrphanResult::none;
  }
  if (!group_exists(pgid)) return OrphanResult::none;
  ::kill(-pgid, SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (group_exists(pgid)) {
    if (std::chrono::steady_clock::now() >= deadline) return OrphanResult::still_there;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return OrphanResult::killed;
}

}  // namespace hivehook
