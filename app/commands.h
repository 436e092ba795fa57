// The CLI: one file per command (app/cmd_<name>.cpp), each registering itself on the root app
// through add_command (app/cli_support.h), which also records the command's documentation for the
// man pages and shell completion (app/man_page.h, app/completion.h): --help, man and completion
// are generated from the same CLI11 tree and cannot drift apart.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace hivehook::cli {

// Exit codes (docs/cli.md): 0 ok, 1 failure of the work, 2 usage or config error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Globals {
  std::string config;   // -c FILE (else $HIVEHOOK_CONFIG, else ./hivehook.yaml, else /etc/hivehook/hivehook.yaml)
  std::string command;  // the subcommand being run ("status"), for error messages
  std::vector<std::string> env_files;  // --env-file FILE... (systemd's EnvironmentFile= format)
  int env_vars = -1;                    // after apply_env_files: how many variables they set
  std::string service_user = "hivehook";  // check --user: who must be able to read the config
  int exit_code = kExitOk;
};

void add_run(CLI::App& app, Globals& g);
void add_scan(CLI::App& app, Globals& g);
void add_check(CLI::App& app, Globals& g);
void add_match(CLI::App& app, Globals& g);
void add_status(CLI::App& app, Globals& g);
void add_audit(CLI::App& app, Globals& g);
void add_runs(CLI::App& app, Globals& g);
void add_retry(CLI::App& app, Globals& g);
void add_completion(CLI::App& app, Globals& g);
void add_manpages(CLI::App& app, Globals& g);
void add_partitions(CLI::App& app, Globals& g);
void add_replay(CLI::App& app, Globals& g);

}  // namespace hivehook::cli
