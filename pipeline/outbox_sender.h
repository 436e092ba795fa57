// Drains the notification outbox: due entries are delivered off the loop (never blocking it), each
// outcome recorded back on the loop: sent, retried with backoff and jitter, or dead. Its edges are
// seams: the clock and timers, the delivery function and where delivery runs.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "base/timers.h"
#include "notify/sender.h"
#include "pipeline/commit_batch.h"
#include "pipeline/stats.h"
#include "rules/config.h"
#include "store/store.h"

namespace hivehook {

class OutboxSender {
 public:
  struct Seams {
    const Clock& clock;
    Timers& timers;
    // One delivery attempt (notify/sender.h's deliver in production); called off the loop.
    std::function<DeliveryAttempt(const NotifyTarget&, const Notification&)> deliver;
    // Runs one delivery off the loop; null: the sender's own pool of two threads.
    std::function<void(std::function<void()>)> offload;
  };

  OutboxSender(boost::asio::io_context& io, Store& store, CommitBatch& batch, PipelineStats& stats,
               std::map<std::string, NotifyTarget> targets, Seams seams);
  ~OutboxSender();
  void start();
  void stop();  // no new deliveries; waits for those in flight
  void set_targets(std::map<std::string, NotifyTarget> targets) { targets_ = std::move(targets); }
  // Look for due entries now (after a commit that may have added some).
  void poke();
  // Nothing pending in the outbox and nothing in flight.
  bool idle();
  // Counts for `status`/metrics, refreshed on each poll.
  void refresh_counts();

 private:
  void poll();
  void send(const OutboxRecord& o, const NotifyTarget& target);
  void record_dead_target(const OutboxRecord& o);
  void record(const OutboxRecord& o, const NotifyTarget& target, const DeliveryAttempt& res);

  boost::asio::io_context& io_;
  Store& store_;
  CommitBatch& batch_;
  PipelineStats& stats_;
  std::map<std::string, NotifyTarget> targets_;
  Seams seams_;
  boost::asio::thread_pool pool_{2};
  TimerHandle timer_;
  std::set<int64_t> in_flight_;
  std::mt19937_64 rng_{std::random_device{}()};
  bool stopped_ = false;
  bool poll_posted_ = false;
  SteadyTime last_refresh_{};
};

}  // namespace hivehook
