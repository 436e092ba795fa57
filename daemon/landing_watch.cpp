#include "daemon/landing_watch.h"

#include <spdlog/spdlog.h>

namespace hivehook {

namespace {
constexpr auto kUnwatchedEvery = std::chrono::seconds(5);
// A missing landing folder is looked for this often, so files dropped once it is back run at once.
constexpr auto kLandingBackEvery = std::chrono::seconds(1);

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
                           PipelineStats& stats)
    : timers_(timers),
      config_(config),
      pipeline_(pipeline),
      stats_(stats),
      watcher_(io, config.landing, callbacks(pipeline, stats, [this] { on_overflow(); }, [this] { on_landing_lost(); })) {}

void LandingWatch::start() {
  watcher_.start();
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
  landing_back_.stop();
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
// hivehook_landing_missing gauge) and looked for every second; once back it is watched and scanned.
void LandingWatch::on_landing_lost() {
  stats_.m.landing_missing.set(1);
  stats_.m.watched_directories.set(0);
  pipeline_.emit("watch.error", std::nullopt,
                 {{"dir", config_.landing.string()}, {"error", "the landing folder is missing (renamed or deleted)"}});
  landing_back_.start(timers_, kLandingBackEvery, [this] {
    watcher_.retry_unwatched();  // scans it (on_new_dir) when it is watched again
    if (watcher_.landing_missing()) return true;
    stats_.m.landing_missing.set(0);
    stats_.m.watched_directories.set(static_cast<double>(watcher_.watch_count()));
    stats_.m.unwatched_directories.set(static_cast<double>(watcher_.unwatched_count()));
    spdlog::warn("the landing folder {} is back: watched again ({} folders) and scanned", config_.landing.string(),
                 watcher_.watch_count());
    return false;
  });
}

void LandingWatch::cover_unwatched() {
  if (watcher_.unwatched_count() > 0) {
    watcher_.retry_unwatched();
    for (const auto& dir : watcher_.unwatched_dirs()) pipeline_.scan(dir);
  }
  stats_.m.watched_directories.set(static_cast<double>(watcher_.watch_count()));
  stats_.m.unwatched_directories.set(static_cast<double>(watcher_.unwatched_count()));
}

}  // namespace hivehook
