#include "watcher/watch_table.h"

namespace hivehook {

void WatchTable::set(int wd, const std::string& path) {
  if (auto it = by_wd_.find(wd); it != by_wd_.end()) {
    if (it->second == path) return;
    by_path_.erase(it->second);
    by_wd_.erase(it);
  }
  if (auto it = by_path_.find(path); it != by_path_.end()) {
    by_wd_.erase(it->second);
    by_path_.erase(it);
  }
  by_wd_.emplace(wd, path);
  by_path_.emplace(path, wd);
}

const std::string* WatchTable::path_of(int wd) const {
  auto it = by_wd_.find(wd);
  return it == by_wd_.end() ? nullptr : &it->second;
}

int WatchTable::wd_of(const std::string& path) const {
  auto it = by_path_.find(path);
  return it == by_path_.end() ? -1 : it->second;
}

bool WatchTable::erase_wd(int wd) {
  auto it = by_wd_.find(wd);
  if (it == by_wd_.end()) return false;
  by_path_.erase(it->second);
  by_wd_.erase(it);
  return true;
}

std::vector<int> WatchTable::erase_subtree(const std::string& path) {
  std::vector<int> removed;
  if (auto it = by_path_.find(path); it != by_path_.end()) {
    removed.push_back(it->second);
    by_wd_.erase(it->second);
    by_path_.erase(it);
  }
  const std::string prefix = path == "/" ? path : path + "/";
  auto it = by_path_.lower_bound(prefix);
  while (it != by_path_.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
    removed.push_back(it->second);
    by_wd_.erase(it->second);
    it = by_path_.erase(it);
  }
  return removed;
}

std::vector<int> WatchTable::wds() const {
  std::vector<int> out;
  out.reserve(by_wd_.size());
  for (const auto& [wd, path] : by_wd_) out.push_back(wd);
  return out;
}

void WatchTable::clear() {
  by_wd_.clear();
  by_path_.clear();
}

}  // namespace hivehook
