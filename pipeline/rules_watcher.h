// Hot reload: watches the rules file (or folder of *.yaml) and calls back, debounced, after an
// edit, whether the editor saved in place (IN_CLOSE_WRITE) or by write-then-rename (IN_MOVED_TO).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>

#include "base/clock.h"

namespace hivehook {

class RulesWatcher {
 public:
  RulesWatcher(boost::asio::io_context& io, std::filesystem::path rules_path, std::function<void()> on_change,
               Duration debounce = std::chrono::milliseconds(150));
  // Returns false (and logs) when inotify cannot be set up; the daemon then reloads on SIGHUP only.
  bool start();
  void stop();

 private:
  void read();
  bool relevant(const std::string& name) const;

  std::filesystem::path path_;
  bool is_dir_ = false;
  std::function<void()> on_change_;
  Duration debounce_;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer timer_;
  alignas(8) char buf_[8192];
};

}  // namespace hivehook
