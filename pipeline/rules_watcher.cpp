#include "pipeline/rules_watcher.h"

#include <sys/inotify.h>

#include <cstring>
#include <spdlog/spdlog.h>

namespace hivehook {

RulesWatcher::RulesWatcher(boost::asio::io_context& io, std::filesystem::path rules_path,
                           std::function<void()> on_change, Duration debounce)
    : path_(std::move(rules_path)), on_change_(std::move(on_change)), debounce_(debounce), fd_(io),
      timer_(io) {}

bool RulesWatcher::start() {
  std::error_code ec;
  is_dir_ = std::filesystem::is_directory(path_, ec);
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("rules hot reload off: inotify_init1: {}", std::strerror(errno));
    return false;
  }
  fd_.assign(fd);
  // Watch the folder that holds the rules: editors replace files by rename, which a watch on the
  // file itself would lose.
  auto dir = is_dir_ ? path_ : path_.parent_path();
  uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ONLYDIR;
  if (inotify_add_watch(fd, dir.c_str(), mask) < 0) {
    spdlog::warn("rules hot reload off: cannot watch {}: {}", dir.string(), std::strerror(errno));
    return false;
  }
  read();
  return true;
}

void RulesWatcher::stop() {
  timer_.cancel();
  boost::system::error_code ec;
  fd_.close(ec);
}

bool RulesWatcher::relevant(const std::string& name) const {
  if (!is_dir_) return name == path_.filename().string();
  auto ext = std::filesystem::path(name).extension();
  return !name.empty() && name[0] != '.' && (ext == ".yaml" || ext == ".yml");
}

void RulesWatcher::read() {
  fd_.async_read_some(boost::asio::buffer(buf_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec) return;
    bool changed = false;
    for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
      auto* ev = reinterpret_cast<const inotify_event*>(buf_ + off);
      std::string name = ev->len ? std::string(ev->name) : std::string();
      // IN_CREATE alone is an empty file being written: wait for its close or rename.
      if (!(ev->mask & IN_CREATE) && relevant(name)) changed = true;
      off += sizeof(inotify_event) + ev->len;
    }
    if (changed) {
      timer_.expires_after(debounce_);
      timer_.async_wait([this](const boost::system::error_code& tec) {
        if (!tec) on_change_();
      });
    }
    read();
  });
}

}  // namespace hivehook
