// The durable state of `batch:` rules (DESIGN.md "Orchestration"): each group's batch — open
// (collecting), complete (its marker came, it has `count` members, or it was quiet long enough),
// running (its job started, or waiting for a retry), or ended (succeeded, failed, skipped) — and
// the objects that joined it. Tables `batches` and `batch_members` (store/schema.cpp); written
// inside the store's open batch, so a change commits together with the audit event announcing it.
//
// A group that ended and gets new objects opens its next generation: (rule, group, generation)
// names one batch; generation 1 is the group's first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace hivehook {

struct BatchRecord {
  std::string rule;
  std::string group;           // the rendered `batch.group` template, e.g. "transactions/2023/03/15"
  int64_t generation = 1;
  std::string state = "open";  // open | complete | running | succeeded | failed | skipped | abandoned
  int64_t opened_at = 0;       // unix ms: the first member joined
  int64_t last_member_at = 0;  // unix ms: the latest member joined (`quiet` counts from here)
  int members = 0;             // objects collected, the marker not counted
  bool marker_seen = false;
  std::string reason;          // what completed it: marker | count | quiet ("" while open); abandoned: why
  int64_t completed_at = 0;    // unix ms (0 while open); abandoned: when
  int attempts = 0;            // runs started
  int interrupted = 0;         // of those, cut off by a crash or shutdown (not held against retries)
  std::optional<int64_t> next_at;  // unix ms of the next attempt (a retry, or a run cut off)

  bool unfinished() const { return state == "open" || state == "complete" || state == "running"; }
};

// One object of a batch, with its object's current state (objects table).
struct BatchMember {
  int64_t object_id = 0;
  std::string key;
  bool marker = false;
  std::string object_state;  // ObjectState's text: pending, archived, quarantined, ...
  std::string final_path;    // where it ended ("" while in landing)
  int64_t size = 0;
  std::string etag, sequencer;
  int64_t discovered_at = 0;  // unix ms
};

// Cluster mode (docs/cluster.md "Batches across nodes"): a file a node that does not lead admitted,
// offered to the leader, which alone opens, completes and runs batches; it joins the file to its
// group's batch and removes the offer in one transaction (table `batch_offers`, migration 7).
struct BatchOffer {
  std::string rule;
  std::string group;       // the group the offering node rendered (the rules are the same on every node)
  int64_t object_id = 0;
  std::string key;
  bool marker = false;
  std::string node;        // the node that admitted the file
  int64_t offered_at = 0;  // unix ms, the offering node's clock
};

class BatchState {
 public:
  explicit BatchState(Store& store) : store_(store) {}

  // The group's newest batch (highest generation); nullopt: the group never had one.
  std::optional<BatchRecord> latest(const std::string& rule, const std::string& group);
  // One batch; nullopt: no such (rule, group, generation).
  std::optional<BatchRecord> get(const std::string& rule, const std::string& group, int64_t generation);
  // Inserts or replaces the row of (rule, group, generation). Throws std::logic_error outside a batch.
  void put(const BatchRecord& b);
  // Adds an object to a batch (a second add of the same object changes nothing).
  void add_member(const BatchRecord& b, int64_t object_id, const std::string& key, bool marker);
  // Cluster mode, a node that does not lead: offers an admitted object to the leader, and (PostgreSQL)
  // wakes it at the commit (`NOTIFY hivehook, 'batch'`). A second offer of one object to one group
  // changes nothing. Throws std::logic_error outside a batch.
  void offer(const BatchOffer& o);
  // Cluster mode: wakes the leader at the commit (a member of a complete batch ended here).
  void wake_leader();
  // The offers not yet taken by the leader, in object id order.
  std::vector<BatchOffer> offers();
  // The leader took `o` (joined it, or found its rule gone). Throws std::logic_error outside a batch.
  void remove_offer(const BatchOffer& o);
  // The batch's objects in the order they joined (object id).
  std::vector<BatchMember> members(const BatchRecord& b);
  // Batches not ended (open, complete, running), oldest first; `rule` empty: every rule.
  std::vector<BatchRecord> unfinished(const std::string& rule = "");
  // Batches abandoned at or after `since_ms` (unix ms; their rule or its batch.group changed),
  // newest first.
  std::vector<BatchRecord> abandoned_since(int64_t since_ms);
  // The unfinished batches an object belongs to.
  std::vector<BatchRecord> of_object(int64_t object_id);
  // The batches an object belongs to that were skipped (a member failed), oldest first.
  std::vector<BatchRecord> skipped_of_object(int64_t object_id);
  // The batches an object belongs to that ended (succeeded, failed, skipped), oldest first.
  std::vector<BatchRecord> ended_of_object(int64_t object_id);

 private:
  void require_batch() const;
  void wake_leader_now();
  Store& store_;
};

}  // namespace hivehook
