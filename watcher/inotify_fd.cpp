#include "watcher/inotify_fd.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <spdlog/spdlog.h>
#include <system_error>
#include <vector>

namespace hivehook {

namespace {
// One read of at most this many bytes per readiness wake-up, then back to the loop (timers, child
// reaping, /healthz get a turn): about 128 events of 16-character names, each of which may admit a
// file (a stat, a lookup, a hash, a transition). 64 KiB x 8 reads handed ~16,000 events to one
// callback during an overflow burst and held the loop for seconds (issue 10, fault 8). inotify(7)
// needs at least sizeof(struct inotify_event) + NAME_MAX + 1 bytes for one event.
constexpr std::size_t kBufferSize = 4096;
constexpr int kReadsPerWakeup = 1;
// And one buffer's events are handed out in slices of at most this long: 128 admissions held the
// loop for 2 s on a machine at load 17 (the overflow bench, hivehook's own per-handler timing);
// the rest of the buffer is handed out in the next turn, after timers, reaping and /healthz.
constexpr auto kSlice = std::chrono::milliseconds(10);
}  // namespace

struct InotifyFd::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(boost::asio::io_context& io) : fd(io), buffer(kBufferSize) {}
  boost::asio::posix::stream_descriptor fd;
  std::vector<char> buffer;
  Handler handler;
  bool paused = false;
  bool armed = false;
  std::size_t off = 0, len = 0;  // the events of the last read not handed out yet: buffer[off, len)
  bool continuing = false;       // a drain() for them is posted

  void arm() {
    if (paused || armed || !fd.is_open() || !handler) return;
    armed = true;
    fd.async_wait(boost::asio::posix::descriptor_base::wait_read,
                  [weak = weak_from_this()](boost::system::error_code ec) {
                    auto self = weak.lock();
                    if (!self) return;
                    self->armed = false;
                    if (!ec && !self->paused) self->drain();
                  });
  }

  void drain() {
    auto keep = shared_from_this();  // a handler may close or drop the owner meanwhile
    continuing = false;
    const auto until = std::chrono::steady_clock::now() + kSlice;
    if (off < len) {  // the rest of the last read first, in order
      if (!dispatch(until)) return;
      if (off < len) return go_on();
    }
    for (int i = 0; i < kReadsPerWakeup && fd.is_open() && !paused; ++i) {
      ssize_t n = ::read(fd.native_handle(), buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) spdlog::error("reading inotify events: {}", std::strerror(errno));
        break;
      }
      off = 0;
      len = static_cast<std::size_t>(n);
      if (n == 0 || !dispatch(until)) break;
      if (off < len) return go_on();
    }
    arm();
  }

  // The rest of the buffer in the next loop turn (nothing new is read before it is handed out).
  void go_on() {
    if (continuing || paused || !fd.is_open()) return;
    continuing = true;
    boost::asio::post(fd.get_executor(), [weak = weak_from_this()] {
      auto self = weak.lock();
      if (!self || !self->continuing) return;
      if (self->paused) {  // pause(false) goes on from here
        self->continuing = false;
        return;
      }
      self->drain();
    });
  }

  // Hands out buffer[off, len) until it is done or `until` has passed (one event at least).
  // False when the handler asked to stop or the fd was closed.
  bool dispatch(std::chrono::steady_clock::time_point until) {
    while (off + sizeof(inotify_event) <= len) {
      inotify_event ev;
      std::memcpy(&ev, buffer.data() + off, sizeof ev);
      const char* name = buffer.data() + off + sizeof(inotify_event);
      const std::size_t room = std::min<std::size_t>(ev.len, len - off - sizeof ev);
      off += sizeof(inotify_event) + ev.len;
      InotifyEvent e{ev.wd, ev.mask, ev.cookie, std::string_view(name, ::strnlen(name, room))};
      if (!handler(e) || !fd.is_open()) {
        off = len = 0;
        return false;
      }
      if (std::chrono::steady_clock::now() >= until) break;
    }
    if (off + sizeof(inotify_event) > len) off = len = 0;
    return true;
  }
};

InotifyFd::InotifyFd(boost::asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {
  int raw = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (raw < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  impl_->fd.assign(raw);
}

InotifyFd::~InotifyFd() { close(); }

int InotifyFd::add_watch(const std::string& path, uint32_t mask) {
  if (!impl_->fd.is_open()) {
    errno = EBADF;
    return -1;
  }
  return ::inotify_add_watch(impl_->fd.native_handle(), path.c_str(), mask);
}

void InotifyFd::rm_watch(int wd) {
  if (impl_->fd.is_open()) ::inotify_rm_watch(impl_->fd.native_handle(), wd);
}

void InotifyFd::read(Handler on_event) {
  impl_->handler = std::move(on_event);
  impl_->arm();
}

void InotifyFd::pause(bool paused) {
  impl_->paused = paused;
  if (paused) return;
  if (impl_->off < impl_->len) impl_->go_on();  // the rest of the last read first
  else impl_->arm();
}

void InotifyFd::close() {
  boost::system::error_code ignored;
  impl_->fd.close(ignored);  // closing the inotify fd drops every watch at once
  impl_->armed = false;
  impl_->continuing = false;
  impl_->off = impl_->len = 0;
}

}  // namespace hivehook
