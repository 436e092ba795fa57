// Cluster mode (docs/cluster.md "The leader"): one node leads — it alone runs the reconcile scans
// of landing, fires `schedule:` rules, raises `expect:` deadlines and decides `batch:` rules, so a
// schedule fires once cluster-wide, a late partition alerts once and a group's batch runs once. Leadership is a PostgreSQL advisory lock held on a
// session of its own (store/leader_lock.h), tried at start-up (before the start-up scan ends, so a
// single node leads from its first firing) and every quarter lease after: a leader killed is
// replaced within a quarter lease, one stopped or cut off once its lease ran out (about a lease).
// Every node still admits files (its inotify sees its own host's writes; a batch rule's files are
// offered to the leader), records arrivals of expected partitions, runs its claimed tasks and
// delivers its notifications.
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"

namespace hivehook {

void Daemon::lead() {
  leader_gauge_ = &stats_.registry.gauge("hivehook_cluster_leader",
                                         "1 while this node leads the cluster (reconcile scans, schedules, expectations).");
  leader_gauge_->set(1);
  if (!watching() || !store_.is_postgres() || store_.node().empty()) return;  // no cluster: this daemon leads
  leading_ = false;
  leader_gauge_->set(0);
  batches_.join_cluster();  // batches are the leader's: until this node leads, it offers its files
  // Offers whose NOTIFY was lost, and complete batches whose last members ended on other nodes: the
  // leader looks every second (a wake-up makes it look at once: daemon/cluster_concurrency.cpp).
  batch_sweep_.start(timers_, std::chrono::seconds(1), [this] {
    if (shutdown_.stopping()) return false;
    if (leading_) batches_.sweep();
    return true;
  });
  leader_ = std::make_unique<LeaderLock>(config_.state.string(),
                                         store_.node(), std::chrono::duration_cast<std::chrono::milliseconds>(config_.node_lease));
  try_lead();
  const auto every = std::max<Duration>(config_.node_lease / 4, std::chrono::milliseconds(100));
  leadership_.start(timers_, every, [this] {
    if (shutdown_.stopping()) return false;
    try_lead();
    return true;
  });
}

void Daemon::try_lead() {
  const bool now = leader_->hold();
  if (now == leading_) return;
  leading_ = now;
  leader_gauge_->set(now ? 1 : 0);
  if (now) {
    spdlog::info("node {} leads the cluster: reconcile scans, schedules, expectations and batches run here",
                 store_.node());
    if (orchestrated_) start_leading_orchestration();
    batches_.set_leading(true);
    return;
  }
  // Lost while alive: the leader session dropped (a server restart, the network) and another node
  // took the lock first. What only the leader does stops here; a scheduled run in flight ends as it is.
  spdlog::warn("node {} no longer leads the cluster{}{}", store_.node(), leader_->error().empty() ? "" : ": ",
               leader_->error());
  schedules_.pause();
  expectations_.stop();
  batches_.set_leading(false);
}

// At the first rules handed to the orchestration (after the start-up scan), or when leadership
// comes later (or back): expectations and schedules start as after a restart — deadlines passed meanwhile are
// raised once, an open firing of a leader that died runs again, a missed one catches up.
void Daemon::start_leading_orchestration() {
  if (!leading_) return;
  expectations_.start(orchestrated_);
  if (!watching()) return;
  schedules_.start(orchestrated_);
}

}  // namespace hivehook
