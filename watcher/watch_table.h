// The watcher's bookkeeping: watch descriptor <-> folder path, both ways, with subtree removal.
// Pure data (no inotify calls), so it is tested on its own.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace hivehook {

class WatchTable {
 public:
  // Records that `wd` watches `path`. A stale mapping of either side is dropped first (the kernel
  // hands out the same wd when an inode is watched again, e.g. under a new name).
  void set(int wd, const std::string& path);
  // The folder `wd` watches, or nullptr. O(1): events are resolved through a hash map.
  const std::string* path_of(int wd) const;
  // The wd watching `path`, or -1.
  int wd_of(const std::string& path) const;
  // Forgets one wd (IN_IGNORED, IN_DELETE_SELF); false when it was not known.
  bool erase_wd(int wd);
  // Forgets `path` and every path below it ("path/..."); returns their wds.
  std::vector<int> erase_subtree(const std::string& path);
  std::vector<int> wds() const;
  std::size_t size() const { return by_wd_.size(); }
  void clear();

 private:
  std::unordered_map<int, std::string> by_wd_;
  // Ordered so that a subtree ("path/" prefix) is one contiguous range.
  std::map<std::string, int> by_path_;
};

}  // namespace hivehook
