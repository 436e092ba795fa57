#include "store/rule_slots.h"

#include <unistd.h>

#include <algorithm>

#include "store/postgres.h"

namespace hivehook {


int32_t rule_slot_key(const std::string& rule) {
  uint32_t h = 2166136261u;  // FNV-1a, 32 bits
  for (unsigned char c : rule) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int32_t>(h);
}

RuleSlots::RuleSlots(std::string url, std::string node, std::chrono::milliseconds lease)
    : url_(std::move(url)), node_(std::move(node)), lease_(lease) {}

bool RuleSlots::lock(int32_t key, int slot) {
  auto st = db_.prepare("SELECT pg_try_advisory_lock(" + std::to_string(key) + ", " + std::to_string(slot) + ")");
  return st.step() && st.text(0) == "t";
}

// The slots this session holds (pg_locks: a two-int advisory lock has objsubid 2) fewer than those
// this node counts: the session was re-established (libpq reconnects outside a transaction). Each
// is taken again; one another node took meanwhile is counted as held still — its run goes on, and
// the rule runs one over its limit until that run ends (said in docs/cluster.md).
void RuleSlots::retake_after_reconnect() {
  std::size_t mine = 0;
  for (const auto& [rule, slots] : held_) mine += slots.size();
  if (mine == 0) return;
  auto st = db_.prepare(
      "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND pid = pg_backend_pid()");
  if (st.step() && static_cast<std::size_t>(st.int64(0)) >= mine) return;
  st.reset();
  for (const auto& [rule, slots] : held_)
    for (int s : slots) lock(rule_slot_key(rule), s);
}

bool RuleSlots::claim(const std::string& rule, int limit) {
  try {
    if (!db_) db_ = sql::open_postgres(sql::with_application_name(url_, "hivehook " + std::to_string(::getpid()) + " slots " + node_));
    db_.exec("SET statement_timeout = " + std::to_string(lease_.count()));
    retake_after_reconnect();
    auto& mine = held_[rule];
    const int32_t key = rule_slot_key(rule);
    for (int s = 0; s < limit; ++s) {
      if (std::find(mine.begin(), mine.end(), s) != mine.end()) continue;
      if (lock(key, s)) {
        mine.push_back(s);
        error_.clear();
        return true;
      }
    }
    return false;
  } catch (const sql::StoreError& e) {
    error_ = e.what();
    return false;
  }
}

void RuleSlots::release(const std::string& rule) {
  auto it = held_.find(rule);
  if (it == held_.end() || it->second.empty()) return;
  const int slot = it->second.back();
  it->second.pop_back();
  try {
    auto st = db_.prepare("SELECT pg_advisory_unlock(" + std::to_string(rule_slot_key(rule)) + ", " +
                          std::to_string(slot) + ")");
    st.step();
    st.reset();
    // Nodes waiting for a slot of this rule look again now (store/notify_listener.h).
    auto wake = db_.prepare("SELECT pg_notify('hivehook', ?)");
    wake.bind(1, "slot " + rule);
    wake.step();
  } catch (const sql::StoreError& e) {
    error_ = e.what();  // the session is gone, and the lock with it
  }
}

int RuleSlots::held(const std::string& rule) const {
  auto it = held_.find(rule);
  return it == held_.end() ? 0 : static_cast<int>(it->second.size());
}

}  // namespace hivehook
