#include "jobs/job_groups.h"

#include <signal.h>

#include <mutex>
#include <set>

namespace hivehook::job_groups {

namespace {
std::mutex& mu() {
  static std::mutex m;
  return m;
}
std::set<int>& groups() {
  static std::set<int> g;
  return g;
}
}  // namespace

void add(int pgid) {
  if (pgid <= 0) return;
  std::lock_guard<std::mutex> l(mu());
  groups().insert(pgid);
}

void remove(int pgid) {
  std::lock_guard<std::mutex> l(mu());
  groups().erase(pgid);
}

std::size_t signal_all(int sig) {
  std::lock_guard<std::mutex> l(mu());
  std::size_t n = 0;
  for (int pgid : groups())
    if (::kill(-pgid, sig) == 0) ++n;
  return n;
}

}  // namespace hivehook::job_groups
