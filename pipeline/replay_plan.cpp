#include "pipeline/replay_plan.h"

#include <sys/stat.h>

#include <algorithm>

#include "base/utf8.h"
#include "landing/key.h"
#include "rules/schema.h"
#include "store/queries.h"

namespace hivehook {

std::optional<ReplayPlan> plan_replay(Store& store, const RuleSet& rules, const std::filesystem::path& landing,
                                      const ReplayRequest& request, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ReplayPlan> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  for (const auto& name : request.filter.rules)
    if (!rules.find(name)) {
      std::vector<std::string_view> names;
      for (const auto& r : rules.rules) names.push_back(r.name);
      const std::string hint = schema::closest(name, names);
      return fail("no rule named '" + name + "' is in force" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  // A replay of the whole store only when asked for by name (fault: an empty body replayed it all).
  if (!request.retry && request.keys.empty() && !request.dry_run && !request.filter.all && unfiltered(request.filter))
    return fail("a replay with no filter would run every archived and quarantined object again: narrow it "
                "(--rule, --key, --partition, --from/--to, --failed; API: rule, key, partition, from/to, failed) or "
                "say so with --all (API: \"all\": true); --dry-run shows the plan");
  std::vector<ObjectRecord> objects;
  if (!request.keys.empty()) {
    for (const auto& key : request.keys) {
      auto found = quarantined_objects(store, key);
      if (found.empty()) {
        auto last = store.last_object(key);
        if (!last) return fail("no object has arrived at '" + utf8_sanitize(key) + "'");
        return fail("'" + utf8_sanitize(key) + "' is not quarantined: its latest arrival (object " +
                    std::to_string(last->id) + ") is " + std::string(to_string(last->state)));
      }
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
    const bool unmatched = o.state == ObjectState::unmatched;
    item.from = unmatched ? landing / o.key : std::filesystem::path(o.final_path);
    auto parsed = parse_key(o.key);
    if (!parsed) {
      item.skip = "the key is not valid";
    } else if (request.retry) {
      for (const auto& t : store.tasks_of(o.id))
        if (t.state == TaskState::failed && rules.find(t.rule)) item.rules.push_back(t.rule);
      if (item.rules.empty()) item.skip = "none of the rules that failed on it is in force any more";
    } else {
      auto wanted = [&](const Rule* r) {
        return request.filter.rules.empty() ||
               std::find(request.filter.rules.begin(), request.filter.rules.end(), r->name) != request.filter.rules.end();
      };
      for (const Rule* r : match_rules(rules, *parsed))
        if (wanted(r)) item.rules.push_back(r->name);
      for (const Rule* r : match_batch_rules(rules, *parsed))
        if (wanted(r)) item.batches.push_back(r->name);
      if (item.rules.empty() && item.batches.empty())
        item.skip = request.filter.rules.empty() ? "no rule matches the key now" : "the named rules do not match the key";
      // A quarantined object replayed without a rule that failed on it would end archived as if
      // that rule had passed (issue 15, fault 8): not planned; `retry` (or naming it) runs it.
      if (item.skip.empty() && o.state == ObjectState::quarantined) {
        std::string missing;
        for (const auto& t : store.tasks_of(o.id))
          if (t.state == TaskState::failed && rules.find(t.rule) &&
              std::find(item.rules.begin(), item.rules.end(), t.rule) == item.rules.end())
            missing += (missing.empty() ? "" : ", ") + t.rule;
        if (!missing.empty())
          item.skip = missing + " failed on it and is not in this replay: it would be archived as if it had passed "
                      "(name it with --rule too, or `hivehook retry` the key)";
      }
    }
    struct stat st {};
    if (item.skip.empty() && ::lstat(item.from.c_str(), &st) != 0) item.skip = "its file is gone from " + item.from.string();
    if (item.skip.empty() && !unmatched && ::lstat((landing / o.key).c_str(), &st) == 0)
      item.skip = "a file is in landing at this key";
    plan.items.push_back(std::move(item));
  }
  // A group's marker after its group's files: admitted first, it would complete the group empty
  // and the files would open the next one, collecting for ever.
  std::stable_partition(plan.items.begin(), plan.items.end(), [&](const ReplayItem& i) {
    if (!i.rules.empty() || i.batches.empty()) return true;
    const std::string base = i.key.substr(i.key.rfind('/') == std::string::npos ? 0 : i.key.rfind('/') + 1);
    for (const auto& name : i.batches)
      if (const Rule* r = rules.find(name); r && r->batch && r->batch->when == BatchSpec::When::marker && r->batch->marker == base)
        return false;
    return true;
  });
  return plan;
}

nlohmann::json plan_json(const ReplayPlan& plan) {
  nlohmann::json objects = nlohmann::json::array();
  int replayed = 0, skipped = 0;
  for (const auto& i : plan.items) {
    nlohmann::json j = {{"of_object", i.of_object}, {"key", utf8_sanitize(i.key)}, {"from_state", i.from_state},
                        {"from", utf8_sanitize(i.from.string())}, {"rules", i.rules}, {"batches", i.batches}};
    j["skipped"] = i.skip.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.skip);
    (i.skip.empty() ? replayed : skipped)++;
    objects.push_back(std::move(j));
  }
  return {{"retry", plan.retry}, {"dry_run", plan.dry_run}, {"objects", objects}, {"replayed", replayed}, {"skipped", skipped}};
}

}  // namespace hivehook
