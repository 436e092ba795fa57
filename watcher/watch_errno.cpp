#include "watcher/watch_errno.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace hivehook {

WatchFailure classify_watch_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return WatchFailure::gone;
    case ENOSPC:
      return WatchFailure::limit;
    default:
      return WatchFailure::other;
  }
}

namespace {
std::string current_max_user_watches() {
  std::ifstream in("/proc/sys/fs/inotify/max_user_watches");
  std::string value;
  if (!(in >> value)) return "unknown";
  return value;
}
}  // namespace

std::string watch_limit_reached() {
  return "inotify watch limit reached (fs.inotify.max_user_watches=" + current_max_user_watches() + ")";
}

std::string watch_error_message(const std::string& dir, int err) {
  if (classify_watch_errno(err) == WatchFailure::limit) {
    return watch_limit_reached() + ": " + dir +
           " is not watched; it is covered by the periodic scan. Raise it with: sysctl "
           "fs.inotify.max_user_watches=524288";
  }
  return "cannot watch " + dir + ": " + std::strerror(err) + "; it is covered by the periodic scan";
}

}  // namespace hivehook
