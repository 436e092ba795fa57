// Cluster mode (docs/cluster.md): a live node takes over the work of a node whose lease ran out (it
// was killed, its host died, it was stopped or cut off for longer than its lease). The store moves
// that node's started runs, unfinished objects and pending notifications to this node in one
// transaction and moves its epoch on (store/nodes.h take_over_expired_nodes), so the dead node's
// late batches are refused; this node then records the runs interrupted and loads the objects, as
// its own recovery does after a restart (recovery.cpp): their tasks run again here.
#include <map>
#include <set>
#include <spdlog/spdlog.h>

#include "pipeline/active.h"

namespace hivehook {

std::size_t Pipeline::take_over_expired_nodes() {
  std::vector<Takeover> taken;
  try {
    taken = store_.take_over_expired_nodes();
  } catch (const sql::StoreError& e) {
    if (e.code() == SQLITE_PERM) throw;  // this node lost its own lease: it stops
    spdlog::warn("looking for nodes whose lease ran out failed (tried again shortly): {}", e.what());
    return 0;
  }
  if (taken.empty()) return 0;
  std::map<std::string, const Takeover*> by_run;
  std::set<int64_t> objects;
  for (const auto& t : taken) {
    spdlog::warn("node {} (epoch {}, host {}) lost its lease: node {} takes over its {} started run(s) "
                 "(interrupted, to run again), {} unfinished object(s) and {} notification(s)",
                 t.node, t.epoch, t.host, store_.node(), t.run_ids.size(), t.object_ids.size(), t.notifications);
    for (const auto& id : t.run_ids) by_run[id] = &t;
    objects.insert(t.object_ids.begin(), t.object_ids.end());
  }
  for (auto run : store_.runs_in_state(RunState::started)) {
    auto it = by_run.find(run.run_id);
    if (it == by_run.end()) continue;  // one of this node's own
    const Takeover& t = *it->second;
    // Its process is left alone: it ran on that node's host, and a node stopped rather than dead
    // still has it as its child. If it is still running, it may finish; its outcome is refused
    // (that node's epoch moved on), and its task runs again here: at least once, as after a crash.
    record_interrupted(run, "node " + t.node + " lost its lease while the run was in flight",
              {{"reason", "node " + t.node + " lost its lease"}, {"node", t.node}});
  }
  recover_objects([&](const ObjectRecord& o) { return objects.count(o.id) > 0 && !active_.count(o.id); });
  batch_.request();
  pump();
  return taken.size();
}

}  // namespace hivehook
