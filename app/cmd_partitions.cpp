// `hivehook partitions [--table T] [--json]`: per table and partition, the objects by state, the
// last run, late expectations and the rules still waiting ("which days are loaded?").
#include <cstdio>
#include <iostream>

#include "api/views.h"
#include "app/cli_support.h"
#include "store/partitions.h"

namespace hivehook::cli {

namespace {
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
  std::string table;
  for (const auto& c : cells) {
    if (c.table != table || &c == &cells.front()) {
      table = c.table;
      std::printf("%s%s\n", &c == &cells.front() ? "" : "\n", table.empty() ? "(landing root)" : printable(table).c_str());
      std::printf("  %-34s  %-30s  %s\n", "PARTITION", "OBJECTS", "LAST RUN");
    }
    std::string objects;
    for (const auto& [state, n] : c.objects) objects += (objects.empty() ? "" : ", ") + std::to_string(n) + " " + state;
    if (objects.empty()) objects = "none arrived";
    std::string last = "-";
    if (c.last_run)
      last = c.last_run->state + " " + c.last_run->rule + " " +
             time_text(c.last_run->ended_at.value_or(c.last_run->started_at));
    std::string name = c.partition.empty() ? "(none)" : printable(c.partition);
    std::printf("  %-34s  %-30s  %s\n", name.c_str(), objects.c_str(), last.c_str());
    if (!c.waiting_rules.empty()) {
      std::string w;
      for (const auto& r : c.waiting_rules) w += (w.empty() ? "" : ", ") + r;
      std::printf("    waiting: %s\n", w.c_str());
    }
    for (const auto& f : c.failed)
      std::printf("    %s %s: %s\n", f.state.c_str(), printable(f.key).c_str(),
                  f.error.empty() ? "(no reason recorded)" : printable(f.error).c_str());
    for (const auto& late : c.late)
      std::printf("    LATE: %s expected by %s (rule %s)\n", printable(late.value("partition", "")).c_str(),
                  late.value("deadline", "?").c_str(), late.value("rule", "?").c_str());
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
                  "segments), the latest object at each key counted by state, the newest run on them, expectations "
                  "raised late and not yet arrived, and the rules whose run has not ended. Works while the daemon runs.",
       .exit_status = "0 printed; 2 invalid config or no state DB yet.",
       .examples = "  hivehook partitions --table transactions\n  hivehook partitions --json"});
  auto o = std::make_shared<PartitionsOptions>();
  cmd->add_option("--table", o->table, "only this table (the key's first segment)")->type_name("TABLE");
  cmd->add_flag("--json", o->json, "a JSON array");
  cmd->callback([&g, o] { g.exit_code = run_partitions(g, *o); });
}

}  // namespace hivehook::cli
