// `hivehook runs [--failed] [--key PREFIX] [--rule R] [--limit N] [--json]`: run history.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "api/views.h"
#include "app/cli_support.h"
#include "jobs/output_excerpt.h"
#include "rules/rule.h"
#include "rules/secrets.h"
#include "store/queries.h"
#include "store/schema.h"

namespace hivehook::cli {

namespace {
struct RunsOptions {
  bool failed = false, json = false, output = false;
  std::string key, rule;
  int limit = 50;
};

nlohmann::json to_json(const RunRecord& r, bool output, const Redactor& redact) {
  nlohmann::json j = {{"run_id", r.run_id}, {"key", r.key}, {"rule", r.rule}, {"attempt", r.attempt},
                      {"state", to_string(r.state)}, {"started", time_text(r.started_at)}};
  j["ended"] = r.ended_at ? nlohmann::json(time_text(*r.ended_at)) : nlohmann::json(nullptr);
  j["duration_ms"] = r.duration_ms ? nlohmann::json(*r.duration_ms) : nlohmann::json(nullptr);
  j["exit_code"] = r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
  j["signal"] = r.signal ? nlohmann::json(*r.signal) : nlohmann::json(nullptr);
  j["error"] = r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(redact(r.error));
  j["result"] = r.result.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(redact(r.result), nullptr, false);
  if (j["result"].is_discarded()) j["result"] = redact(r.result);
  if (output) {
    j["stdout_tail"] = redact(r.stdout_tail);
    j["stderr_tail"] = redact(r.stderr_tail);
    j["stderr_excerpt"] = output_excerpt(r.stderr_tail, api::kExcerptLines, api::kExcerptBytes, redact);
  }
  return j;
}

int run_runs(Globals& g, const RunsOptions& o) {
  auto config = load_config_or_report(g);
  if (!config) return kExitUsage;
  auto store = open_reader(*config, g);
  if (!store) return kExitUsage;
  RunFilter f;
  f.failed_only = o.failed;
  if (!o.key.empty()) f.key_prefix = o.key;
  if (!o.rule.empty()) f.rule = o.rule;
  f.limit = o.limit;
  auto runs = list_runs(*store, f);
  // The NODE column when a run listed names its node (a PostgreSQL state, which several nodes may
  // share: docs/cluster.md); a SQLite state's runs name none, and its table stays as it was.
  const bool shared = std::any_of(runs.begin(), runs.end(), [](const RunRecord& r) { return !r.node.empty(); });
  // The secrets the daemon masks: the config's and the rules' (a rules file that does not load
  // leaves the config's and this environment's credential-named values).
  Diagnostics ignored;
  const auto rules = load_rules(config->rules, *config, ignored);
  std::vector<std::string> secrets = rules ? rules->secrets : config_secrets(*config);
  if (!rules)
    for (auto& s : environment_secrets(process_environment())) secrets.push_back(std::move(s));
  const Redactor redact = rules ? rules->redactor : Redactor(secrets);
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : runs) {
      auto j = to_json(r, o.output, redact);
      j["node"] = r.node.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.node);
      arr.push_back(std::move(j));
    }
    std::cout << safe_dump(arr, 2) << "\n";
    return kExitOk;
  }
  if (runs.empty()) {
    std::cout << "no runs\n";
    return kExitOk;
  }
  if (shared) std::printf("%-12s  ", "NODE");
  std::printf("%-24s  %-11s  %-20s  %3s  %6s  %9s  %s\n", "STARTED", "STATE", "RULE", "TRY", "EXIT", "DURATION", "KEY");
  for (const auto& r : runs) {
    std::string exit = r.exit_code ? std::to_string(*r.exit_code) : r.signal ? "sig" + std::to_string(*r.signal) : "-";
    std::string dur = r.duration_ms ? human_duration(*r.duration_ms) : "-";
    if (shared) std::printf("%-12s  ", r.node.empty() ? "-" : r.node.c_str());
    std::printf("%-24s  %-11s  %-20s  %3d  %6s  %9s  %s\n", time_text(r.started_at).c_str(),
                std::string(to_string(r.state)).c_str(), r.rule.c_str(), r.attempt, exit.c_str(), dur.c_str(),
                printable(r.key).c_str());
    // Masked again as read (as --json and the API do): rows written before a secret was known.
    if (!r.error.empty()) std::printf("    error:  %s\n", printable(redact(r.error)).c_str());
    if (!r.result.empty()) std::printf("    result: %s\n", redact(r.result).c_str());
    if (o.output) {
      // Real lines, the end of each stream, bounded and with secrets masked (as the console shows them).
      auto block = [&](const char* name, const std::string& tail) {
        if (tail.empty()) return;
        std::printf("    %s:\n", name);
        const std::string text = output_excerpt(tail, api::kExcerptLines, api::kExcerptBytes, redact);
        std::size_t start = 0;
        while (start < text.size()) {
          const std::size_t nl = text.find('\n', start);
          std::printf("      | %s\n", text.substr(start, nl - start).c_str());
          start = nl == std::string::npos ? text.size() : nl + 1;
        }
      };
      block("stdout", r.stdout_tail);
      block("stderr", r.stderr_tail);
    }
  }
  return kExitOk;
}
}  // namespace

void add_runs(CLI::App& app, Globals& g) {
  auto* cmd = add_command(
      app, g,
      {.name = "runs",
       .summary = "Run history with exit codes, durations and results (newest last)",
       .details = "One line per run: when it started, its state (started, succeeded, failed, timed_out, "
                  "interrupted), rule, attempt, exit code or signal, duration and key; then the error and the "
                  "result JSON the job wrote to $HIVEHOOK_RESULT, and with --output the tail of its stderr. "
                  "--json prints exact figures (duration_ms) for scripts.",
       .exit_status = "0 printed; 2 invalid config, no state DB yet, or a state DB this user may not read.",
       .examples = "  hivehook runs --failed --output\n"
                   "  hivehook runs --rule transactions-etl --limit 0 --json"});
  auto o = std::make_shared<RunsOptions>();
  cmd->add_flag("--failed", o->failed, "only failed and timed-out runs");
  cmd->add_option("--key", o->key, "only runs whose key starts with this prefix")->type_name("PREFIX");
  cmd->add_option("--rule", o->rule, "only runs of this rule")->type_name("RULE");
  cmd->add_option("--limit", o->limit, "the newest N runs (0: all)")->capture_default_str()->type_name("N");
  cmd->add_flag("--output", o->output, "include the stdout/stderr tails");
  cmd->add_flag("--json", o->json, "a JSON array");
  cmd->callback([&g, o] { g.exit_code = run_runs(g, *o); });
}

}  // namespace hivehook::cli
