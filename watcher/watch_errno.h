// The one place that decides what an inotify_add_watch (or folder listing) errno means.
#pragma once

#include <string>

namespace hivehook {

enum class WatchFailure {
  gone,   // ENOENT/ENOTDIR: the folder vanished or was replaced meanwhile; nothing to watch
  limit,  // ENOSPC: fs.inotify.max_user_watches reached; degrade loudly to periodic scans
  other,  // EACCES, ENOMEM, ...: reported, the subtree is covered by periodic scans
};

WatchFailure classify_watch_errno(int err);

// The sentence given to on_watch_error. For ENOSPC it names the limit, its current value (read
// from /proc/sys/fs/inotify/max_user_watches) and how to raise it.
std::string watch_error_message(const std::string& dir, int err);

// "inotify watch limit reached (fs.inotify.max_user_watches=N)".
std::string watch_limit_reached();

}  // namespace hivehook
