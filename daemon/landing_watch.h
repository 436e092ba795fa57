// Keeps the pipeline fed from landing: inotify events, the scan of each new folder, the full
// rescan after an inotify queue overflow, the periodic reconcile scan, and periodic scans of the
// folders inotify could not watch (e.g. beyond fs.inotify.max_user_watches), and the landing folder
// looked for every second while it is missing (renamed or deleted; hivehook_landing_missing).
#pragma once

#include <functional>

#include <boost/asio/io_context.hpp>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <utility>

#include "base/timers.h"
#include "pipeline/pipeline.h"
#include "pipeline/stats.h"
#include "rules/config.h"
#include "watcher/inotify_watcher.h"

namespace hivehook {

class LandingWatch {
 public:
  // `reopen_landing`: the file operations move to the folder now at landing's path
  // (FileOps::reopen_landing), before it is watched and scanned again.
  LandingWatch(boost::asio::io_context& io, Timers& timers, const Config& config, Pipeline& pipeline,
               PipelineStats& stats, std::function<void()> reopen_landing);
  // Watches every folder of landing (throws std::system_error when landing cannot be watched),
  // then keeps the reconcile and unwatched-folder timers.
  void start();
  void stop();
  std::size_t watch_count() const;
  // Cluster mode: whether this node leads; the periodic reconcile scan runs only on the leader (a
  // failed move is still retried on every node, each its own). Unset: always.
  std::function<bool()> leads;

 private:
  void on_overflow();
  void on_landing_lost();
  void check_landing();
  void cover_unwatched();
  void rescan(const char* reason);

  Timers& timers_;
  const Config& config_;
  Pipeline& pipeline_;
  PipelineStats& stats_;
  InotifyWatcher watcher_;
  std::function<void()> reopen_landing_;
  Ticker reconcile_, unwatched_, landing_check_;
  std::pair<dev_t, ino_t> watched_{};  // the landing folder watched (stat(2) of its path)
};

}  // namespace hivehook
