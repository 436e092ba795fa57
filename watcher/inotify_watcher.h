// Recursive inotify over the landing tree. Drains the kernel queue on the event loop and hands out
// hints; the filesystem stays the truth (a new folder is watched, then reported for a scan).
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace hivehook {

struct WatcherCallbacks {
  // A file was closed after writing or moved in (never on IN_CREATE). `key` relative to landing.
  std::function<void(const std::filesystem::path& path, const std::string& key)> on_file;
  // A folder appeared (created or moved in) and is now watched, recursively: the caller scans it,
  // because files may have landed before the watch existed.
  std::function<void(const std::filesystem::path& dir)> on_new_dir;
  // IN_Q_OVERFLOW: events were lost; the caller rescans everything.
  std::function<void()> on_overflow;
  // inotify_add_watch failed (e.g. ENOSPC: max_user_watches). The subtree is not watched; the
  // caller keeps it covered by periodic scans. `message` says which limit and how to raise it.
  std::function<void(const std::filesystem::path& dir, const std::string& message)> on_watch_error;
};

class InotifyWatcher {
 public:
  InotifyWatcher(boost::asio::io_context& io, std::filesystem::path landing, WatcherCallbacks callbacks);
  ~InotifyWatcher();
  // Adds watches on landing and every folder below it. Throws std::system_error when inotify
  // itself cannot be set up.
  void start();
  void stop();
  std::size_t watch_count() const;
  // Folders whose watch could not be added (covered by periodic scans instead).
  std::size_t unwatched_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hivehook
