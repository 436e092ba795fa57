// Hot reload: watches the rules file (or folder of *.yaml) and calls back, debounced, after an
// edit, whether the editor saved in place (IN_CLOSE_WRITE), wrote and renamed (IN_MOVED_TO), or the
// rules were switched through a symlink: `ln -sfn rules-v2 rules`, or a Kubernetes ConfigMap
// volume, whose atomic writer swaps a `..data` symlink inside the folder, or a folder swapped by
// rename (`mv rules rules.old && mv rules.new rules`): the folder now at the path is watched.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "base/timers.h"
#include "watcher/inotify_fd.h"

namespace hivehook {

class RulesWatcher {
 public:
  RulesWatcher(boost::asio::io_context& io, Timers& timers, std::filesystem::path rules_path,
               std::function<void()> on_change, Duration debounce = std::chrono::milliseconds(150));
  // Returns false (and logs) when inotify cannot be set up; the daemon then reloads on SIGHUP only.
  // A watch that cannot be added (the inotify watch limit reached, issue 10 retest 3 F4) is tried
  // again every kRetry; once it is added the rules are reloaded (edits made meanwhile were missed).
  bool start();
  void stop();
  // Why rules edits are not noticed now ("rules hot reload off: ..."), or nullopt: a degradation
  // for /healthz and `status`.
  std::optional<std::string> off() const { return off_; }
  static constexpr Duration kRetry = std::chrono::seconds(5);

 private:
  bool on_event(const InotifyEvent& ev);
  bool relevant(const InotifyEvent& ev) const;
  void watch_rules_dir();  // (re)points the folder watch at what the rules path resolves to now
  bool add_watches();      // the parent's and the rules folder's; false (off_ set, logged once) on failure
  void retry_later();

  boost::asio::io_context& io_;
  Timers& timers_;
  std::filesystem::path path_;
  bool is_dir_ = false;
  std::function<void()> on_change_;
  Duration debounce_;
  std::optional<InotifyFd> fd_;
  int parent_wd_ = -1;  // the folder holding the rules path (renames, symlink switches)
  int dir_wd_ = -1;     // a rules folder itself, as resolved now
  std::filesystem::path dir_target_;
  dev_t dir_dev_ = 0;  // the watched folder's identity: a folder renamed into the path is another
  ino_t dir_ino_ = 0;
  TimerHandle pending_;
  TimerHandle retry_;
  bool retrying_ = false;
  std::optional<std::string> off_;
};

}  // namespace hivehook
