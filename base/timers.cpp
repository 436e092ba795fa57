#include "base/timers.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

namespace hivehook {

TimerHandle AsioTimers::after(Duration delay, std::function<void()> fn) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  // The handler keeps the timer alive until it runs; the handle only cancels it.
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
  return TimerHandle([weak = std::weak_ptr<boost::asio::steady_timer>(timer)] {
    if (auto t = weak.lock()) t->cancel();
  });
}

void Ticker::start(Timers& timers, Duration period, std::function<bool()> fn) {
  timers_ = &timers;
  period_ = period;
  fn_ = std::move(fn);
  arm();
}

void Ticker::arm() {
  handle_ = timers_->after(period_, [this] {
    if (fn_()) arm();
  });
}

}  // namespace hivehook
