#include "pipeline/replay_plan.h"

#include <sys/stat.h>

#include <algorithm>

#include "base/utf8.h"
#include "landing/key.h"
#include "store/queries.h"

namespace hivehook {

std::optional<ReplayPlan> plan_replay(Store& store, const RuleSet& rules, const std::filesystem::path& landing,
                                      const ReplayRequest& request, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ReplayPlan> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  for (const auto& name : request.filter.rules)
    if (!rules.find(name)) return fail("no rule named '" + name + "' is in force");
  std::vector<ObjectRecord> objects;
  if (!request.keys.empty()) {
    for (const auto& key : request.keys) {
      auto found = quarantined_objects(store, key);
      if (found.empty()) return fail("'" + utf8_sanitize(key) + "' is not quarantined (its latest arrival)");
      auto full = store.object(found.front().id);
      if (full) objects.push_back(*full);
    }
  } else {
    objects = replay_candidates(store, request.filter);
  }
  ReplayPlan plan;
  plan.retry = request.retry;
  plan.dry_run = request.dry_run;
  for (const auto& o : objects) {
    ReplayItem item;
    item.of_object = o.id;
    item.key = o.key;
    item.from_state = std::string(to_string(o.state));
    item.from = o.final_path;
    auto parsed = parse_key(o.key);
    if (!parsed) {
      item.skip = "the key is not valid";
    } else if (request.retry) {
      for (const auto& t : store.tasks_of(o.id))
        if (t.state == TaskState::failed && rules.find(t.rule)) item.rules.push_back(t.rule);
      if (item.rules.empty()) item.skip = "none of the rules that failed on it is in force any more";
    } else {
      for (const Rule* r : match_rules(rules, *parsed))
        if (request.filter.rules.empty() ||
            std::find(request.filter.rules.begin(), request.filter.rules.end(), r->name) != request.filter.rules.end())
          item.rules.push_back(r->name);
      if (item.rules.empty()) item.skip = request.filter.rules.empty() ? "no rule matches the key now" : "the named rules do not match the key";
    }
    struct stat st {};
    if (item.skip.empty() && ::lstat(item.from.c_str(), &st) != 0) item.skip = "its file is gone from " + item.from.string();
    if (item.skip.empty() && ::lstat((landing / o.key).c_str(), &st) == 0) item.skip = "a file is in landing at this key";
    plan.items.push_back(std::move(item));
  }
  return plan;
}

nlohmann::json plan_json(const ReplayPlan& plan) {
  nlohmann::json objects = nlohmann::json::array();
  int replayed = 0, skipped = 0;
  for (const auto& i : plan.items) {
    nlohmann::json j = {{"of_object", i.of_object}, {"key", utf8_sanitize(i.key)}, {"from_state", i.from_state},
                        {"from", utf8_sanitize(i.from.string())}, {"rules", i.rules}};
    j["skipped"] = i.skip.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.skip);
    (i.skip.empty() ? replayed : skipped)++;
    objects.push_back(std::move(j));
  }
  return {{"retry", plan.retry}, {"dry_run", plan.dry_run}, {"objects", objects}, {"replayed", replayed}, {"skipped", skipped}};
}

}  // namespace hivehook
