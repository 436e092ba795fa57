// Recursive inotify over the landing tree. Drains the kernel queue on the event loop and hands out
// hints; the filesystem stays the truth (a new folder is watched, then reported for a scan).
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hivehook {

struct WatcherCallbacks {
  // A file was closed after writing or moved in (never on IN_CREATE). `key` relative to landing.
  // A hint: the caller lstat()s the path (it may be gone already, or be a symlink moved in).
  std::function<void(const std::filesystem::path& path, const std::string& key)> on_file;
  // A file appeared without being written (IN_CREATE): a hard link (`cp -l`, `rsync --link-dest`)
  // is complete at once, while a new file being written is still open — the caller checks which
  // (DESIGN.md "Complete"); the writer's close then arrives through on_file.
  std::function<void(const std::filesystem::path& path, const std::string& key)> on_created;
  // A folder appeared (created or moved in) and is now watched, recursively: the caller scans it,
  // because files may have landed before the watch existed.
  std::function<void(const std::filesystem::path& dir)> on_new_dir;
  // IN_Q_OVERFLOW: events were lost; the caller rescans everything. Called after the watcher has
  // re-walked the tree (new folders whose events were lost are watched by then); the walk goes in
  // slices that yield to the loop, so this comes some loop turns after the overflow.
  std::function<void()> on_overflow;
  // inotify_add_watch failed (e.g. ENOSPC: max_user_watches). The subtree is not watched; the
  // caller keeps it covered by periodic scans. `message` says which limit and how to raise it.
  std::function<void(const std::filesystem::path& dir, const std::string& message)> on_watch_error;
  // The landing folder itself was renamed or deleted: nothing is watched until retry_unwatched()
  // finds it again (landing_missing() says so meanwhile).
  std::function<void()> on_landing_lost;
};

class InotifyWatcher {
 public:
  InotifyWatcher(boost::asio::io_context& io, std::filesystem::path landing, WatcherCallbacks callbacks);
  ~InotifyWatcher();
  // Adds watches on landing and every folder below it (symlinks never followed). Throws
  // std::system_error when inotify itself cannot be set up or landing is not an existing folder.
  // Watch errors for sub-folders go to on_watch_error (possibly from within start()). Events are
  // read and dispatched on the io_context's thread; callbacks may call stop().
  void start();
  void stop();
  std::size_t watch_count() const;
  // Folders whose watch could not be added (covered by periodic scans instead).
  std::size_t unwatched_count() const;
  // The landing folder was renamed or deleted and is not watched again yet.
  bool landing_missing() const;
  // An overflow's resync walk is under way (in slices of at most ~10 ms, events handled between
  // them); on_overflow is called when it is done.
  bool resyncing() const;
  // The caller found another folder (or none) at landing's path while the watches are on the old
  // one (deleted while this process held it open: no IN_DELETE_SELF comes): drops every watch as
  // after a rename; retry_unwatched() watches the folder at the path again.
  void drop_landing(const char* what);
  // The top folders of the unwatched subtrees.
  std::vector<std::filesystem::path> unwatched_dirs() const;
  // Tries to watch the unwatched folders again (e.g. after the limit was raised, or the landing
  // folder itself is back after being renamed/deleted); each subtree that is now watched is
  // reported through on_new_dir, so files that landed meanwhile get scanned. The daemon calls it
  // with every periodic reconcile scan.
  void retry_unwatched();

  // Test seam: while paused the watcher does not read the inotify fd, so the kernel queue fills
  // and eventually overflows (IN_Q_OVERFLOW). Tests use it with a small
  // fs.inotify.max_queued_events to force an overflow. Unpausing resumes reading.
  void pause_reading(bool paused);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hivehook
