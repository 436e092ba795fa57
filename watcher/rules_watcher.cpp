#include "watcher/rules_watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "watcher/watch_errno.h"

namespace hivehook {

namespace {
constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ONLYDIR;

bool is_symlink_entry(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}
}  // namespace

RulesWatcher::RulesWatcher(boost::asio::io_context& io, Timers& timers, std::filesystem::path rules_path,
                           std::function<void()> on_change, Duration debounce)
    : io_(io), timers_(timers), path_(std::move(rules_path)), on_change_(std::move(on_change)), debounce_(debounce) {}

bool RulesWatcher::start() {
  std::error_code ec;
  is_dir_ = std::filesystem::is_directory(path_, ec);
  try {
    fd_.emplace(io_);
  } catch (const std::system_error& e) {
    spdlog::warn("rules hot reload off: {}", e.what());
    return false;
  }
  if (!add_watches() && !retrying_) retry_later();
  fd_->read([this](const InotifyEvent& ev) { return on_event(ev); });
  return true;
}

namespace {
// Why a rules watch could not be added, said as what it means for rules edits.
std::string rules_watch_failure(const std::string& dir, int err) {
  std::string why = classify_watch_errno(err) == WatchFailure::limit
                        ? watch_limit_reached() + ": " + dir + " is not watched"
                        : "cannot watch " + dir + ": " + std::strerror(err);
  return "rules hot reload off: " + why + "; rules edits are not reloaded (SIGHUP reloads; tried again every " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(RulesWatcher::kRetry).count()) + " s)";
}
}  // namespace

// Watch the folder that holds the rules path: editors replace files by rename, and symlink
// switches replace the path itself, which a watch on the file would lose. Issue 10 retest 3, F4:
// a failure here (the landing tree had used up the inotify watch limit) turned hot reload off for
// good, said as "No space left on device", and `status` kept calling the rules on disk in force.
bool RulesWatcher::add_watches() {
  auto parent = path_.parent_path().empty() ? std::filesystem::path(".") : path_.parent_path();
  if (parent_wd_ < 0) parent_wd_ = fd_->add_watch(parent.string(), kMask);
  if (parent_wd_ < 0) {
    const std::string why = rules_watch_failure(parent.string(), errno);
    if (off_ != why) spdlog::warn("{}", why);
    off_ = why;
    return false;
  }
  if (is_dir_) {
    watch_rules_dir();
    if (dir_wd_ < 0) return false;  // off_ set by watch_rules_dir
  }
  return true;
}

void RulesWatcher::retry_later() {
  retrying_ = true;
  retry_ = timers_.after(kRetry, [this] {
    if (!fd_) return;
    if (!add_watches()) return retry_later();
    retrying_ = false;
    spdlog::info("rules hot reload on again: {} is watched; reloading the rules", path_.string());
    off_.reset();
    on_change_();  // edits made while nothing watched them
  });
}

// The folder is compared by (st_dev, st_ino), not by its resolved path: a rules folder swapped by
// rename (`mv rules rules.old && mv rules.new rules`) keeps the path, and the watch stayed on the
// old folder (issue 10 retest T14: later edits ignored, the old folder's edits reloading).
void RulesWatcher::watch_rules_dir() {
  std::error_code ec;
  auto target = std::filesystem::canonical(path_, ec);
  struct stat st {};
  if (ec || ::stat(target.c_str(), &st) != 0) return;
  if (dir_wd_ >= 0 && target == dir_target_ && st.st_dev == dir_dev_ && st.st_ino == dir_ino_) return;
  if (dir_wd_ >= 0) fd_->rm_watch(dir_wd_);
  dir_wd_ = fd_->add_watch(target.string(), kMask);  // follows the symlink: watches its target
  dir_target_ = dir_wd_ >= 0 ? target : std::filesystem::path();
  dir_dev_ = st.st_dev;
  dir_ino_ = st.st_ino;
  if (dir_wd_ < 0) {
    const std::string why = rules_watch_failure(target.string(), errno);
    if (off_ != why) spdlog::warn("{}", why);
    off_ = why;
    if (!retrying_) retry_later();
  }
}

void RulesWatcher::stop() {
  pending_.reset();
  retry_.reset();
  fd_.reset();
}

bool RulesWatcher::relevant(const InotifyEvent& ev) const {
  const std::string name(ev.name);
  if (name.empty()) return false;
  const bool in_dir = ev.wd == dir_wd_ && ev.wd != parent_wd_;
  const auto dir = in_dir ? dir_target_ : (path_.parent_path().empty() ? "." : path_.parent_path());
  // IN_CREATE alone is an empty file being written: wait for its close or rename. A symlink
  // created in place (`ln -sfn` without a rename) has no later event: it counts at once.
  if ((ev.mask & IN_CREATE) && !is_symlink_entry(dir / name)) return false;
  // Kubernetes' atomic writer swaps a "..data" symlink (beside "..<timestamp>" folders).
  if (name.starts_with("..")) return true;
  if (!in_dir) return name == path_.filename().string();
  auto ext = std::filesystem::path(name).extension();
  return name[0] != '.' && (ext == ".yaml" || ext == ".yml");
}

bool RulesWatcher::on_event(const InotifyEvent& ev) {
  if (!relevant(ev)) return true;
  if (is_dir_ && ev.wd == parent_wd_) watch_rules_dir();  // the rules path may point elsewhere now
  pending_ = timers_.after(debounce_, [this] { on_change_(); });
  return true;
}

}  // namespace hivehook
