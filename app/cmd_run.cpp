// `hivehook run` (the daemon) and `hivehook scan` (one shot).
#include "app/commands.h"
#include "app/daemon.h"

namespace hivehook::cli {

void add_run(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("run", "Run the daemon in the foreground: watch landing, run jobs, archive, notify.\n"
                                        "SIGTERM/SIGINT drain and stop; SIGHUP reloads the rules.");
  cmd->callback([&g] { g.exit_code = run_daemon(g.config, DaemonMode::watch); });
}

void add_scan(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("scan", "Process everything now in landing, wait for every run and notification, exit.\n"
                                         "Exit 0 when every object succeeded, 1 when any failed.");
  cmd->callback([&g] { g.exit_code = run_daemon(g.config, DaemonMode::one_shot); });
}

}  // namespace hivehook::cli
