// Replay and retry on the loop: each planned object's file goes back into landing at its key and is
// admitted as a new object that records the one it replays (`object.replayed`), past the duplicate
// guard, with the planned rules; it then runs and moves as any arrival does. A retry of schedule
// firings (request.schedules) is handed to the daemon's Schedules (retry_schedules).
#include <spdlog/spdlog.h>

#include <cerrno>

#include "landing/key.h"
#include "pipeline/active.h"
#include "pipeline/replay_plan.h"

namespace hivehook {

std::pair<int, nlohmann::json> Pipeline::replay(const ReplayRequest& request) {
  if (!request.schedules.empty()) {  // retry --schedule: no object goes back into landing
    if (!retry_schedules) return {503, {{"error", "schedules are not run here"}}};
    return retry_schedules(request);
  }
  std::string error;
  auto plan = plan_replay(store_, *rules_, config_.landing, request, &error);
  if (!plan) return {400, {{"error", error}}};
  if (request.dry_run) return {200, plan_json(*plan)};
  if (!starting_allowed_) return {503, {{"error", "the daemon is stopping"}}};
  for (auto& item : plan->items) {
    if (!item.skip.empty()) continue;
    if (active_by_key_.count(item.key) || settling_.count(item.key) || hashing_.count(item.key)) {
      item.skip = "a file at this key is being processed";
      continue;
    }
    auto key = parse_key(item.key);
    auto old = store_.object(item.of_object);
    if (!key || !old) {
      item.skip = "the object is gone from the store";
      continue;
    }
    // A copy back into landing, never over a file that landed at the key meanwhile (an unmatched
    // file never left it). The archived or quarantined file keeps its place (FileOps::restore); a
    // quarantined original (and its error report) is removed once the retried object has ended
    // archived, quarantined again, deleted or kept — and stays when the job rewrote its copy.
    MoveResult moved;
    moved.ok = item.from_state == "unmatched";
    if (!moved.ok) moved = files_.restore(item.from, item.key);
    if (!moved.ok) {
      item.skip = moved.error;
      spdlog::warn("replay of {}: {}", item.key, item.skip);
      continue;
    }
    int err = 0;
    std::string why;
    auto h = files_.hash(item.key, &err, &why);  // its identity and mode as landed again (same bytes)
    if (!h) {
      item.skip = err == ENOENT ? "its file vanished from landing" : "its file cannot be read in landing: " + why;
      continue;
    }
    std::vector<const Rule*> rules;
    for (const auto& name : item.rules)
      if (const Rule* r = rules_->find(name)) rules.push_back(r);
    ReplayOrigin origin{item.of_object, item.from.string(), request.retry, {}};
    if (item.from_state == "quarantined") {
      const auto rel = item.from.lexically_normal().lexically_relative(files_.path(Area::quarantine, "").lexically_normal());
      if (!rel.empty() && !rel.is_absolute() && *rel.begin() != "..") origin.quarantined = rel.generic_string();
    }
    start_object(*key, *h, rules, &origin);
  }
  return {200, plan_json(*plan)};
}

}  // namespace hivehook
