// `hivehook check [--env-file FILE]`: validate the config and its rules, every problem at file:line:col.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/cli_support.h"
#include "app/schedule_times.h"
#include "app/env_file.h"
#include "rules/rule.h"

namespace hivehook::cli {

namespace {

struct CheckOptions {
  std::vector<std::string> env_files;
};

// systemd's PATH for system services (systemd.exec(5), "Environment variables in spawned processes").
constexpr const char* kServicePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Replaces this process's environment with what a service started with these EnvironmentFile=s
// would see: systemd's PATH, then each file's variables. Returns the variable count, or -1 (message printed).
int use_env_files(const Globals& g, const std::vector<std::string>& files) {
  std::vector<std::pair<std::string, std::string>> vars;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      error(g) << "cannot read --env-file '" << f << "'\n";
      return -1;
    }
    std::stringstream text;
    text << in.rdbuf();
    EnvFile parsed = parse_env_file(text.str());
    for (const auto& w : parsed.warnings) std::cerr << f << ":" << w.line << ": warning: " << w.text << "\n";
    vars.insert(vars.end(), parsed.vars.begin(), parsed.vars.end());
  }
  ::clearenv();
  ::setenv("PATH", kServicePath, 1);
  for (const auto& [k, v] : vars) ::setenv(k.c_str(), v.c_str(), 1);
  return static_cast<int>(vars.size());
}

int run_check(const Globals& g, const CheckOptions& o) {
  namespace fs = std::filesystem;
  fs::path file = resolve_config_path(g.config);  // before the environment is replaced: $HIVEHOOK_CONFIG
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    error(g) << "config file '" << file.string() << "' not found (use -c FILE or $HIVEHOOK_CONFIG)\n";
    return kExitUsage;
  }
  int env_vars = 0;
  if (!o.env_files.empty() && (env_vars = use_env_files(g, o.env_files)) < 0) return kExitUsage;
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
  if (!o.env_files.empty()) std::cout << "; environment: " << env_vars << " variable" << (env_vars == 1 ? "" : "s") << " from --env-file";
  std::cout << "\n";
  // When each schedule fires next, in UTC: a cron expression and its zone, checked without waiting
  // for them (issue 14, F6 of the new-user test).
  print_schedule_times(schedule_times(*rules, nullptr, SystemClock::instance().now(), 3), false);
  return kExitOk;
}

}  // namespace

void add_check(CLI::App& app, Globals& g) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* cmd = add_command(
      app, g,
      {.name = "check",
       .summary = "Validate the config and rules; report every problem as file:line:col",
       .details =
           "Reads the config and every rules file as run would, and prints every error and warning as "
           "file:line:col: message. Warnings name what would only fail at run time: a program not found on PATH, "
           "a relative file argument (scripts/etl.py) missing from the job's cwd, an unknown placeholder.\n\n"
           "${VAR} in the config and rules expands from the environment. With --env-file, the environment is the "
           "one the service would get: systemd's PATH plus the file's variables (systemd's EnvironmentFile= "
           "format), and nothing from the calling shell.",
       .exit_status = "0 valid (warnings allowed); 1 errors in the config or rules; 2 usage error (no config file, "
                      "unreadable --env-file).",
       .examples = "  hivehook check -c hivehook.yaml\n"
                   "  sudo hivehook check -c /etc/hivehook/hivehook.yaml --env-file /etc/hivehook/hivehook.env"});
  cmd->add_option("--env-file", o->env_files,
                  "take the environment from this systemd EnvironmentFile= (repeatable) instead of the shell")
      ->type_name("FILE");
  cmd->callback([&g, o] { g.exit_code = run_check(g, *o); });
}

}  // namespace hivehook::cli
