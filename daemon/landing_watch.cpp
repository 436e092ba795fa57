#include "daemon/landing_watch.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace hivehook {

namespace {
constexpr auto kUnwatchedEvery = std::chrono::seconds(5);
// How often the folder at landing's path is compared with the one watched (and, while it is
// missing, looked for), so files dropped once it is back run at once.
constexpr auto kLandingCheckEvery = std::chrono::seconds(1);

WatcherCallbacks callbacks(Pipeline& pipeline, PipelineStats& stats, std::function<void()> on_overflow,
                           std::function<void()> on_landing_lost) {
  WatcherCallbacks cb;
  cb.on_file = [&pipeline](const std::filesystem::path&, const std::string& key) { pipeline.offer(key, Hint::written); };
  cb.on_created = [&pipeline](const std::filesystem::path&, const std::string& key) {
    pipeline.offer(key, Hint::created);
  };
  cb.on_new_dir = [&pipeline, &stats](const std::filesystem::path& dir) {
    stats.m.scans.labels({"new_directory"}).inc();
    pipeline.scan(dir);
  };
  cb.on_overflow = std::move(on_overflow);
  cb.on_landing_lost = std::move(on_landing_lost);
  cb.on_watch_error = [&pipeline](const std::filesystem::path& dir, const std::string& message) {
    spdlog::error("{}", message);
    pipeline.emit("watch.error", std::nullopt, {{"dir", dir.string()}, {"error", message}});
  };
  return cb;
}
}  // namespace

LandingWatch::LandingWatch(boost::asio::io_context& io, Timers& timers, const Config& config, Pipeline& pipeline,
                           PipelineStats& stats, std::function<void()> reopen_landing)
    : timers_(timers),
      config_(config),
      pipeline_(pipeline),
      stats_(stats),
      watcher_(io, config.landing, callbacks(pipeline, stats, [this] { on_overflow(); }, [this] { on_landing_lost(); })),
      reopen_landing_(std::move(reopen_landing)) {}

void LandingWatch::start() {
  watcher_.start();
  struct stat st {};
  if (::stat(config_.landing.c_str(), &st) == 0) watched_ = {st.st_dev, st.st_ino};
  landing_check_.start(timers_, kLandingCheckEvery, [this] {
    check_landing();
    return true;
  });
  stats_.m.watched_directories.set(static_cast<double>(watcher_.watch_count()));
  stats_.m.unwatched_directories.set(static_cast<double>(watcher_.unwatched_count()));
  if (config_.reconcile.count() > 0)
    reconcile_.start(timers_, config_.reconcile, [this] {
      if (!leads || leads()) rescan("reconcile");
      pipeline_.retry_moves();  // a failed move is also tried again on every reconcile
      return true;
    });
  unwatched_.start(timers_, kUnwatchedEvery, [this] {
    cover_unwatched();
    return true;
  });
}

void LandingWatch::stop() {
  watcher_.stop();
  reconcile_.stop();
  unwatched_.stop();
  landing_check_.stop();
}

std::size_t LandingWatch::watch_count() const { return watcher_.watch_count(); }

// IN_Q_OVERFLOW: events were lost, the filesystem is the truth: rescan everything.
void LandingWatch::on_overflow() {
  stats_.m.watch_overflows.inc();
  pipeline_.emit("watch.overflow", std::nullopt, {{"action", "full rescan"}});
  rescan("overflow");
}

void LandingWatch::rescan(const char* reason) {
  pipeline_.emit("watch.rescan", std::nullopt, {{"reason", reason}});
  stats_.m.scans.labels({reason}).inc();
  pipeline_.scan(config_.landing);
}

// The landing folder itself went away (renamed or deleted): degraded (/healthz, STATUS=, the
// hivehook_landing_missing gauge) until check_landing() finds a folder at its path again.
void LandingWatch::on_landing_lost() {
  if (stats_.m.landing_missing.value() > 0) return;
  stats_.m.landing_missing.set(1);
  stats_.m.watched_directories.set(0);
  pipeline_.emit("watch.error", std::nullopt,
                 {{"dir", config_.landing.string()}, {"error", "the landing folder is missing (renamed or deleted)"}});
}

// Every second: is the folder at landing's path the one watched? Renamed away or deleted (also
// when no inotify event said so: a folder deleted while open gets none), or replaced by another:
// degraded. A folder there again (moved back or made anew): the file operations and the watches
// move to it, and it is scanned (issue 16 N12, retest P5).
void LandingWatch::check_landing() {
  struct stat st {};
  const bool present = ::stat(config_.landing.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
  if (!watcher_.landing_missing()) {
    if (present && id == watched_) return;
    watcher_.drop_landing(present ? "replaced by another folder" : "deleted");  // logs the error
    on_landing_lost();
  }
  if (!present) return;
  reopen_landing_();            // jobs, moves and scans use the folder now at the path
  watcher_.retry_unwatched();   // watches it and scans it (on_new_dir)
  if (watcher_.landing_missing()) return;
  watched_ = id;
  stats_.m.landing_missing.set(0);
  stats_.m.watched_directories.set(static_cast<double>(watcher_.watch_count()));
  stats_.m.unwatched_directories.set(static_cast<double>(watcher_.unwatched_count()));
  spdlog::warn("the landing folder {} is back: watched again ({} folder{}) and scanned", config_.landing.string(),
               watcher_.watch_count(), watcher_.watch_count() == 1 ? "" : "s");
}

void LandingWatch::cover_unwatched() {
  if (watcher_.landing_missing()) return;  // check_landing() brings it back (file operations first)
  if (watcher_.unwatched_count() > 0) {
    watcher_.retry_unwatched();
    for (const auto& dir : watcher_.unwatched_dirs()) pipeline_.scan(dir);
  }
  stats_.m.watched_directories.set(static_cast<double>(watcher_.watch_count()));
  stats_.m.unwatched_directories.set(static_cast<double>(watcher_.unwatched_count()));
}

}  // namespace hivehook
