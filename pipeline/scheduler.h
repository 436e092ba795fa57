// Which task runs next: `workers` jobs at most in total, a rule's `concurrency` at most per rule,
// FIFO within a rule and, across rules, the oldest ready task first. A task is an object's run of a
// rule, or a run that is no object's — a batch's or a schedule firing's (`job` set): all of them
// share the one admission (issue 14, F14 of the new-user test: batch and scheduled runs ignored
// `workers` and `concurrency`).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace hivehook {

struct TaskRef {
  int64_t object_id = 0;
  std::string rule;
  uint64_t order = 0;  // assigned by push(): discovery (or re-queue) order
  uint64_t job = 0;    // a batch or scheduled run (object_id 0): its ticket (push_job); 0 for an object's task
};

class Scheduler {
 public:
  explicit Scheduler(int workers) : workers_(workers) {}
  void set_workers(int workers) { workers_ = workers; }
  // Cluster mode (store/rule_slots.h): a task of a rule with a limit starts only once `claim(rule,
  // limit)` says a cluster-wide slot is this node's; `release(rule)` gives it back when the run
  // ends (finished()). Unset: the limit holds on this node alone.
  std::function<bool(const std::string& rule, int limit)> claim;
  std::function<void(const std::string& rule)> release;

  // A task is ready to run.
  void push(int64_t object_id, const std::string& rule);
  // A batch or scheduled run of `rule` is ready to run; `job` (non-zero) names it when pop() returns it.
  void push_job(uint64_t job, const std::string& rule);
  // The next task allowed to start now, or nullopt. `limit_of(rule)` is the rule's concurrency (0: none).
  // The caller must call finished(rule) when that run ends.
  std::optional<TaskRef> pop(const std::function<int(const std::string&)>& limit_of);
  void finished(const std::string& rule);

  std::size_t queued() const { return queued_; }
  std::size_t running() const { return running_total_; }
  int running(const std::string& rule) const;
  // Tasks the last pop() left queued because their rule's cluster-wide slots were all taken (by
  // other nodes): the caller looks again shortly, since no run ending here will wake it.
  bool waiting_for_slots() const { return waiting_for_slots_; }

 private:
  int workers_;
  uint64_t next_order_ = 0;
  std::size_t queued_ = 0;
  std::size_t running_total_ = 0;
  std::map<std::string, std::deque<TaskRef>> ready_;
  std::map<std::string, int> running_;
  std::map<std::string, int> claimed_;  // runs per rule holding a cluster-wide slot
  bool waiting_for_slots_ = false;
};

}  // namespace hivehook
