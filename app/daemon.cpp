#include "app/daemon.h"

#include <csignal>
#include <iostream>
#include <spdlog/spdlog.h>

#include "app/logging.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "store/owner_lock.h"

namespace hivehook {

namespace {
struct Loaded {
  Config config;
  std::shared_ptr<const RuleSet> rules;
};

// Config and rules: any error stops us before we touch anything (file:line:col on stderr).
std::optional<Loaded> load(const std::string& config_arg) {
  Diagnostics diags;
  auto config = load_config(resolve_config_path(config_arg), diags);
  std::optional<RuleSet> rules;
  if (config) rules = load_rules(config->rules, *config, diags);
  if (!diags.items().empty()) std::cerr << diags.str();
  if (!config || !rules) return std::nullopt;
  return Loaded{std::move(*config), std::make_shared<const RuleSet>(std::move(*rules))};
}
}  // namespace

int run_daemon(const std::string& config_arg, DaemonMode mode) {
  auto loaded = load(config_arg);
  if (!loaded) return kExitConfig;
  const Config& config = loaded->config;
  setup_logging(config.log);
  std::signal(SIGPIPE, SIG_IGN);  // a job closing its stdin early must not kill the daemon
  std::string lock_error;
  auto lock = OwnerLock::acquire(config.state, mode == DaemonMode::one_shot ? "scan" : "run", &lock_error);
  if (!lock) {
    std::cerr << "hivehook: " << lock_error << "\n";
    return kExitConfig;
  }
  try {
    for (const auto& dir : {config.landing, config.archive, config.quarantine}) std::filesystem::create_directories(dir);
    Daemon daemon(std::move(loaded->config), std::move(loaded->rules), mode);
    return daemon.run();
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return kExitRuntime;
  }
}

}  // namespace hivehook
