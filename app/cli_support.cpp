#include "app/cli_support.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/env_file.h"

#include "base/path_access.h"
#include "store/event.h"
#include "store/postgres.h"

namespace hivehook::cli {

namespace {
std::vector<CommandDoc>& registry() {
  static std::vector<CommandDoc> docs;
  return docs;
}
}  // namespace

std::string wrap(const std::string& text, size_t width) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("  ", 0) == 0 || line.size() <= width) {
      out += line + "\n";
      continue;
    }
    std::istringstream words(line);
    std::string word, current;
    while (words >> word) {
      if (!current.empty() && current.size() + 1 + word.size() > width) {
        out += current + "\n";
        current.clear();
      }
      current += (current.empty() ? "" : " ") + word;
    }
    out += current + "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

namespace {
// --help's footer: the details, then the exit status and examples, as the man page has them.
std::string footer_of(const CommandDoc& d) {
  std::string out = d.details;
  if (!d.exit_status.empty()) out += (out.empty() ? "" : "\n\n") + std::string("Exit status: ") + d.exit_status;
  if (!d.examples.empty()) out += (out.empty() ? "" : "\n\n") + std::string("Examples:\n") + d.examples;
  return wrap(out);
}
}  // namespace

CLI::App* add_command(CLI::App& app, Globals& g, CommandDoc doc) {
  CLI::App* cmd = app.add_subcommand(doc.name, doc.summary + ".");
  cmd->add_option("-c,--config", g.config, kConfigHelp)->type_name("FILE");
  // One FILE per --env-file (repeatable): `match --env-file F KEY` must leave KEY to the command.
  if (doc.reads_config)
    cmd->add_option("--env-file", g.env_files, kEnvFileHelp)->type_name("FILE")->allow_extra_args(false);
  if (std::string f = footer_of(doc); !f.empty()) cmd->footer("\n" + f);
  cmd->preparse_callback([&g, name = doc.name](std::size_t) { g.command = name; });
  registry().push_back(std::move(doc));
  return cmd;
}

const std::vector<CommandDoc>& command_docs() { return registry(); }

std::ostream& error(const Globals& g) {
  return std::cerr << "hivehook" << (g.command.empty() ? "" : " " + g.command) << ": ";
}

namespace {
// systemd's PATH for system services (systemd.exec(5), "Environment variables in spawned processes").
constexpr const char* kServicePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}  // namespace

int apply_env_files(Globals& g) {
  if (g.env_vars >= 0) return g.env_vars;
  if (g.env_files.empty()) return g.env_vars = 0;
  g.config = resolve_config_path(g.config).string();  // $HIVEHOOK_CONFIG, before the environment goes
  std::vector<std::pair<std::string, std::string>> vars;
  for (const auto& f : g.env_files) {
    // "-": standard input, already open (`runuser -u hivehook -- hivehook run --env-file - < FILE`
    // reads root's 0600 file through the shell's redirection; /dev/stdin would be opened again, as hivehook).
    std::stringstream text;
    if (f == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        error(g) << "cannot read --env-file '" << f << "': " << std::strerror(errno) << "\n";
        g.exit_code = kExitUsage;
        return -1;
      }
      text << in.rdbuf();
    }
    EnvFile parsed = parse_env_file(text.str());
    for (const auto& w : parsed.warnings) std::cerr << f << ":" << w.line << ": warning: " << w.text << "\n";
    vars.insert(vars.end(), parsed.vars.begin(), parsed.vars.end());
  }
  ::clearenv();
  ::setenv("PATH", kServicePath, 1);
  for (const auto& [k, v] : vars) ::setenv(k.c_str(), v.c_str(), 1);
  return g.env_vars = static_cast<int>(vars.size());
}

std::optional<Config> load_config_or_report(Globals& g) {
  if (apply_env_files(g) < 0) return std::nullopt;
  // Read-only commands need the paths, not the notify secrets: a missing ${HOOK_SECRET} in the
  // operator's shell must not stop `status` from answering.
  Diagnostics diags;
  std::filesystem::path file = resolve_config_path(g.config);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    error(g) << "config file '" << file.string() << "' not found (use -c FILE or $HIVEHOOK_CONFIG)\n";
    g.exit_code = kExitUsage;
    return std::nullopt;
  }
  auto config = load_config_lenient(file, diags);
  if (!config) {
    std::cerr << diags.str();
    g.exit_code = kExitUsage;
  }
  return config;
}

StateAccess state_access(const Config& config, std::string* why) {
  if (!is_postgres_state(config.state.string())) {
    auto probe = probe_read_access(config.state);
    if (why) *why = probe.why;
    return probe.state == PathAccess::State::absent     ? StateAccess::absent
           : probe.state == PathAccess::State::readable ? StateAccess::present
                                                        : StateAccess::unreadable;
  }
  try {
    Store probe(config.state, Store::Mode::reader);
    return StateAccess::present;
  } catch (const sql::StoreError& e) {
    // an unreachable server is reported by open_reader
    return e.code() == SQLITE_NOTFOUND ? StateAccess::absent : StateAccess::present;
  }
}

bool state_exists(const Config& config) { return state_access(config) != StateAccess::absent; }

std::string unreadable_state_message(const Config& config, const std::string& why) {
  return "cannot read the state DB " + state_display(config) + ": " + why;
}

std::string state_display(const Config& config) {
  return is_postgres_state(config.state.string()) ? sql::redact_url(config.state.string()) : config.state.string();
}

std::unique_ptr<Store> open_reader(const Config& config, Globals& g) {
  std::string why;
  const auto access = state_access(config, &why);
  if (access == StateAccess::absent) {
    error(g) << "no state DB at " << state_display(config) << " yet (start `hivehook run` or `hivehook scan`)\n";
    g.exit_code = kExitUsage;
    return nullptr;
  }
  if (access == StateAccess::unreadable) {
    error(g) << unreadable_state_message(config, why) << "\n";
    g.exit_code = kExitUsage;
    return nullptr;
  }
  try {
    return std::make_unique<Store>(config.state, Store::Mode::reader);
  } catch (const std::exception& e) {
    error(g) << e.what() << "\n";
    g.exit_code = kExitUsage;
    return nullptr;
  }
}

std::string time_text(int64_t ms) { return format_rfc3339_ms(SystemTime(std::chrono::milliseconds(ms))); }

std::string human_duration(int64_t ms) {
  if (ms < 0) return "-";
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 10'000) {  // truncated, never rounded up into the next unit ("9.99s", not "10.00s")
    std::snprintf(buf, sizeof buf, "%lld.%02llds", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000 / 10));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%lld.%llds", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000 / 100));
  } else {
    long long s = ms / 1000, m = s / 60, h = m / 60, d = h / 24;
    if (h == 0) std::snprintf(buf, sizeof buf, "%lldm%02llds", m, s % 60);
    else if (d == 0) std::snprintf(buf, sizeof buf, "%lldh%02lldm", h, m % 60);
    else std::snprintf(buf, sizeof buf, "%lldd%02lldh", d, h % 24);
  }
  return buf;
}

std::string printable(const std::string& s) {
  // JSON string escaping handles control bytes; invalid UTF-8 becomes U+FFFD. Drop the quotes.
  std::string j = safe_dump(nlohmann::json(s));
  return j.substr(1, j.size() - 2);
}

}  // namespace hivehook::cli
