// Cluster mode (docs/cluster.md): the node's lease. On PostgreSQL the store's LeaseKeeper renews it
// on its own connection and thread every third of it, so no batch, however long, starves it
// (docs/decisions.md); a renewal that finds it lost (the node was stopped or cut off past it, and
// its work may be another node's now) is fatal: the daemon stops with exit 70, and its service
// manager starts it again as a new epoch. On SQLite (one node) the loop renews it between batches.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"

namespace hivehook {

void Daemon::keep_lease() {
  const bool kept = store_.keep_lease([this](const std::string& why) {
    // On the keeper's thread: the loop stops with the failure (a batch of the lost epoch is
    // refused by its own check in any case, whichever comes first).
    boost::asio::post(io_, [why] {
      spdlog::critical("{}", why);
      throw sql::StoreError(why, SQLITE_PERM, "55P03");
    });
  });
  if (kept) return;
  const auto every = std::max<Duration>(config_.node_lease / 3, std::chrono::milliseconds(100));
  lease_.start(timers_, every, [this] {
    try {
      store_.renew_lease();  // false: no node, a batch is open, or the storage refused (next beat)
    } catch (const sql::StoreError& e) {
      spdlog::critical("{}", e.what());
      throw;
    }
    return true;
  });
}

void Daemon::take_over_expired_nodes() {
  if (!store_.is_postgres() || store_.node().empty()) return;
  const auto every = std::max<Duration>(config_.node_lease / 2, std::chrono::milliseconds(500));
  takeover_.start(timers_, every, [this] {
    if (shutdown_.stopping()) return false;
    if (pipeline_.take_over_expired_nodes() > 0) outbox_.poke();
    return true;
  });
}

}  // namespace hivehook
