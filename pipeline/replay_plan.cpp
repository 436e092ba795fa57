#include "pipeline/replay_plan.h"

#include <sys/stat.h>

#include <algorithm>

#include "base/utf8.h"
#include "landing/key.h"
#include "rules/schema.h"
#include "store/batch_state.h"
#include "store/queries.h"

namespace hivehook {

namespace {

std::optional<std::string> unknown_rule(const RuleSet& rules, const ReplayFilter& filter) {
  for (const auto& name : filter.rules)
    if (!rules.find(name)) {
      std::vector<std::string_view> names;
      for (const auto& r : rules.rules) names.push_back(r.name);
      const std::string hint = schema::closest(name, names);
      return "no rule named '" + name + "' is in force" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)");
    }
  return std::nullopt;
}

ReplayItem item_of(const ObjectRecord& o, const std::filesystem::path& landing) {
  ReplayItem item;
  item.of_object = o.id;
  item.key = o.key;
  item.from_state = std::string(to_string(o.state));
  item.from = o.state == ObjectState::unmatched ? landing / o.key : std::filesystem::path(o.final_path);
  return item;
}

// Its file must be where the store says, and nothing may have landed at its key since.
void check_files(ReplayItem& item, const std::filesystem::path& landing) {
  struct stat st {};
  if (item.skip.empty() && ::lstat(item.from.c_str(), &st) != 0) item.skip = "its file is gone from " + item.from.string();
  if (item.skip.empty() && item.from_state != "unmatched" && ::lstat((landing / item.key).c_str(), &st) == 0)
    item.skip = "a file is in landing at this key";
}

// The objects a request names: its retry keys (each must be quarantined), else the filter's.
std::optional<std::vector<ObjectRecord>> candidates(Store& store, const ReplayRequest& request, std::string& why) {
  if (request.keys.empty()) return replay_candidates(store, request.filter);
  std::vector<ObjectRecord> objects;
  for (const auto& key : request.keys) {
    auto found = quarantined_objects(store, key);
    if (found.empty()) {
      auto last = store.last_object(key);
      why = last ? "'" + utf8_sanitize(key) + "' is not quarantined: its latest arrival (object " +
                       std::to_string(last->id) + ") is " + std::string(to_string(last->state))
                 : "no object has arrived at '" + utf8_sanitize(key) + "'";
      return std::nullopt;
    }
    if (auto full = store.object(found.front().id)) objects.push_back(*full);
  }
  return objects;
}

// retry: the rules that failed, and those `skipped` because an after: rule failed (skipped means
// nothing else) — leaving those out archived the object as if its load step had run (issue 15
// retest, F14); the retry's tasks keep their after: order. The batches the object's failure
// skipped are collected in `skipped` for rebuild_batches.
void plan_retry(Store& store, const RuleSet& rules, const ObjectRecord& o, ReplayItem& item,
                std::vector<BatchRecord>& skipped) {
  for (const auto& t : store.tasks_of(o.id))
    if ((t.state == TaskState::failed || t.state == TaskState::skipped) && rules.find(t.rule))
      item.rules.push_back(t.rule);
  if (item.rules.empty()) {
    item.skip = "none of the rules that failed on it is in force any more";
    return;
  }
  for (auto& b : BatchState(store).skipped_of_object(o.id)) {
    const bool seen = std::any_of(skipped.begin(), skipped.end(), [&](const BatchRecord& x) {
      return x.rule == b.rule && x.group == b.group && x.generation == b.generation;
    });
    if (!seen && rules.find(b.rule)) skipped.push_back(std::move(b));
  }
}

// A batch a failed member skipped runs again once the retried members succeed (issue 15 retest,
// F15: it reopened with the retried file alone and collected for ever, its marker long archived).
// It is rebuilt whole: its other members go back in without running anything (their rules
// succeeded), its marker after them; the retried members list the batch. A member still
// quarantined and not in this retry keeps it from being rebuilt (the marker's line says so).
void rebuild_batches(Store& store, const std::vector<BatchRecord>& skipped, const std::filesystem::path& landing,
                     std::vector<ReplayItem>& items) {
  BatchState batches(store);
  for (const auto& b : skipped) {
    auto members = batches.members(b);
    auto retried = [&](int64_t id) {
      return std::any_of(items.begin(), items.end(), [&](const ReplayItem& i) { return i.of_object == id && i.skip.empty(); });
    };
    std::string blocked;
    for (const auto& m : members)
      if (!m.marker && m.object_state == "quarantined" && !retried(m.object_id)) blocked = m.key;
    std::vector<ReplayItem> added;
    for (std::size_t k = 0; k < members.size(); ++k) {
      const auto& m = members[k];
      if (retried(m.object_id)) continue;
      // A member a newer version of its key replaced in the batch is not the batch's any more.
      if (std::any_of(members.begin() + static_cast<std::ptrdiff_t>(k) + 1, members.end(),
                      [&](const BatchMember& n) { return n.key == m.key && n.marker == m.marker; }))
        continue;
      auto o = store.object(m.object_id);
      if (!o || (!m.marker && !blocked.empty())) continue;
      ReplayItem item = item_of(*o, landing);
      item.batches.push_back(b.rule);
      if (!blocked.empty())
        item.skip = "batch " + b.rule + " (group " + b.group + ") is not run again: its member " + blocked +
                    " is quarantined and not in this retry";
      else if (o->state != ObjectState::archived)
        item.skip = "a member of batch " + b.rule + " that is " + item.from_state + ", not archived";
      check_files(item, landing);
      added.push_back(std::move(item));
    }
    if (blocked.empty())
      for (auto& i : items)
        if (retried(i.of_object) && std::any_of(members.begin(), members.end(), [&](const BatchMember& m) { return m.object_id == i.of_object; }) &&
            std::find(i.batches.begin(), i.batches.end(), b.rule) == i.batches.end())
          i.batches.push_back(b.rule);
    for (auto& i : added) items.push_back(std::move(i));
  }
}

// replay of some members of a marker batch that ran (issue 14, G3 of the new-user retest): the
// replayed file opened the group's next generation, which only a marker completes, and a re-sent
// marker was a duplicate — it collected for ever. The group's latest ended batch holding it is
// rebuilt whole, as retry's are (rebuild_batches): its other current members and its marker join
// again, without running their rules.
std::vector<BatchRecord> marker_batches_replayed(Store& store, const RuleSet& rules, const std::vector<ReplayItem>& items) {
  std::vector<BatchRecord> out;
  BatchState batches(store);
  for (const auto& i : items) {
    if (!i.skip.empty()) continue;
    for (auto& b : batches.ended_of_object(i.of_object)) {
      const Rule* r = rules.find(b.rule);
      if (!r || !r->batch || r->batch->when != BatchSpec::When::marker ||
          std::find(i.batches.begin(), i.batches.end(), b.rule) == i.batches.end())
        continue;
      auto same = std::find_if(out.begin(), out.end(), [&](const BatchRecord& x) { return x.rule == b.rule && x.group == b.group; });
      if (same == out.end()) out.push_back(std::move(b));
      else if (same->generation < b.generation) *same = std::move(b);
    }
  }
  return out;
}

// replay: the named rules that match the key, else every rule that matches it now, and the batch
// rules it joins again. false: the named rules match nothing of it — not a candidate (issue 15
// retest, F12: another table's objects were listed as "skipped" by the hundred).
bool plan_rules(Store& store, const RuleSet& rules, const ReplayFilter& filter, const ObjectRecord& o,
                const ObjectKey& key, ReplayItem& item) {
  auto wanted = [&](const Rule* r) {
    return filter.rules.empty() || std::find(filter.rules.begin(), filter.rules.end(), r->name) != filter.rules.end();
  };
  for (const Rule* r : match_rules(rules, key))
    if (wanted(r)) item.rules.push_back(r->name);
  for (const Rule* r : match_batch_rules(rules, key))
    if (wanted(r)) item.batches.push_back(r->name);
  if (item.rules.empty() && item.batches.empty()) {
    if (!filter.rules.empty()) return false;
    item.skip = "no rule matches the key now";
    return true;
  }
  // A quarantined object replayed without a rule that failed on it would end archived as if that
  // rule had passed (issue 15, fault 8): not planned; `retry` (or naming it) runs it.
  if (o.state != ObjectState::quarantined) return true;
  std::string missing;
  for (const auto& t : store.tasks_of(o.id))
    if ((t.state == TaskState::failed || t.state == TaskState::skipped) && rules.find(t.rule) &&
        std::find(item.rules.begin(), item.rules.end(), t.rule) == item.rules.end())
      missing += (missing.empty() ? "" : ", ") + t.rule;
  if (!missing.empty())
    item.skip = missing + " failed on it and is not in this replay: it would be archived as if it had passed "
                "(name it with --rule too, or `hivehook retry` the key)";
  return true;
}

// A group's marker after its group's files: admitted first, it would complete the group empty
// and the files would open the next one, collecting for ever.
void markers_last(const RuleSet& rules, std::vector<ReplayItem>& items) {
  std::stable_partition(items.begin(), items.end(), [&](const ReplayItem& i) {
    if (!i.rules.empty() || i.batches.empty()) return true;
    const std::string base = i.key.substr(i.key.rfind('/') == std::string::npos ? 0 : i.key.rfind('/') + 1);
    for (const auto& name : i.batches)
      if (const Rule* r = rules.find(name); r && r->batch && r->batch->when == BatchSpec::When::marker && r->batch->marker == base)
        return false;
    return true;
  });
}

}  // namespace

