// Cluster mode (docs/cluster.md "Per-rule concurrency across the cluster"): a rule's `concurrency:`
// holds across every node sharing a PostgreSQL state. A run of such a rule starts only once its node
// holds one of the rule's N slots: the session-level advisory lock (rule, slot) for some slot in
// 0..N-1 (pg_try_advisory_lock(int4, int4), PostgreSQL manual "Advisory Lock Functions"), taken on a
// connection of this node's own and released when the run ends. The server releases a session's
// slots when it ends (the process killed); a node stopped or cut off past its lease has its slots
// session ended by the node that takes its work over (store/nodes.h take_over_expired_nodes), so its
// runs, run again elsewhere, find their slots free.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/sql.h"

namespace hivehook {

// The first key of rule `rule`'s slot locks: FNV-1a of the name as a signed 32-bit integer.
int32_t rule_slot_key(const std::string& rule);

class RuleSlots {
 public:
  // Nothing is connected until the first claim(). `url`: the state's libpq URL; the session is named
  // "hivehook PID slots NODE" (what a takeover looks for); `lease`: the statement timeout.
  RuleSlots(std::string url, std::string node, std::chrono::milliseconds lease);

  // Takes a free slot of `rule` among `limit` (> 0), or returns false when all are held (by this
  // node or others) or the database cannot be reached (no run starts then anyway). Slots this node
  // held before a reconnect (a server restart ends the session and its locks) are taken again first.
  // Never throws.
  bool claim(const std::string& rule, int limit);
  // Releases one slot of `rule` this node holds (any: they are interchangeable), and tells the nodes
  // (NOTIFY hivehook, payload "slot RULE": store/notify_listener.h). Never throws.
  void release(const std::string& rule);
  // Slots of `rule` this node holds.
  int held(const std::string& rule) const;
  const std::string& error() const { return error_; }

 private:
  bool lock(int32_t key, int slot);
  void retake_after_reconnect();

  std::string url_, node_;
  std::chrono::milliseconds lease_;
  sql::Db db_;
  std::map<std::string, std::vector<int>> held_;  // rule → slots held
  std::string error_;
};

}  // namespace hivehook
