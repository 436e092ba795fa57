// What the commands share: registering a command with its documentation, the config, the store
// opened read-only, error messages and printing.
#pragma once

#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"
#include "rules/config.h"
#include "store/store.h"

namespace hivehook::cli {

// One command's documentation: the single source of its --help, its man page hivehook-<name>(1)
// and its shell completion. Paragraphs are separated by blank lines; "  " indented lines are kept
// as written (examples).
struct CommandDoc {
  std::string name;         // "status"
  std::string summary;      // one line, no final period: the --help description and the man NAME line
  std::string details;      // paragraphs: the man DESCRIPTION (after the summary) and --help's footer
  std::string exit_status = {};  // "0 ...; 1 ...; 2 ..."
  std::string examples = {};  // "  hivehook status --json\n  ..."
  std::vector<std::string> words = {};  // what completion offers for the positional arguments ("bash", "zsh")
  bool reads_config = true;  // takes --env-file (every command that loads the config)
};

// Adds subcommand `doc.name` with -c/--config (shown in its --help), names it in Globals::command
// for error messages, and records `doc` for the man pages and completion. The returned command
// gets its options and callback from the caller.
CLI::App* add_command(CLI::App& app, Globals& g, CommandDoc doc);
// Every command registered so far, in registration order (hidden ones included).
const std::vector<CommandDoc>& command_docs();

// The -c option's help text (the same on the root and on every command).
inline constexpr const char* kConfigHelp =
    "config file (default: $HIVEHOOK_CONFIG, else ./hivehook.yaml, else " HIVEHOOK_SYSCONFDIR "/hivehook/hivehook.yaml)";

// Paragraphs word-wrapped at `width` columns; lines indented by two spaces (examples) kept as written.
std::string wrap(const std::string& text, size_t width = 100);

// std::cerr, after printing "hivehook <command>: ".
std::ostream& error(const Globals& g);

// --env-file's help text (the same on every command that reads the config).
inline constexpr const char* kEnvFileHelp =
    "take the environment from this systemd EnvironmentFile= (repeatable; - is standard input), e.g. the "
    "service's /etc/hivehook/hivehook.env, instead of the shell";

// With --env-file: replaces this process's environment with what a service started with those
// EnvironmentFile=s sees (systemd's PATH, then each file's variables, nothing from the shell),
// once; -c's default ($HIVEHOOK_CONFIG) is resolved first. Returns the number of variables set (0
// without --env-file), or -1 (message printed, g.exit_code = 2) when a file cannot be read.
// Lines systemd would ignore are warned about as FILE:LINE: warning: ...
int apply_env_files(Globals& g);

// Loads the config (after apply_env_files); on error prints the diagnostics and sets g.exit_code = 2.
std::optional<Config> load_config_or_report(Globals& g);  // lenient: secrets may be unset
// Opens the state DB read-only; nullptr (message printed, exit 2) when there is none yet ("no state
// DB at ... yet") or when this user may not read it ("cannot read the state DB ...: permission
// denied on ...: run as root or as user ..."): the two are never confused.
std::unique_ptr<Store> open_reader(const Config& config, Globals& g);
// Whether the state is there to read: absent (none yet), present, or unreadable (*why says what
// refused this user). The SQLite file as this process sees it, or hivehook's tables in the
// PostgreSQL database (an unreachable server is `present`: opening it says why).
enum class StateAccess { absent, present, unreadable };
StateAccess state_access(const Config& config, std::string* why = nullptr);
// Whether the state may exist: not known to be absent (present, or there but unreadable to this
// user). Never false only because a folder on the way denies this user.
bool state_exists(const Config& config);
// "cannot read the state DB P: permission denied on ...", for a state_access that is unreadable.
std::string unreadable_state_message(const Config& config, const std::string& why);
// The state for messages: the SQLite path, or the PostgreSQL URL with its password masked.
std::string state_display(const Config& config);
// "2023-03-15T13:45:12.345Z" from unix ms.
std::string time_text(int64_t ms);
// A duration for people: "0ms", "412ms", "5.04s", "42.1s", "2m05s", "1h02m", "3d04h". Negative: "-".
std::string human_duration(int64_t ms);
// A key or other byte string made printable on one line (control bytes and invalid UTF-8 escaped).
std::string printable(const std::string& s);

}  // namespace hivehook::cli
