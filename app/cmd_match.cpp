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

// What one matching rule waits for before its run starts on this object.
struct Waits {
  std::vector<std::string> after;     // rules among this key's matches, on this same object
  std::vector<std::string> requires_; // rules that must have succeeded once, on any object
};

Waits waits_of(const Rule& r, const std::vector<const Rule*>& hits) {
  Waits w;
  for (const auto& a : r.after)
    for (const Rule* h : hits)
      if (h->name == a) w.after.push_back(a);  // an after: rule that does not match this key is no wait
  w.requires_ = r.required_rules;
  return w;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string when_text(const BatchSpec& b) {
  switch (b.when) {
    case BatchSpec::When::marker: return "when a file named '" + b.marker + "' arrives in the group";
    case BatchSpec::When::count: return "when the group has " + std::to_string(b.count) + " objects";
    case BatchSpec::When::quiet: return "when no object joined the group for " + format_duration(b.quiet);
  }
  return "";
}

void print_text(const ObjectKey& key, const Config& config, const std::string& ignore,
                const std::vector<const Rule*>& hits, const std::vector<const Rule*>& batches) {
  std::cout << "key:       " << key.key << "\n"
            << "table:     " << (key.table.empty() ? "(none: top-level file)" : key.table) << "\n"
            << "partition: ";
  if (key.partition.empty()) std::cout << "(none)";
  for (size_t i = 0; i < key.partition.size(); ++i)
    std::cout << (i ? ", " : "") << key.partition[i].first << "=" << key.partition[i].second;
  std::cout << "\nname:      " << key.name << "\n";
  if (!ignore.empty()) std::cout << "ignored:   yes, by pattern '" << ignore << "' (never processed)\n";
  if (hits.empty() && batches.empty()) {
    std::cout << "rules:     none match (the object would be recorded as unmatched and left in place)\n";
    return;
  }
  if (!hits.empty()) {
    std::cout << "rules:     " << hits.size() << " match, in the order they start:\n";
    size_t width = 0;
    for (const Rule* r : hits) width = std::max(width, r->name.size());
    auto ordered = run_order(hits);
    for (size_t i = 0; i < ordered.size(); ++i) {
      const Rule& r = *ordered[i];
      std::cout << "  " << i + 1 << ". " << std::left << std::setw(int(width)) << r.name << "  " << std::setw(7)
                << job_kind(r.job) << "  " << r.source << "\n";
      Waits w = waits_of(r, hits);
      if (!w.after.empty())
        std::cout << "       after:    starts once " << join(w.after)
                  << " succeeded on this object; skipped if one fails for good\n";
      if (!w.requires_.empty())
        std::cout << "       requires: waits until " << join(w.requires_)
                  << " succeeded at least once on any object\n";
      if (r.expect)
        std::cout << "       expect:   " << r.expect->partition_text << " every " << format_duration(r.expect->schedule.every)
                  << ", by " << format_duration(r.expect->schedule.by) << " after the period ("
                  << r.timezone.name() << ")\n";
    }
  }
  for (const Rule* b : batches) {
    auto group = b->batch->group.render(key, config.bucket);
    std::cout << "batch:     " << b->name << "  " << b->source << "\n"
              << "       group:    " << (group ? "'" + *group + "'" : "(none: the key lacks a column of '" + b->batch->group.text() + "')") << "\n";
    if (group) {
      bool marker = b->batch->when == BatchSpec::When::marker && key.name == b->batch->marker;
      std::cout << "       runs:     once per group, " << when_text(*b->batch)
                << (marker ? " (this file is that marker)" : "")
                << ", after the members' own rules ended; skipped if one of them failed\n";
    }
  }
}

void print_json(const ObjectKey& key, const Config& config, const std::string& ignore,
                const std::vector<const Rule*>& hits, const std::vector<const Rule*>& batches) {
  nlohmann::ordered_json out;
  out["key"] = key.key;
  out["table"] = key.table;
  out["partition"] = nlohmann::ordered_json::object();
  for (const auto& [n, v] : key.partition) out["partition"][n] = v;
  out["name"] = key.name;
  out["ignored"] = !ignore.empty();
  if (!ignore.empty()) out["ignored_by"] = ignore;
  out["rules"] = nlohmann::ordered_json::array();
  for (const Rule* r : run_order(hits)) {
    Waits w = waits_of(*r, hits);
    nlohmann::ordered_json j{{"name", r->name}, {"job", job_kind(r->job)}, {"source", r->source},
                             {"after", w.after}, {"requires", w.requires_}};
    if (r->expect)  // all the text form says (issue 14, F16 of the new-user test: only the partition was here)
      j["expect"] = {{"partition", r->expect->partition_text},
                     {"every", format_duration(r->expect->schedule.every)},
                     {"by", format_duration(r->expect->schedule.by)},
                     {"timezone", r->timezone.name()}};
    out["rules"].push_back(std::move(j));
  }
  out["batches"] = nlohmann::ordered_json::array();
  for (const Rule* b : batches) {
    auto group = b->batch->group.render(key, config.bucket);
    nlohmann::ordered_json j{{"name", b->name}, {"source", b->source}};
    j["group"] = group ? nlohmann::ordered_json(*group) : nlohmann::ordered_json(nullptr);
    j["when"] = b->batch->when == BatchSpec::When::marker  ? nlohmann::ordered_json{{"marker", b->batch->marker}}
                : b->batch->when == BatchSpec::When::count ? nlohmann::ordered_json{{"count", b->batch->count}}
                                                            : nlohmann::ordered_json{{"quiet_ms", b->batch->quiet.count()}};
    out["batches"].push_back(std::move(j));
  }
  // Keys are bytes on disk, not necessarily UTF-8: replace invalid sequences instead of throwing.
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

int run_match(Globals& g, const MatchOptions& o) {
  namespace fs = std::filesystem;
  std::string error;
  auto key = parse_key(o.key, &error);
  if (!key) {
    cli::error(g) << "invalid key '" << o.key << "': " << error << "\n";
    return kExitUsage;
  }
  if (apply_env_files(g) < 0) return kExitUsage;
  fs::path file = resolve_config_path(g.config);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    cli::error(g) << "config file '" << file.string() << "' not found (use -c FILE or $HIVEHOOK_CONFIG)\n";
    return kExitUsage;
  }
  Diagnostics diags;
  // Lenient: matching needs the paths and the rules, not the notify secrets (issue 16 N10: an unset
  // ${OPS_HOOK_SECRET} in the ops shell made `match` refuse).
  auto config = load_config_lenient(file, diags);
  std::optional<RuleSet> rules;
  // Only an unset variable is tolerated; any other error in the config still refuses.
  bool config_errors = !config;
  for (const auto& d : diags.items())
    if (d.severity == Diagnostic::Severity::error && d.message.find("' is not set") == std::string::npos)
      config_errors = true;
  if (config && !config_errors) rules = load_rules(config->rules, *config, diags);
  if (config_errors || !rules) {
    std::cerr << diags.str();
    cli::error(g) << "the config or rules are invalid (see `hivehook check`)\n";
    return kExitUsage;
  }
  std::string ignore = ignored_by(*key, *config);
  auto hits = match_rules(*rules, *key);
  auto batches = match_batch_rules(*rules, *key);
  if (o.json) print_json(*key, *config, ignore, hits, batches);
  else print_text(*key, *config, ignore, hits, batches);
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
                  "hides it, and every rule that matches, in the order they start: a rule with `after:` comes after the rules it names "
                  "(and is skipped if one fails for good), a rule with `requires:` waits until the rules it names "
                  "succeeded once on any object, and a `batch` rule shows the group the key joins and when that "
                  "group is complete. Nothing is read from the store.",
       .exit_status = "0 shown (whether or not a rule matches); 2 invalid key, or invalid config or rules.",
       .examples = "  hivehook match 'sales/region=eu/2024-01-01.csv'\n"
                   "  hivehook match --json 'transactions/year=2023/month=03/day=15/t.csv'"});
  cmd->add_option("KEY", opts->key, "object key relative to landing, e.g. sales/year=2024/x.csv")->required();
  cmd->add_flag("--json", opts->json, "print one JSON object");
  cmd->callback([&g, opts] { g.exit_code = run_match(g, *opts); });
}

}  // namespace hivehook::cli
