// Checks across rules for `after:` and `requires:` (DESIGN.md "Orchestration"), the order rules
// start on one object, and which partition columns a match can produce.
#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "rules/glob.h"
#include "rules/match_overlap.h"
#include "rules/rule.h"
#include "rules/schema.h"

namespace hivehook {

bool match_can_produce_partition(const MatchSpec& match, std::string_view name) {
  for (const auto& [n, _] : match.partition)
    if (n == name) return true;
  if (!match.glob) return true;  // prefix and suffix leave the folders between them free
  std::vector<std::string_view> segs;
  std::string_view g = *match.glob;
  for (size_t start = 0;;) {
    size_t slash = g.find('/', start);
    segs.push_back(g.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string prefix = std::string(name) + "=";
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i] == "**") return true;
    // Partition folders lie below the table (the first segment) and above the file (the last).
    if (i >= 1 && i + 1 < segs.size() && glob_segment_can_begin_with(segs[i], prefix)) return true;
  }
  return false;
}

namespace {

std::vector<std::string_view> segments(std::string_view g) {
  std::vector<std::string_view> segs;
  for (size_t start = 0;;) {
    size_t slash = g.find('/', start);
    segs.push_back(g.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segs;
}

}  // namespace

bool match_always_has_partition(const MatchSpec& match, std::string_view name) {
  for (const auto& [n, _] : match.partition)
    if (n == name) return true;
  const std::string prefix = std::string(name) + "=";
  auto folder_names_it = [&](const std::vector<std::string_view>& segs, size_t folders) {
    for (size_t i = 1; i < folders; ++i)
      if (segs[i].substr(0, prefix.size()) == prefix) return true;
    return false;
  };
  if (match.glob) {
    // A fixed folder (not the table's, not the file) that begins with "name=": below a leading
    // '**' it could be the table, so only without one.
    auto segs = segments(*match.glob);
    if (segs[0] != "**" && segs.size() >= 2 && folder_names_it(segs, segs.size() - 1)) return true;
  }
  if (match.prefix) {
    auto segs = segments(*match.prefix);  // the part after the last '/' is not a whole folder yet
    if (segs.size() >= 2 && folder_names_it(segs, segs.size() - 1)) return true;
  }
  return false;
}

bool match_always_has_table(const MatchSpec& match) {
  if (!match.partition.empty()) return true;  // partition folders lie below a table
  if (match.glob) {
    auto segs = segments(*match.glob);
    if (std::count_if(segs.begin(), segs.end(), [](std::string_view s) { return s != "**"; }) >= 2) return true;
  }
  return match.prefix && match.prefix->find('/') != std::string::npos;
}

namespace {

struct Edge {
  const Rule* to;
  const SourceAt* at;
  const char* key;  // "after" or "requires"
};

}  // namespace

void check_rule_graph(const std::vector<Rule>& rules, Diagnostics& diags) {
  std::map<std::string, const Rule*, std::less<>> by_name;
  std::vector<std::string_view> names;
  for (const auto& r : rules) {
    if (r.name.empty()) continue;
    by_name.emplace(r.name, &r);
    names.push_back(r.name);
  }
  auto error = [&](const SourceAt& at, std::string m) { diags.error(at.file, at.line, at.col, std::move(m)); };

  std::map<const Rule*, std::vector<Edge>> edges;
  for (const auto& r : rules) {
    auto walk = [&](const std::vector<std::string>& list, const std::vector<SourceAt>& at, const char* key) {
      for (size_t i = 0; i < list.size() && i < at.size(); ++i) {
        const std::string& n = list[i];
        auto it = by_name.find(n);
        if (it == by_name.end()) {
          std::string hint = schema::closest(n, names);
          error(at[i], std::string("'") + key + ":' names unknown rule '" + n + "'" +
                           (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
          continue;
        }
        const Rule* to = it->second;
        if (to == &r) {
          error(at[i], std::string("rule '") + r.name + "' names itself in '" + key + ":'");
          continue;
        }
        if (std::string_view(key) == "after" && to->schedule) {
          error(at[i], "'after:' names schedule rule '" + n +
                           "', which runs on a clock, not on objects (use 'requires:' to wait for its first success)");
          continue;
        }
        if (std::string_view(key) == "after" && to->batch) {
          error(at[i], "'after:' names batch rule '" + n +
                           "', which runs once per group, not on each object (use 'requires:' to wait for its first "
                           "success)");
          continue;
        }
        // A hidden cycle through a batch (G1 of the retest): the batch runs only after its members'
        // own rules ended, and this rule's objects can be its members.
        if (std::string_view(key) == "requires" && to->batch && !r.batch && !r.schedule &&
            matches_may_overlap(r.match, to->match)) {
          error(at[i], "cycle in 'requires:': " + r.name + " -> " + n + " -> " + r.name + " (batch rule '" + n +
                           "' can take this rule's objects as members, and a batch runs only after its members' "
                           "own rules ended: each would wait for the other forever)");
          continue;
        }
        edges[&r].push_back({to, &at[i], key});
      }
    };
    walk(r.after, r.after_at, "after");
    walk(r.required_rules, r.required_at, "requires");
  }

  // Cycles: depth-first search with colours; each cycle reported once, at the edge closing it.
  std::map<const Rule*, int> colour;  // 0 white, 1 on the stack, 2 done
  std::vector<const Rule*> stack;
  std::function<void(const Rule*)> visit = [&](const Rule* r) {
    colour[r] = 1;
    stack.push_back(r);
    for (const Edge& e : edges[r]) {
      if (colour[e.to] == 1) {
        std::string path;
        auto from = std::find(stack.begin(), stack.end(), e.to);
        for (auto it = from; it != stack.end(); ++it) path += (*it)->name + " -> ";
        path += e.to->name;
        error(*e.at, "cycle in 'after:'/'requires:': " + path + " (each would wait for the other forever)");
      } else if (colour[e.to] == 0) {
        visit(e.to);
      }
    }
    stack.pop_back();
    colour[r] = 2;
  };
  for (const auto& r : rules)
    if (colour[&r] == 0) visit(&r);
}

std::vector<const Rule*> run_order(const std::vector<const Rule*>& matching) {
  // Kahn's algorithm, always taking the earliest ready rule in rule order (stable).
  std::vector<const Rule*> out;
  std::vector<bool> placed(matching.size(), false);
  auto index_of = [&](std::string_view name) -> long {
    for (size_t i = 0; i < matching.size(); ++i)
      if (matching[i]->name == name) return long(i);
    return -1;
  };
  while (out.size() < matching.size()) {
    bool progress = false;
    for (size_t i = 0; i < matching.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const auto& dep : matching[i]->after) {
        long j = index_of(dep);
        if (j >= 0 && !placed[size_t(j)]) ready = false;
      }
      if (!ready) continue;
      placed[i] = true;
      out.push_back(matching[i]);
      progress = true;
      break;
    }
    if (!progress) {  // a cycle (refused by check): keep the rest in rule order
      for (size_t i = 0; i < matching.size(); ++i)
        if (!placed[i]) out.push_back(matching[i]);
      break;
    }
  }
  return out;
}

}  // namespace hivehook
