#include "store/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "store/nodes.h"
#include "store/postgres.h"

namespace hivehook {

LeaseKeeper::LeaseKeeper(const std::string& url, std::string display, std::string node, int64_t epoch,
                         std::chrono::milliseconds lease, OnLost on_lost)
    : db_(sql::open_postgres(url)),
      display_(std::move(display)),
      node_(std::move(node)),
      epoch_(epoch),
      lease_(lease),
      on_lost_(std::move(on_lost)) {
  db_.exec("SET application_name = 'hivehook lease " + node_ + "'");
  renew_ = db_.prepare(renew_lease_sql(sql::Dialect::postgresql));
  deadline_ = std::chrono::steady_clock::now() + lease_;  // the node registered (or renewed) just before
  thread_ = std::thread([this] { run(); });
  fence_ = std::thread([this] { watch_deadline(); });
}

LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fence_.joinable()) fence_.join();
}

void LeaseKeeper::lose(const std::string& why) {
  if (lost_.exchange(true)) return;
  if (on_lost_) on_lost_(why);
}

void LeaseKeeper::watch_deadline() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    const auto deadline = deadline_;
    if (cv_.wait_until(l, deadline, [&] { return stopping_ || deadline_ != deadline; })) {
      if (stopping_) return;
      continue;  // renewed: wait for the new deadline
    }
    l.unlock();
    const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - deadline + lease_);
    lose("state DB " + display_ + ": node " + node_ + " lost its lease (epoch " + std::to_string(epoch_) + "): no renewal "
         "succeeded for " + std::to_string(late.count()) + " ms (node_lease " + std::to_string(lease_.count()) +
         " ms; the database unreachable or the process stopped), so by its own clock its work may be another "
         "node's now; the node stops");
    return;
  }
}

bool LeaseKeeper::renew_once() {
  // Set before every renewal: a reconnect (libpq PQreset) starts a session without it. A renewal
  // waiting on a lock or a server that does not answer gives up after a lease, and is tried again.
  db_.exec("SET statement_timeout = " + std::to_string(lease_.count()));
  renew_.bind(1, static_cast<int64_t>(lease_.count())).bind(2, node_).bind(3, epoch_);
  renew_.run();
  return db_.changes() == 1;
}

void LeaseKeeper::run() {
  const auto every = std::max(lease_ / 3, std::chrono::milliseconds(100));
  const auto retry = std::max(lease_ / 10, std::chrono::milliseconds(50));
  auto wait = every;
  bool failing = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (cv_.wait_for(l, wait, [this] { return stopping_; })) return;
    }
    if (lost_) return;
    try {
      const auto sent = std::chrono::steady_clock::now();
      if (!renew_once()) {
        lose("state DB " + display_ + ": node " + node_ + " lost its lease (epoch " + std::to_string(epoch_) +
                   "): its renewal found it run out or taken over; its work may be another node's now, so the "
                   "node stops");
        return;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        deadline_ = std::max(deadline_, sent + lease_);
      }
      cv_.notify_all();
      ++renewals_;
      if (failing) spdlog::info("node {}: lease renewed again", node_);
      failing = false;
      wait = every;
    } catch (const std::exception& e) {
      // Passing (a restart, a dropped connection): try again soon. Lasting past the lease: the
      // next batch's check refuses it and the node stops, as does the next renewal that gets through.
      if (!failing) spdlog::warn("node {}: lease renewal failed, trying again every {} ms: {}", node_, retry.count(), e.what());
      failing = true;
      wait = retry;
    }
  }
}

}  // namespace hivehook
