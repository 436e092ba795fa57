// Cluster mode (docs/cluster.md): the node's lease, renewed by every batch and, between batches, by
// this heartbeat every third of it. A renewal that finds the lease lost (the node was stopped or cut
// off past it, and its work may be another node's now) is fatal: the daemon stops with exit 70, and
// its service manager starts it again as a new epoch.
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"

namespace hivehook {

void Daemon::keep_lease() {
  const auto every = std::max<Duration>(config_.node_lease / 3, std::chrono::milliseconds(100));
  lease_.start(timers_, every, [this] {
    try {
      store_.renew_lease();  // false: a batch is open (it renews), or the storage refused (next beat)
    } catch (const sql::StoreError& e) {
      spdlog::critical("{}", e.what());
      throw;
    }
    return true;
  });
}

}  // namespace hivehook
