// One inotify instance on the event loop: add/remove watches, and read events without blocking,
// parsed (inotify(7) records: wd, mask, cookie, name). The landing watcher and the rules watcher
// both read through it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace hivehook {

struct InotifyEvent {
  int wd = -1;
  uint32_t mask = 0;
  uint32_t cookie = 0;
  std::string_view name;  // empty for events on the watched folder itself
};

class InotifyFd {
 public:
  // Returns false when continuing makes no sense (the owner stopped or destroyed the reader).
  using Handler = std::function<bool(const InotifyEvent&)>;

  // inotify_init1(IN_NONBLOCK | IN_CLOEXEC); throws std::system_error when the kernel refuses
  // (EMFILE: fs.inotify.max_user_instances).
  explicit InotifyFd(boost::asio::io_context& io);
  ~InotifyFd();
  InotifyFd(const InotifyFd&) = delete;
  InotifyFd& operator=(const InotifyFd&) = delete;

  // inotify_add_watch: the watch descriptor, or -1 with errno set.
  int add_watch(const std::string& path, uint32_t mask);
  void rm_watch(int wd);  // EINVAL (already gone) is not an error
  // Starts (or resumes) reading: each readiness wake-up reads one 4 KiB buffer (about 128 events)
  // and calls `on_event` per event on the loop thread, in order, for at most ~10 ms at a time:
  // the rest of the buffer is handed out in later loop turns (after the loop's other handlers)
  // before anything new is read.
  void read(Handler on_event);
  // While paused nothing is read, so the kernel queue fills and eventually overflows
  // (IN_Q_OVERFLOW): a test seam.
  void pause(bool paused);
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hivehook
