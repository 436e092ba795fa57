// `after:` and `requires:` (DESIGN.md "Orchestration"): which of an object's tasks wait, for what,
// when they are released, and when one is skipped.
//   after: [R...]    on this object, start only once each named rule's task has succeeded; if one
//                    of them failed for good (or was itself skipped), this task is `skipped`. A
//                    named rule that does not match this object is no wait.
//   requires: [R...] wait until each named rule has succeeded at least once, on any object (kept
//                    in the store's rule_successes, so it survives restarts). Then every object
//                    waiting for it is released in key order (daily keys: date order).
// Released tasks are pushed to the scheduler; the caller pumps it. Every change is a task transition (transitions.cpp) in the same batch as its cause: a task that
// waited is released in the transaction recording the success it waited for.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "landing/key_order.h"
#include "pipeline/active.h"

namespace hivehook {

struct Pipeline::Blockers {
  std::vector<std::string> after;      // rules on this object not yet succeeded
  std::vector<std::string> requires_;  // rules never yet succeeded on any object
  std::optional<std::string> doomed_by;  // an after: rule that failed for good or was skipped

  bool clear() const { return after.empty() && requires_.empty() && !doomed_by; }
  nlohmann::json json() const { return {{"after", after}, {"requires", requires_}}; }
};

// The rule as it stands now (a reload may have changed its after:/requires:), else as it was
// when the object was discovered.
const Rule* Pipeline::rule_now(const Active& a, const std::string& name) const {
  if (const Rule* r = rules_->find(name)) return r;
  return rule_for(a, name);
}

Pipeline::Blockers Pipeline::blockers(const Active& a, const TaskRecord& t) const {
  Blockers b;
  const Rule* rule = rule_now(a, t.rule);
  if (!rule) return b;
  for (const auto& dep : rule->after) {
    const TaskRecord* d = nullptr;
    for (const auto& other : a.tasks)
      if (other.rule == dep) d = &other;
    if (!d || d->state == TaskState::succeeded) continue;
    if (d->state == TaskState::failed || d->state == TaskState::skipped) {
      b.doomed_by = dep;
      break;
    }
    b.after.push_back(dep);
  }
  for (const auto& req : rule->required_rules)
    if (!succeeded_rules_.count(req)) b.requires_.push_back(req);
  return b;
}

void Pipeline::admit_tasks(Active& a) {
  for (auto& t : a.tasks) {
    Blockers b = blockers(a, t);  // (at admission nothing of this object has ended: no doomed_by)
    if (b.clear()) {
      t.state = TaskState::queued;
      record_new_task(a, t);
      scheduler_.push(a.rec.id, t.rule);
    } else {
      t.state = TaskState::waiting;
      t.waiting_for = safe_dump(b.json());
      record_new_task(a, t, b.json());
    }
  }
}

void Pipeline::on_task_ended(Active& a, const TaskRecord& t) {
  if (t.state == TaskState::succeeded && !succeeded_rules_.count(t.rule)) return note_rule_success(t.rule, a.rec.id);
  release_waiting(&a);
}

void Pipeline::note_rule_success(const std::string& rule, int64_t object_id) {
  if (!succeeded_rules_.insert(rule).second) return;
  // The first success of this rule ever: durable now, and everything that required it is free.
  store_.record_rule_success(rule, object_id);
  auto it = active_.find(object_id);
  emit("rule.first_success", it == active_.end() ? std::nullopt : std::optional<std::string>(it->second->rec.key),
       nullptr, rule);
  release_waiting();
  // Start what was released on a turn of its own: this may run inside another run's exit.
  boost::asio::post(io_, [this, rule] {
    if (on_first_success) on_first_success(rule);
    pump();
  });
}

void Pipeline::rules_succeeded_elsewhere(const std::vector<std::string>& rules) {
  bool any = false;
  for (const auto& r : rules) any |= succeeded_rules_.insert(r).second;
  if (!any) return;
  release_waiting();
  boost::asio::post(io_, [this] { pump(); });
}

void Pipeline::collect_released(Active& a, std::vector<ReleasedTask>& ready) {
  for (auto& t : a.tasks) {
    if (t.state != TaskState::waiting) continue;
    // Its rule was removed while it waited: it can never run under the rules in force, so it
    // ends now, as a restart ends it (issue 14, F2 of the new-user test: it waited forever live).
    if (!rules_->find(t.rule)) {
      ready.push_back({a.rec.key, a.rec.id, t.rule, std::nullopt, true});
      continue;
    }
    Blockers b = blockers(a, t);
    if (b.doomed_by || (b.after.empty() && b.requires_.empty()))
      ready.push_back({a.rec.key, a.rec.id, t.rule, b.doomed_by});
    else if (std::string now = safe_dump(b.json()); now != t.waiting_for) {
      t.waiting_for = now;  // still waiting, for less than before
      task_transition(a, t, TaskState::waiting);
    }
  }
}

void Pipeline::release_waiting(Active* only) {
  // A skip can doom a later task of the same object: repeat until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<ReleasedTask> ready;
    if (only) collect_released(*only, ready);
    else
      for (auto& [id, a] : active_) collect_released(*a, ready);
    // Released in key order (landing/key_order.h: day=9 before day=10, so daily keys go in date
    // order), then by arrival; a rule with concurrency 1 starts them in this order.
    std::sort(ready.begin(), ready.end(), [](const ReleasedTask& x, const ReleasedTask& y) {
      const auto c = compare_keys(x.key, y.key);
      return c != 0 ? c < 0 : x.id < y.id;
    });
    std::vector<int64_t> ended;
    for (auto& r : ready) {
      Active& a = *active_.at(r.id);
      TaskRecord& t = *a.task(r.rule);
      if (r.rule_removed) {
        task_transition(a, t, TaskState::skipped, {{"reason", "the rule was removed while this task waited"}});
        ended.push_back(r.id);
        changed = true;
      } else if (r.doomed_by) {
        const TaskRecord* cause = a.task(*r.doomed_by);
        task_transition(a, t, TaskState::skipped,
                        {{"because", *r.doomed_by}, {"its_state", cause ? to_string(cause->state) : "gone"}});
        ended.push_back(r.id);
        changed = true;
      } else {
        task_transition(a, t, TaskState::queued);
        scheduler_.push(r.id, r.rule);
      }
    }
    for (int64_t id : ended) maybe_finish(id);
  }
}

bool Pipeline::idle() const {
  if (!scans_.empty() || !settling_.empty() || !hashing_.empty() || finishing_ != 0 || running() != 0) return false;
  for (const auto& [id, a] : active_) {
    if (stuck_.count(id)) continue;  // move_failed: its own retry timer moves it
    if (a->decided) return false;
    for (const auto& t : a->tasks)
      if (!is_ended(t.state) && t.state != TaskState::waiting) return false;
  }
  return true;
}

std::size_t Pipeline::waiting_objects() const {
  std::size_t n = 0;
  for (const auto& [id, a] : active_)
    n += std::any_of(a->tasks.begin(), a->tasks.end(), [](const TaskRecord& t) { return t.state == TaskState::waiting; });
  return n;
}

}  // namespace hivehook
