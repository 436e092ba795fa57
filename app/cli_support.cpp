#include "app/cli_support.h"

#include <iostream>

#include "store/event.h"

namespace hivehook::cli {

std::optional<Config> load_config_or_report(Globals& g) {
  // Read-only commands need the paths, not the notify secrets: a missing ${HOOK_SECRET} in the
  // operator's shell must not stop `status` from answering.
  Diagnostics diags;
  auto config = load_config_lenient(resolve_config_path(g.config), diags);
  if (!config) {
    std::cerr << diags.str();
    g.exit_code = kExitUsage;
  }
  return config;
}

std::unique_ptr<Store> open_reader(const Config& config, Globals& g) {
  std::error_code ec;
  if (!std::filesystem::exists(config.state, ec)) {
    std::cerr << "hivehook: no state DB at " << config.state.string() << " yet (start `hivehook run` or `hivehook scan`)\n";
    g.exit_code = kExitUsage;
    return nullptr;
  }
  try {
    return std::make_unique<Store>(config.state, Store::Mode::reader);
  } catch (const std::exception& e) {
    std::cerr << "hivehook: " << e.what() << "\n";
    g.exit_code = kExitUsage;
    return nullptr;
  }
}

std::string time_text(int64_t ms) { return format_rfc3339_ms(SystemTime(std::chrono::milliseconds(ms))); }

std::string printable(const std::string& s) {
  // JSON string escaping handles control bytes; invalid UTF-8 becomes U+FFFD. Drop the quotes.
  std::string j = safe_dump(nlohmann::json(s));
  return j.substr(1, j.size() - 2);
}

}  // namespace hivehook::cli
