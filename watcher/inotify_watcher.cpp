#include "watcher/inotify_watcher.h"

#include <boost/asio/post.hpp>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <spdlog/spdlog.h>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <vector>

#include "watcher/inotify_fd.h"
#include "watcher/watch_errno.h"
#include "watcher/watch_table.h"

namespace hivehook {

namespace {

namespace fs = std::filesystem;

// IN_CREATE: new folders, and files that appear without being written (hard links); a file being
// written is discovered when closed. IN_EXCL_UNLINK: no events from files already unlinked.
constexpr uint32_t kFolderMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MOVED_FROM | IN_DELETE_SELF |
                                 IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;
// The landing root may itself be a symlink the user configured (e.g. to another disk): follow it.
constexpr uint32_t kRootMask = kFolderMask & ~IN_DONT_FOLLOW;
// The overflow's resync walks the tree in slices of at most this long (and of kResyncSliceSteps
// steps, the clock read once per so many), yielding to the loop between them, as inotify events
// are handed out (inotify_fd.cpp) and scans walk (pipeline/landing_scan.h): one walk of a tree
// with a 100,000-file folder held the loop for 786 ms (docs/performance.md).
constexpr auto kResyncSlice = std::chrono::milliseconds(10);
constexpr std::size_t kResyncSliceSteps = 2048;
constexpr std::size_t kResyncClockEvery = 64;

// A walk adding watches to a subtree, one step at a time: each folder is watched before it is
// listed, so a child created meanwhile is either listed or reported by an event.
struct TreeWalk {
  std::vector<std::string> stack;                // folders still to watch and list
  std::optional<fs::directory_iterator> listing;  // the folder being listed
  std::string listing_dir;
  std::unordered_set<int> seen;  // every wd watched (or found watched) by this walk
  bool limit_reported = false;   // the watch limit reported once per walk
};

std::string join(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out.append(name);
  return out;
}

std::string normalize_landing(const fs::path& landing) {
  std::string s = fs::absolute(landing).lexically_normal().native();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

struct InotifyWatcher::Impl {
  Impl(boost::asio::io_context& io, const fs::path& landing, WatcherCallbacks callbacks)
      : io(io), landing(normalize_landing(landing)), cb(std::move(callbacks)) {}

  boost::asio::io_context& io;
  const std::string landing;
  WatcherCallbacks cb;
  std::optional<InotifyFd> fd;
  WatchTable table;
  std::set<std::string> unwatched;  // tops of subtrees that could not be watched
  bool at_limit = false;             // the watch limit was hit and reported; quiet until all are watched again
  bool running = false;
  bool paused = false;
  bool root_missing = false;  // the landing folder was renamed or deleted and is not watched again yet
  // Completion handlers hold a weak reference: a handler queued before destruction does nothing.
  std::shared_ptr<int> life = std::make_shared<int>(0);

  std::string key_of(const std::string& path) const {
    return landing == "/" ? path.substr(1) : path.substr(landing.size() + 1);
  }

  void start() {
    if (running) return;
    std::error_code ec;
    auto st = fs::status(landing, ec);
    if (ec) throw std::system_error(ec, "cannot watch landing folder " + landing);
    if (!fs::is_directory(st))
      throw std::system_error(std::make_error_code(std::errc::not_a_directory),
                              "cannot watch landing folder " + landing);
    fd.emplace(io);
    fd->pause(paused);
    running = true;
    add_tree(landing, /*force=*/true);
    std::weak_ptr<int> alive = life;
    fd->read([this, alive](const InotifyEvent& ev) {
      handle(ev);
      return !alive.expired() && running;
    });
  }

  void stop() {
    running = false;
    resyncing.reset();
    fd.reset();  // closing the inotify fd drops every watch at once
    table.clear();
    unwatched.clear();
  }

  // One inotify_add_watch; failures go through classify_watch_errno and are reported here.
  // The watch limit is reported once per change: when it is first hit (every further folder fails
  // the same way and is set aside quietly, also on each periodic retry), and again only after every
  // folder was watched once more (see retry_unwatched). Returns the wd, or -1.
  int add_watch(const std::string& dir, bool* limit_reported) {
    const uint32_t mask = dir == landing ? kRootMask : kFolderMask;
    int wd = fd->add_watch(dir, mask);
    if (wd >= 0) {
      if (dir == landing) root_missing = false;
      return wd;
    }
    const int err = errno;
    const WatchFailure failure = classify_watch_errno(err);
    // Nothing left to watch; but a missing landing stays set aside, tried again until it is back
    // (issue 16 N12: it was dropped here, and nothing was watched again until a restart).
    if (failure == WatchFailure::gone) {
      if (dir == landing) unwatched.insert(dir);
      return -1;
    }
    unwatched.insert(dir);
    if (failure == WatchFailure::limit) {
      if (*limit_reported || at_limit) return -1;
      *limit_reported = true;
      at_limit = true;
    }
    std::string message = watch_error_message(dir, err);
    if (cb.on_watch_error)  // the owner logs it (the daemon: once, with its audit event; retest T6)
      cb.on_watch_error(dir, message);
    else
      spdlog::warn("{}", message);
    return -1;
  }

  // Watches `top` and every real folder below it (symlinks never followed), all at once (start,
  // a new folder, a retry). Unless `force`, stops early when `top` is already watched under this
  // very path (its subtree then is too). Returns true when `top` is now newly watched.
  bool add_tree(const std::string& top, bool force, bool* limit_reported_in = nullptr) {
    if (!running) return false;
    TreeWalk w;
    if (limit_reported_in) w.limit_reported = *limit_reported_in;
    const std::string* before = nullptr;
    if (!force) {
      const int wd = fd->add_watch(top, top == landing ? kRootMask : kFolderMask);  // its wd if watched already
      before = wd >= 0 ? table.path_of(wd) : nullptr;
      if (before && *before == top) return false;
    }
    w.stack.push_back(top);
    while (step(w)) {
    }
    if (limit_reported_in) *limit_reported_in = w.limit_reported;
    return !w.seen.empty();
  }

  // One step of `w`: the next entry of the folder being listed (a sub-folder is pushed), or the
  // next folder watched and opened. False when the walk is done.
  bool step(TreeWalk& w) {
    if (w.listing) {
      std::error_code ec;
      auto& it = *w.listing;
      if (it == fs::directory_iterator()) {
        w.listing.reset();
        return true;
      }
      std::error_code type_ec;
      // symlink_status: lstat semantics (usually free from d_type), so symlinks are never followed.
      if (it->symlink_status(type_ec).type() == fs::file_type::directory)
        w.stack.push_back(join(w.listing_dir, it->path().filename().native()));
      it.increment(ec);
      if (ec) {
        if (classify_watch_errno(ec.value()) != WatchFailure::gone)
          spdlog::warn("listing {} stopped: {}", w.listing_dir, ec.message());
        w.listing.reset();
      }
      return true;
    }
    if (w.stack.empty() || !running) return false;
    std::string dir = std::move(w.stack.back());
    w.stack.pop_back();
    // At the watch limit, folders already watched still succeed (the kernel returns their wd):
    // the walk goes on so a resync keeps them.
    const int wd = add_watch(dir, &w.limit_reported);
    if (wd < 0) return true;  // not descended: the subtree is in `unwatched` (or gone)
    w.seen.insert(wd);
    if (resyncing && &w != &resyncing->walk) resyncing->walk.seen.insert(wd);  // kept by the resync's pruning
    table.set(wd, dir);
    unwatched.erase(dir);
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      if (classify_watch_errno(ec.value()) != WatchFailure::gone)
        spdlog::warn("cannot list {}: {}; it is covered by the periodic scan", dir, ec.message());
      return true;
    }
    w.listing.emplace(std::move(it));
    w.listing_dir = std::move(dir);
    return true;
  }

  void drop_subtree(const std::string& path) {
    for (int wd : table.erase_subtree(path)) fd->rm_watch(wd);  // EINVAL: already gone
    const std::string prefix = path + "/";
    for (auto it = unwatched.lower_bound(path); it != unwatched.end();) {
      if (*it == path || it->compare(0, prefix.size(), prefix) == 0)
        it = unwatched.erase(it);
      else if (*it > prefix)
        break;
      else
        ++it;
    }
  }

  // Renaming or deleting the landing folder itself is not supported: the old watches would report
  // paths that no longer exist. Drop them all; landing becomes an unwatched folder, watched again
  // by retry_unwatched() once it exists again (periodic scans cover it meanwhile).
  void lose_root(const char* what) {
    spdlog::error("the landing folder {} was {}: nothing is watched until it is back (looked for every second)",
                  landing, what);
    root_missing = true;
    resyncing.reset();  // nothing left to walk; the folder, once back, is watched and scanned anew
    for (int wd : table.wds()) fd->rm_watch(wd);
    table.clear();
    unwatched.clear();
    unwatched.insert(landing);
  }

  // After an overflow, events (new folders, moves) were lost: walk the whole tree again, re-adding
  // watches (the kernel returns the existing wd for a watched folder) and dropping watches on
  // folders that are no longer where we thought; then on_overflow (the caller's rescan). The walk
  // goes in slices (kResyncSlice), events are handled between them (a folder they watch is kept);
  // an overflow during the walk walks once more after it.
  struct Resync {
    TreeWalk walk;
    bool again = false;
    std::size_t slices = 0;
  };
  std::optional<Resync> resyncing;

  void resync() {
    if (resyncing) {
      resyncing->again = true;
      return;
    }
    resyncing.emplace();
    resyncing->walk.stack.push_back(landing);
    resync_slice();
  }

  void resync_slice() {
    if (!running || !resyncing) return;
    const auto until = std::chrono::steady_clock::now() + kResyncSlice;
    for (std::size_t n = 1; step(resyncing->walk); ++n) {
      if (n < kResyncSliceSteps && (n % kResyncClockEvery != 0 || std::chrono::steady_clock::now() < until)) continue;
      ++resyncing->slices;
      std::weak_ptr<int> alive = life;
      boost::asio::post(io, [this, alive] {
        if (!alive.expired()) resync_slice();
      });
      return;
    }
    resync_done();
  }

  void resync_done() {
    const std::unordered_set<int> seen = std::move(resyncing->walk.seen);
    const bool again = resyncing->again;
    const std::size_t slices = resyncing->slices + 1;
    resyncing.reset();
    for (int wd : table.wds()) {
      if (seen.count(wd)) continue;
      table.erase_wd(wd);
      fd->rm_watch(wd);
    }
    if (again) return resync();  // events were lost during the walk: once more
    spdlog::info("inotify resync after the overflow done: {} folders watched ({} slices)", table.size(), slices);
    if (cb.on_overflow) cb.on_overflow();
  }

  void retry_unwatched() {
    std::set<std::string> retry;
    retry.swap(unwatched);
    std::weak_ptr<int> alive = life;
    bool limit_reported = false;  // once for the whole retry, not once per folder
    for (const auto& dir : retry) {
      if (!running) return;
      if (add_tree(dir, /*force=*/true, &limit_reported) && cb.on_new_dir) {
        cb.on_new_dir(dir);
        if (alive.expired()) return;
      }
    }
    if (at_limit && unwatched.empty()) {
      at_limit = false;  // the next time the limit is hit is a change, reported again
      spdlog::info("every folder under {} is watched again", landing);
    }
  }

  void handle(const InotifyEvent& ev) {
    const std::string name(ev.name);
    if (ev.mask & IN_Q_OVERFLOW) {
      spdlog::warn("inotify queue overflowed (fs.inotify.max_queued_events): events were lost, rescanning");
      resync();  // on_overflow once the walk is done
      return;
    }
    if (ev.mask & IN_IGNORED) {  // the kernel dropped the watch (folder deleted, unmounted, rm_watch)
      table.erase_wd(ev.wd);
      return;
    }
    const std::string* dir_ptr = table.path_of(ev.wd);
    if (!dir_ptr) return;  // an event still queued for a watch we dropped
    const std::string dir = *dir_ptr;  // a copy: the table changes below

    if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
      if (dir == landing) {
        lose_root(ev.mask & IN_DELETE_SELF ? "deleted" : "renamed");
        if (cb.on_landing_lost) cb.on_landing_lost();
      } else if (ev.mask & IN_DELETE_SELF) {
        table.erase_wd(ev.wd);
      }
      // A sub-folder's move is handled through its parent's IN_MOVED_FROM / IN_MOVED_TO.
      return;
    }
    if (name.empty()) return;
    const std::string path = join(dir, name);

    if (ev.mask & IN_ISDIR) {
      if (ev.mask & IN_MOVED_FROM) {
        // Moved out of landing, or renamed within it: either way the old paths are wrong now. A
        // rename within landing also produces IN_MOVED_TO, which watches it again under the new name.
        drop_subtree(path);
      } else if (ev.mask & (IN_CREATE | IN_MOVED_TO)) {
        // Watch the whole subtree first, then report it once so the caller scans it.
        if (add_tree(path, /*force=*/false) && cb.on_new_dir) cb.on_new_dir(path);
      }
      return;
    }
    // Files: closed after writing, or moved in; a bare IN_CREATE only as a hint to check (a hard
    // link is complete, a file being written is not). The caller lstat()s the path (it may be a
    // symlink moved in, or already gone).
    if ((ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) && cb.on_file) cb.on_file(path, key_of(path));
    else if ((ev.mask & IN_CREATE) && cb.on_created) cb.on_created(path, key_of(path));
  }
};

InotifyWatcher::InotifyWatcher(boost::asio::io_context& io, std::filesystem::path landing, WatcherCallbacks callbacks)
    : impl_(std::make_unique<Impl>(io, landing, std::move(callbacks))) {}

InotifyWatcher::~InotifyWatcher() { impl_->stop(); }

void InotifyWatcher::start() { impl_->start(); }
void InotifyWatcher::stop() { impl_->stop(); }
std::size_t InotifyWatcher::watch_count() const { return impl_->table.size(); }
std::size_t InotifyWatcher::unwatched_count() const { return impl_->unwatched.size(); }
bool InotifyWatcher::landing_missing() const { return impl_->root_missing; }
bool InotifyWatcher::resyncing() const { return impl_->resyncing.has_value(); }
void InotifyWatcher::drop_landing(const char* what) {
  if (impl_->running) impl_->lose_root(what);
}

std::vector<std::filesystem::path> InotifyWatcher::unwatched_dirs() const {
  return {impl_->unwatched.begin(), impl_->unwatched.end()};
}

void InotifyWatcher::retry_unwatched() { impl_->retry_unwatched(); }

void InotifyWatcher::pause_reading(bool paused) {
  impl_->paused = paused;
  if (impl_->fd) impl_->fd->pause(paused);
}

}  // namespace hivehook
