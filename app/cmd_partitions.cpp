// `hivehook partitions [--table T] [--json]`: per table and partition, the objects by state, the
// last run, late expectations and the rules still waiting ("which days are loaded?").
#include <algorithm>
#include <iostream>
#include <string_view>

#include "api/views.h"
#include "app/cli_support.h"
#include "store/partitions.h"

namespace hivehook::cli {

namespace {
// Columns on a terminal: UTF-8 continuation bytes take no column of their own.
std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}
std::string padded(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

struct PartitionsOptions {
  std::string table;
  bool json = false;
};

int run_partitions(Globals& g, const PartitionsOptions& o) {
  auto config = load_config_or_report(g);
  if (!config) return kExitUsage;
  auto store = open_reader(*config, g);
  if (!store) return kExitUsage;
  PartitionFilter f;
  if (!o.table.empty()) f.table = o.table;
  auto cells = partition_matrix(*store, f);
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& c : cells) arr.push_back(api::partition_json(c));
    std::cout << safe_dump(arr, 2) << "\n";
    return kExitOk;
  }
  if (cells.empty()) {
    std::cout << "no objects\n";
    return kExitOk;
  }
  // Per table, the columns as wide as its longest partition name and object counts (a fixed width
  // pushed every later column right for names longer than it).
  auto name_of = [](const PartitionCell& c) { return c.partition.empty() ? std::string("(none)") : printable(c.partition); };
  auto objects_of = [](const PartitionCell& c) {
    std::string objects;
    for (const auto& [state, n] : c.objects) objects += (objects.empty() ? "" : ", ") + std::to_string(n) + " " + state;
    return objects.empty() ? std::string(c.missing ? "MISSING: nothing arrived" : "none arrived") : objects;
  };
  for (std::size_t begin = 0; begin < cells.size();) {
    std::size_t end = begin;
    std::size_t name_w = std::string_view("PARTITION").size(), objects_w = std::string_view("OBJECTS").size();
    for (; end < cells.size() && cells[end].table == cells[begin].table; ++end) {
      name_w = std::max(name_w, display_width(name_of(cells[end])));
      objects_w = std::max(objects_w, display_width(objects_of(cells[end])));
    }
    const std::string& table = cells[begin].table;
    std::cout << (begin == 0 ? "" : "\n") << (table.empty() ? "(landing root)" : printable(table)) << "\n";
    std::cout << "  " << padded("PARTITION", name_w) << "  " << padded("OBJECTS", objects_w) << "  LAST RUN\n";
    for (std::size_t i = begin; i < end; ++i) {
      const auto& c = cells[i];
      std::string last = "-";
      if (c.last_run)
        last = c.last_run->state + " " + c.last_run->rule + " " +
               time_text(c.last_run->ended_at.value_or(c.last_run->started_at));
      std::cout << "  " << padded(name_of(c), name_w) << "  " << padded(objects_of(c), objects_w) << "  " << last << "\n";
      if (!c.waiting_rules.empty()) {
        std::string w;
        for (const auto& r : c.waiting_rules) w += (w.empty() ? "" : ", ") + r;
        std::cout << "    waiting: " << w << "\n";
      }
      for (const auto& f : c.failed)
        std::cout << "    " << f.state << " " << printable(f.key) << ": "
                  << (f.error.empty() ? std::string("(no reason recorded)") : printable(f.error)) << "\n";
      for (const auto& b : c.batches) {
        const std::string what = b.state == "skipped"     ? "SKIPPED: a member failed (audit batch.skipped names it)"
                                 : b.state == "failed"    ? "FAILED after " + std::to_string(b.attempts) + " attempt(s)"
                                 : b.state == "succeeded" ? "succeeded"
                                 : b.state == "running"   ? "running"
                                 : b.state == "abandoned" ? "abandoned (its rule changed)"
                                 : b.state == "complete"  ? "complete, waiting for its members' rules"
                                                          : "collecting";
        std::cout << "    batch " << b.rule << " " << printable(b.group)
                  << (b.generation > 1 ? " (generation " + std::to_string(b.generation) + ")" : "") << ": " << what
                  << "\n";
      }
      for (const auto& late : c.late)
        std::cout << "    LATE: " << printable(late.value("partition", "")) << " expected by "
                  << late.value("deadline", "?") << " (rule " << late.value("rule", "?") << ")\n";
      for (const auto& a : c.arrived_late)
        std::cout << "    arrived late: " << printable(a.value("partition", "")) << " expected by "
                  << a.value("deadline", "?") << ", late by " << a.value("late_by_ms", int64_t{0}) / 1000 << " s (rule "
                  << a.value("rule", "?") << ")\n";
    }
    begin = end;
  }
  return kExitOk;
}
}  // namespace

void add_partitions(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "partitions",
       .summary = "Per table and partition: objects by state, the last run, late expectations, rules waiting",
       .details = "Which days are loaded: for each table (a key's first segment) and hive partition (its name=value "
                  "segments), the latest object at each key counted by state, the run on them that ended last, "
                  "expectations raised late and not yet arrived (and those that arrived late), the rules whose run "
                  "has not ended, the batches of `batch:` rules holding its objects (the newest generation of each: "
                  "collecting, running, succeeded, SKIPPED because a member failed, FAILED), and MISSING days: days "
                  "with nothing between a table's first and last day. Works while the daemon runs.",
       .exit_status = "0 printed; 2 invalid config, no state DB yet, or a state DB this user may not read.",
       .examples = "  hivehook partitions --table transactions\n  hivehook partitions --json"});
  auto o = std::make_shared<PartitionsOptions>();
  cmd->add_option("--table", o->table, "only this table (the key's first segment)")->type_name("TABLE");
  cmd->add_flag("--json", o->json, "a JSON array");
  cmd->callback([&g, o] { g.exit_code = run_partitions(g, *o); });
}

}  // namespace hivehook::cli
