// Drains the notification outbox: due entries are delivered on worker threads (never on the loop),
// each outcome recorded back on the loop: sent, retried with backoff and jitter, or dead.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <random>
#include <set>

#include "pipeline/commit_batch.h"
#include "pipeline/stats.h"
#include "rules/config.h"
#include "store/store.h"

namespace hivehook {

class OutboxSender {
 public:
  OutboxSender(boost::asio::io_context& io, Store& store, CommitBatch& batch, PipelineStats& stats,
               std::map<std::string, NotifyTarget> targets);
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
  void arm(std::chrono::milliseconds after);

  boost::asio::io_context& io_;
  Store& store_;
  CommitBatch& batch_;
  PipelineStats& stats_;
  std::map<std::string, NotifyTarget> targets_;
  boost::asio::thread_pool pool_{2};
  boost::asio::steady_timer timer_;
  std::set<int64_t> in_flight_;
  std::mt19937_64 rng_{std::random_device{}()};
  bool stopped_ = false;
  bool poll_posted_ = false;
  std::chrono::steady_clock::time_point last_refresh_{};
};

}  // namespace hivehook