std::optional<ReplayPlan> plan_replay(Store& store, const RuleSet& rules, const std::filesystem::path& landing,
                                      const ReplayRequest& request, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<ReplayPlan> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (auto why = unknown_rule(rules, request.filter)) return fail(*why);
  // A replay of the whole store only when asked for by name (fault: an empty body replayed it all).
  if (!request.retry && request.keys.empty() && !request.dry_run && !request.filter.all && unfiltered(request.filter))
    return fail("a replay with no filter would run every archived and quarantined object again: narrow it "
                "(--rule, --key, --partition, --from/--to, --failed; API: rule, key, partition, from/to, failed) or "
                "say so with --all (API: \"all\": true); --dry-run shows the plan");
  std::string why;
  auto objects = candidates(store, request, why);
  if (!objects) return fail(why);
  ReplayPlan plan;
  plan.retry = request.retry;
  plan.dry_run = request.dry_run;
  std::vector<BatchRecord> skipped_batches;  // retry: batches the retried objects' failures skipped
  for (const auto& o : *objects) {
    ReplayItem item = item_of(o, landing);
    auto parsed = parse_key(o.key);
    const bool in_progress =
        o.state == ObjectState::pending || o.state == ObjectState::succeeded || o.state == ObjectState::failed;
    if (!parsed) item.skip = "the key is not valid";
    else if (request.retry) plan_retry(store, rules, o, item, skipped_batches);
    else if (!plan_rules(store, rules, request.filter, o, *parsed, item)) continue;
    if (in_progress) {
      item.rules.clear();
      item.batches.clear();
      item.skip = "it is being processed (object " + std::to_string(o.id) + " is " + item.from_state + ")";
    }
    check_files(item, landing);
    plan.items.push_back(std::move(item));
  }
  if (!request.retry) skipped_batches = marker_batches_replayed(store, rules, plan.items);
  rebuild_batches(store, skipped_batches, landing, plan.items);
  markers_last(rules, plan.items);
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
