#include "pipeline/scheduler.h"

namespace hivehook {

void Scheduler::push(int64_t object_id, const std::string& rule) {
  ready_[rule].push_back(TaskRef{object_id, rule, next_order_++});
  ++queued_;
}

void Scheduler::push_job(uint64_t job, const std::string& rule) {
  ready_[rule].push_back(TaskRef{0, rule, next_order_++, job});
  ++queued_;
}

std::optional<TaskRef> Scheduler::pop(const std::function<int(const std::string&)>& limit_of) {
  waiting_for_slots_ = false;
  if (running_total_ >= static_cast<std::size_t>(workers_) || queued_ == 0) return std::nullopt;
  std::set<std::string> no_slot;  // rules whose cluster-wide slots are all taken now
  std::deque<TaskRef>* best = nullptr;
  for (;;) {
    best = nullptr;
    int best_limit = 0;
    for (auto& [rule, q] : ready_) {
      if (q.empty() || no_slot.count(rule)) continue;
      int limit = limit_of(rule);
      if (limit > 0 && running(rule) >= limit) continue;
      if (!best || q.front().order < best->front().order) best = &q, best_limit = limit;
    }
    if (!best) break;
    const std::string& rule = best->front().rule;
    if (best_limit <= 0 || !claim) break;
    if (claim(rule, best_limit)) {
      ++claimed_[rule];
      break;
    }
    no_slot.insert(rule);
    waiting_for_slots_ = true;
  }
  if (!best) return std::nullopt;
  TaskRef t = std::move(best->front());
  best->pop_front();
  --queued_;
  ++running_total_;
  ++running_[t.rule];
  return t;
}

void Scheduler::finished(const std::string& rule) {
  auto it = running_.find(rule);
  if (it != running_.end() && it->second > 0) {
    --it->second;
    --running_total_;
  }
  if (auto c = claimed_.find(rule); c != claimed_.end() && c->second > 0) {
    --c->second;
    if (release) release(rule);
  }
}

int Scheduler::running(const std::string& rule) const {
  auto it = running_.find(rule);
  return it == running_.end() ? 0 : it->second;
}

}  // namespace hivehook
