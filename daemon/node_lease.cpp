// Cluster mode (docs/cluster.md): the node's lease. On PostgreSQL the store's LeaseKeeper renews it
// on its own connection and thread every third of it, so no batch, however long, starves it
// (docs/decisions.md); a renewal that finds it lost (the node was stopped or cut off past it, and
// its work may be another node's now) — or no renewal succeeding for a lease by the node's own
// clock (a partition) — is fatal: the node's running jobs are killed at once (SIGKILL to their
// process groups), the daemon stops with exit 70, and its service manager starts it again as a
// new epoch. On SQLite (one node) the loop renews it between batches.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"
#include "jobs/job_groups.h"

#include <csignal>
#include <string>

namespace hivehook {

void Daemon::keep_lease() {
  const bool kept = store_.keep_lease([this](const std::string& why) {
    // On a keeper's thread. The node is fenced: its jobs are killed now, before another node can
    // take their tasks over (the server's lease ends no earlier than the keeper's deadline), even
    // while the loop is blocked on a database that does not answer (a partition). Then the loop
    // stops with the failure (a batch of the lost epoch is refused by its own check in any case).
    const std::size_t killed = job_groups::signal_all(SIGKILL);
    spdlog::critical("{}{}", why, killed ? "; killed its " + std::to_string(killed) + " running job(s)" : std::string());
    boost::asio::post(io_, [why] {
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
  takeover_.start(timers_, every, [this, every] {
    if (shutdown_.stopping()) return false;
    if (pipeline_.take_over_expired_nodes() > 0) outbox_.poke();
    // A NOTIFY of another node's first success of a rule may have been lost (the listener
    // reconnecting): objects waiting for one look at the store's record too, every half lease.
    if (pipeline_.waiting_objects() > 0) {
      try {
        pipeline_.rules_succeeded_elsewhere(store_.rules_succeeded());
      } catch (const sql::StoreError& e) {
        spdlog::warn("cannot read the rules' first successes (looked at again in {} ms): {}",
                     std::chrono::duration_cast<std::chrono::milliseconds>(every).count(), e.what());
      }
    }
    return true;
  });
}

}  // namespace hivehook
