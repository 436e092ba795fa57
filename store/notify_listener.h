// Cluster mode (docs/cluster.md "Wake-ups by LISTEN/NOTIFY"): a node waiting for work another node
// frees — a rule's concurrency slot given back (store/rule_slots.h) — hears of it within
// milliseconds instead of at its next look: the releasing node sends `NOTIFY hivehook` (payload
// "slot RULE") and every node LISTENs on a PostgreSQL connection of its own, on a thread of its own
// (PostgreSQL manual "LISTEN", libpq "Asynchronous Notification"). A notification lost (the
// connection dropped; NOTIFY is not queued for a session that is not listening) costs only the
// wait until the next look, so correctness never depends on it.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace hivehook {

// The channel every node listens on.
inline constexpr const char* kNotifyChannel = "hivehook";

class NotifyListener {
 public:
  // Called on the listener's thread with each notification's payload (post it to the loop).
  using OnNotify = std::function<void(const std::string& payload)>;

  // Connects to `url` (a session named "hivehook PID listen NODE"), LISTENs on kNotifyChannel and
  // starts the thread. A connection that fails or drops is tried again every second. Never throws.
  NotifyListener(std::string url, std::string node, OnNotify on_notify);
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;
  // Stops the thread (within 200 ms) and closes the connection.
  ~NotifyListener();

  // Notifications received so far (tests).
  uint64_t received() const { return received_.load(); }

 private:
  void run();

  std::string url_, node_;
  OnNotify on_notify_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};

}  // namespace hivehook
