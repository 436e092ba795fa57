// Cluster mode (docs/cluster.md "Per-rule concurrency across the cluster"): on a PostgreSQL state
// shared by named nodes, a rule's `concurrency:` is a number of cluster-wide slots (advisory locks,
// store/rule_slots.h): a run of the rule starts on a node only once that node holds one of them,
// and gives it back when it ends. Without a cluster the limit is this daemon's alone. The same
// LISTEN connection wakes a node when another one records a rule's first success (`requires:`).
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"

namespace hivehook {

void Daemon::share_concurrency() {
  if (!store_.is_postgres() || store_.node().empty()) return;
  slots_ = std::make_unique<RuleSlots>(config_.state.string(), store_.node(),
                                       std::chrono::duration_cast<std::chrono::milliseconds>(config_.node_lease));
  pipeline_.share_concurrency(
      [this](const std::string& rule, int limit) {
        const bool got = slots_->claim(rule, limit);
        if (!got && !slots_->error().empty())
          spdlog::warn("rule {}: cannot take a concurrency slot (tried again shortly): {}", rule, slots_->error());
        return got;
      },
      [this](const std::string& rule) { slots_->release(rule); });
  // A slot another node gives back: look at the queue at once, not at the next 100 ms look.
  listener_ = std::make_unique<NotifyListener>(config_.state.string(), store_.node(), [this](const std::string& payload) {
    // (set_workers pumps the queue: the runs the slots now allow start.)
    if (payload.rfind("slot ", 0) == 0) boost::asio::post(io_, [this] { pipeline_.set_workers(config_.workers); });
    // The leader stopped: try to lead now, not at the next quarter-lease try.
    if (payload == "leader")
      boost::asio::post(io_, [this] {
        if (leader_ && !shutdown_.stopping()) try_lead();
      });
    // A node offered a file to a batch, or a member of a complete batch ended there: the leader looks.
    if (payload == "batch")
      boost::asio::post(io_, [this] {
        if (leading_ && !shutdown_.stopping()) batches_.sweep();
      });
    // Another node recorded a rule's first success: what waits for it here (`requires:`) starts now.
    if (payload.rfind("success ", 0) == 0)
      boost::asio::post(io_, [this, rule = payload.substr(8)] { pipeline_.rules_succeeded_elsewhere({rule}); });
  });
}

}  // namespace hivehook
