// `hivehook match KEY`: how a key parses (table, partition, name) and which rules it fires.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "rules/config.h"
#include "rules/rule.h"

namespace hivehook::cli {

namespace {

struct MatchOptions {
  std::string key;
  bool json = false;
};

std::string_view job_kind(const JobSpec& job) {
  if (std::holds_alternative<CommandJob>(job.kind)) return "command";
  if (std::holds_alternative<LambdaJob>(job.kind)) return "lambda";
  return "builtin";
}

std::string ignored_by(const ObjectKey& key, const Config& config) {
  for (const auto& p : config.ignore)
    if (basename_glob_match(p, key.name)) return p;
  return "";
}

void print_text(const ObjectKey& key, const std::string& ignore, const std::vector<const Rule*>& hits) {
  std::cout << "key:       " << key.key << "\n"
            << "table:     " << (key.table.empty() ? "(none: top-level file)" : key.table) << "\n"
            << "partition: ";
  if (key.partition.empty()) std::cout << "(none)";
  for (size_t i = 0; i < key.partition.size(); ++i)
    std::cout << (i ? ", " : "") << key.partition[i].first << "=" << key.partition[i].second;
  std::cout << "\nname:      " << key.name << "\n";
  if (!ignore.empty()) std::cout << "ignored:   yes, by pattern '" << ignore << "' (never processed)\n";
  if (hits.empty()) {
    std::cout << "rules:     none match (the object would be recorded as unmatched and left in place)\n";
    return;
  }
  std::cout << "rules:     " << hits.size() << " match, in order:\n";
  size_t width = 0;
  for (const Rule* r : hits) width = std::max(width, r->name.size());
  for (size_t i = 0; i < hits.size(); ++i)
    std::cout << "  " << i + 1 << ". " << std::left << std::setw(int(width)) << hits[i]->name << "  "
              << std::setw(7) << job_kind(hits[i]->job) << "  " << hits[i]->source << "\n";
}

void print_json(const ObjectKey& key, const std::string& ignore, const std::vector<const Rule*>& hits) {
  nlohmann::ordered_json out;
  out["key"] = key.key;
  out["table"] = key.table;
  out["partition"] = nlohmann::ordered_json::object();
  for (const auto& [n, v] : key.partition) out["partition"][n] = v;
  out["name"] = key.name;
  out["ignored"] = !ignore.empty();
  if (!ignore.empty()) out["ignored_by"] = ignore;
  out["rules"] = nlohmann::ordered_json::array();
  for (const Rule* r : hits)
    out["rules"].push_back({{"name", r->name}, {"job", job_kind(r->job)}, {"source", r->source}});
  // Keys are bytes on disk, not necessarily UTF-8: replace invalid sequences instead of throwing.
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

int run_match(const Globals& g, const MatchOptions& o) {
  namespace fs = std::filesystem;
  std::string error;
  auto key = parse_key(o.key, &error);
  if (!key) {
    cli::error(g) << "invalid key '" << o.key << "': " << error << "\n";
    return kExitUsage;
  }
  fs::path file = resolve_config_path(g.config);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    cli::error(g) << "config file '" << file.string() << "' not found (use -c FILE or $HIVEHOOK_CONFIG)\n";
    return kExitUsage;
  }
  Diagnostics diags;
  auto config = load_config(file, diags);
  std::optional<RuleSet> rules;
  if (config) rules = load_rules(config->rules, *config, diags);
  if (!config || !rules) {
    std::cerr << diags.str();
    cli::error(g) << "the config or rules are invalid (see `hivehook check`)\n";
    return kExitUsage;
  }
  std::string ignore = ignored_by(*key, *config);
  auto hits = match_rules(*rules, *key);
  if (o.json) print_json(*key, ignore, hits);
  else print_text(*key, ignore, hits);
  return kExitOk;
}

}  // namespace

void add_match(CLI::App& app, Globals& g) {
  auto opts = std::make_shared<MatchOptions>();
  CLI::App* cmd = add_command(
      app, g,
      {.name = "match",
       .summary = "Show how a key parses and which rules it fires, in order",
       .details = "KEY is a path relative to landing, as S3 would name the object. Prints its table (the first "
                  "folder), its hive partition (name=value folders, decoded), its name, whether an ignore pattern "
                  "hides it, and every rule that matches, in the order they run. Nothing is read from the store.",
       .exit_status = "0 shown (whether or not a rule matches); 2 invalid key, or invalid config or rules.",
       .examples = "  hivehook match 'sales/region=eu/2024-01-01.csv'\n"
                   "  hivehook match --json 'transactions/year=2023/month=03/day=15/t.csv'"});
  cmd->add_option("KEY", opts->key, "object key relative to landing, e.g. sales/year=2024/x.csv")->required();
  cmd->add_flag("--json", opts->json, "print one JSON object");
  cmd->callback([&g, opts] { g.exit_code = run_match(g, *opts); });
}

}  // namespace hivehook::cli
