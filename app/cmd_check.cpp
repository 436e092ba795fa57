// `hivehook check`: validate the config and its rules, every problem at file:line:col.
#include <filesystem>
#include <iostream>

#include "app/commands.h"
#include "rules/config.h"
#include "rules/rule.h"

namespace hivehook::cli {

namespace {

int run_check(const Globals& g) {
  namespace fs = std::filesystem;
  fs::path file = resolve_config_path(g.config);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    std::cerr << "hivehook check: config file '" << file.string() << "' not found (use -c FILE or $HIVEHOOK_CONFIG)\n";
    return kExitUsage;
  }
  Diagnostics diags;
  auto config = load_config_lenient(file, diags);
  std::optional<RuleSet> rules;
  if (config) rules = load_rules(config->rules, *config, diags);
  std::cerr << diags.str();

  int errors = 0, warnings = 0;
  for (const auto& d : diags.items()) (d.severity == Diagnostic::Severity::error ? errors : warnings)++;
  if (errors > 0 || !rules) {
    std::cout << "config invalid: " << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
              << (warnings == 1 ? " warning" : " warnings") << "\n";
    return kExitFailure;
  }
  fs::path shown = config->rules.lexically_relative(config->file.parent_path());
  if (shown.empty() || shown.begin()->string() == "..") shown = config->rules;
  std::string where = shown.string() + (fs::is_directory(config->rules, ec) ? "/" : "");
  size_t n = rules->rules.size(), files = rules->files.size();
  std::cout << "config OK: " << n << (n == 1 ? " rule" : " rules") << " from " << where << " (" << files
            << (files == 1 ? " file" : " files") << ")";
  if (warnings) std::cout << ", " << warnings << (warnings == 1 ? " warning" : " warnings");
  std::cout << "\n";
  return kExitOk;
}

}  // namespace

void add_check(CLI::App& app, Globals& g) {
  CLI::App* cmd = app.add_subcommand("check", "Validate the config and rules; report every problem as file:line:col");
  cmd->add_option("-c,--config", g.config, "config file (default: $HIVEHOOK_CONFIG, else ./hivehook.yaml)");
  cmd->footer("Exit status: 0 valid, 1 errors in the config or rules, 2 usage error (e.g. no config file).");
  cmd->callback([&g] { g.exit_code = run_check(g); });
}

}  // namespace hivehook::cli
